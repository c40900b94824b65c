#!/usr/bin/env node
// Builds the OpenAPI documents of a region exactly as GET /openapi.json (the platform APIs) and
// GET /admin/api/openapi.json (the Admin Portal API) serve them (a region started in-process on a
// throwaway data directory, without listening), writes them to temp files and runs `redocly lint`
// on both with the rules of redocly.yaml. Exits with redocly's status.
// Usage: node --import tsx scripts/openapi-lint.mjs [--out openapi.json] [--admin-out admin-openapi.json]   (npm run lint:openapi)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? resolve(process.argv[outIndex + 1] ?? 'openapi.json') : undefined;
const adminOutIndex = process.argv.indexOf('--admin-out');
const adminOut = adminOutIndex > 0 ? resolve(process.argv[adminOutIndex + 1] ?? 'admin-openapi.json') : undefined;

const { loadConfig } = await import('../src/config.ts');
const { createRegion } = await import('../src/server.ts');

const dir = mkdtempSync(join(tmpdir(), 'ccauth-openapi-'));
let status = 1;
try {
  // Only what the document depends on; nothing from the caller's environment (no DATABASE_URL...).
  const config = loadConfig({
    CCAUTH_DATA_DIR: dir,
    CCAUTH_LOG_LEVEL: 'silent',
    // A region's public URL as in production (redocly refuses localhost servers).
    CCAUTH_PUBLIC_URL: 'https://emea.api.ccauth.test',
    // One upstream with a method of each kind, so that upstream operations are linted too.
    CCAUTH_UPSTREAMS: JSON.stringify([
      {
        prefix: '/crm',
        url: 'http://127.0.0.1:9/crm',
        scopes: { GET: 'users:read', POST: 'users:write', DELETE: 'users:write' },
        description: 'A CRM behind the gateway (lint fixture)',
      },
    ]),
  });
  const region = await createRegion(config);
  const documents = [];
  try {
    for (const url of ['/openapi.json', '/admin/api/openapi.json']) {
      const response = await region.app.inject({ method: 'GET', url });
      if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${response.body.slice(0, 500)}`);
      documents.push(response.json());
    }
  } finally {
    await region.close();
  }
  const files = [out ?? join(dir, 'openapi.json'), adminOut ?? join(dir, 'admin-openapi.json')];
  files.forEach((file, i) => writeFileSync(file, `${JSON.stringify(documents[i], null, 2)}\n`));
  const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
  const result = spawnSync(process.execPath, [cli, 'lint', ...files, '--config', join(root, 'redocly.yaml')], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  status = result.status ?? 1;
} catch (err) {
  console.error(`openapi-lint: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
