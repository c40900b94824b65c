// `@ccauth/client` as its own package: `npm pack` in packages/client (which builds it from
// src/client/index.ts), `npm install <tarball>` into a fresh project (offline: it has no
// dependencies), then a plain .mjs imports it and calls a running region, and a .ts using it
// type-checks on its own types (no @types/node, nothing of the server).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/env.js';
import { type TestRegion, type Tenant, createCredential, createTenant, startRegion } from '../support/region.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const packageDir = join(root, 'packages', 'client');

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env } });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Like run, without blocking this process: the region the child calls is served from here. */
function runAsync(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

describe('@ccauth/client from npm pack', { timeout: 240_000 }, () => {
  const work = tempDir('ccauth-client-pack-');
  const project = join(work.path, 'consumer');
  let t: TestRegion;
  let tenant: Tenant;
  let tarball: string;

  before(async () => {
    t = await startRegion();
    tenant = await createTenant(t.region);
  });
  after(async () => {
    await t?.close();
    work.remove();
  });

  it('packs the ESM build and its types only, with no dependencies', () => {
    const out = run('npm', ['pack', '--pack-destination', work.path, '--json', '--offline'], packageDir);
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; name: string; files: { path: string }[] }[];
    assert.equal(info?.name, '@ccauth/client');
    assert.deepEqual(info.files.map((f) => f.path).sort(), ['README.md', 'dist/index.d.ts', 'dist/index.js', 'package.json']);
    tarball = join(work.path, info.filename);
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.dependencies, undefined);
    assert.equal(manifest.peerDependencies, undefined);
    const js = readFileSync(join(packageDir, 'dist', 'index.js'), 'utf8');
    assert.doesNotMatch(js, /^\s*import\s/m, 'the build imports nothing');
    assert.doesNotMatch(js, /\bBuffer\b|\bprocess\./, 'no Node-only globals');
  });

  it('installs into a fresh project offline; a plain .mjs imports it, gets a token and reads API errors', async () => {
    run('mkdir', ['-p', project], work.path);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], project);
    assert.deepEqual(readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.')), ['@ccauth'], 'nothing else was installed');

    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['agents-availability:read']);
    writeFileSync(
      join(project, 'use.mjs'),
      `import { ApiError, CcauthClient, TokenRequestError } from '@ccauth/client';
const client = new CcauthClient({ baseUrl: process.env.BASE, clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET, scope: 'agents-availability:read' });
const counts = await client.json('/agents-availability?skillNames=English');
let apiError;
try {
  await client.json('/agents-availability', { headers: { 'x-request-id': 'consumer-req-1' } });
} catch (err) {
  apiError = { isApiError: err instanceof ApiError, status: err.status, error: err.error, message: err.message, requestId: err.requestId };
}
let tokenError;
try {
  await new CcauthClient({ baseUrl: process.env.BASE, clientId: 'nobody', clientSecret: 'wrong', scope: 'stats' }).getAccessToken();
} catch (err) {
  tokenError = { isTokenError: err instanceof TokenRequestError, status: err.status, error: err.error };
}
console.log(JSON.stringify({ ready: typeof counts.Ready, tokens: client.tokensFetched, apiError, tokenError }));
`,
    );
    const out = await runAsync(process.execPath, ['use.mjs'], project, { BASE: t.baseUrl, CLIENT_ID: credential.clientId, CLIENT_SECRET: clientSecret });
    assert.deepEqual(JSON.parse(out), {
      ready: 'number',
      tokens: 1,
      apiError: { isApiError: true, status: 400, error: 'invalid_request', message: 'SkillNames: The SkillNames field is required.', requestId: 'consumer-req-1' },
      tokenError: { isTokenError: true, status: 401, error: 'invalid_client' },
    });
  });

  it('a .ts using it type-checks on the package types alone, and they are enforced', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true }, files: ['use.ts'] }),
    );
    writeFileSync(
      join(project, 'use.ts'),
      `import { ApiError, CcauthClient, type CcauthClientOptions } from '@ccauth/client';
const options: CcauthClientOptions = { baseUrl: 'https://emea.example.test', clientId: 'id', clientSecret: 'secret', scope: 'stats' };
const client = new CcauthClient(options);
export async function stats(): Promise<number> {
  try {
    const body = await client.json<{ meta: { totalCount: number } }>('/stats/interactions?start=2026-01-01&end=2026-01-02');
    return body.meta.totalCount;
  } catch (err) {
    if (err instanceof ApiError) {
      const status: number = err.status;
      const code: string = err.error;
      const requestId: string | undefined = err.requestId;
      throw new Error(\`\${status} \${code} \${err.message} (request \${requestId ?? '-'})\`);
    }
    throw err;
  }
}
// @ts-expect-error clientSecret and scope are required
new CcauthClient({ baseUrl: 'https://emea.example.test', clientId: 'id' });
// @ts-expect-error status is a number
export const wrong: string = new ApiError(400, 'invalid_request', 'm', undefined, {}).status;
`,
    );
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  });
});
