import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export function tempDir(prefix = 'ccauth-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * The first and last port of the kernel's ephemeral range, from which it picks the local port of
 * every outgoing connection (to PostgreSQL, Redis, the servers under test) and of `listen(0)`.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux: fall through to the IANA range most systems use
  }
  return [49152, 65535];
}

const [EPHEMERAL_LOW] = ephemeralRange();
const LOW = 12000;
const HIGH = EPHEMERAL_LOW - 1;
/** Where this process starts: spread by pid so that concurrent test files walk different stretches. */
let next = HIGH > LOW ? LOW + ((process.pid * 7919) % (HIGH - LOW)) : 0;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port nothing listens on, for a server a test is about to start (or for a connection that must
 * be refused). It comes from below the ephemeral range: a port from `listen(0)` is free only until
 * the kernel hands it out again as the local port of some outgoing connection, which in a suite
 * that opens thousands of them happened between the probe and the server's `listen`
 * (EADDRINUSE). Below that range only another test's server can take it: each process walks its
 * own stretch, one port per call, never handing the same port out twice.
 */
export async function freePort(): Promise<number> {
  if (HIGH - LOW < 1000) return anyPort();
  for (let tries = 0; tries < 200; tries++) {
    const port = next;
    next = next >= HIGH ? LOW : next + 1;
    if (await bindable(port)) return port;
  }
  return anyPort();
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const postgresUrl = process.env.DATABASE_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

let pgAvailable: Promise<boolean> | undefined;

/**
 * Whether the test PostgreSQL answers. In CI it must: a missing database fails the run instead
 * of skipping the tests that need it.
 */
export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (err) {
      if (inCI) throw new Error(`PostgreSQL at ${postgresUrl} is required in CI: ${(err as Error).message}`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

/** A fresh schema name for one test run; dropSchema removes it and everything in it. */
export function uniqueSchema(prefix = 'ccauth_test'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * The start of the period (a minute, an hour, a day in ms) that holds `at`, read from one clock
 * reading: `Date.now() - (Date.now() % p)` reads it twice and is off by the milliseconds between.
 */
export function periodStart(period: number, at = Date.now()): number {
  return at - (at % period);
}
