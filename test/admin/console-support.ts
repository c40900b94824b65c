import { after, before, describe } from 'node:test';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';
import { type TestRegion, startRegion } from '../support/region.js';

export type DialectName = 'sqlite' | 'postgres';

/**
 * Runs `suite` against a region on SQLite (temp directory) and one on PostgreSQL (a fresh schema,
 * dropped afterwards). PostgreSQL is skipped only outside CI when it does not answer.
 */
export async function describeEachRegion(name: string, suite: (t: () => TestRegion, dialect: DialectName) => void): Promise<void> {
  const pg = await postgresAvailable();
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const skip = dialect === 'postgres' && !pg ? 'PostgreSQL is not reachable (required in CI)' : false;
    describe(`${name} [${dialect}]`, { skip }, () => {
      let t: TestRegion | undefined;
      let schema: string | undefined;
      before(async () => {
        if (dialect === 'postgres') {
          schema = uniqueSchema('ccauth_console');
          t = await startRegion({ DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema });
        } else {
          t = await startRegion();
        }
      });
      after(async () => {
        await t?.close();
        if (schema) await dropSchema(schema);
      });
      suite(() => {
        if (!t) throw new Error('region not started');
        return t;
      }, dialect);
    });
  }
}

/** The payload of a JWT, decoded (no verification: the tests read what the server signed). */
export function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** RFC 4180 CSV into rows of cells (quoted cells, doubled quotes, CRLF or LF line ends). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      // the \n ends the row
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
