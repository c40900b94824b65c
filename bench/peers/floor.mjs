// Reference peer: a bare node:http token endpoint (bench/floor-server.mjs), pinned to the server
// core; what ccauth's framework and bookkeeping cost is its distance from this.
import { join } from 'node:path';
import { BENCH_DIR, SERVER_CORE, freePort, spawnNodePinned, stopProcess, waitForJsonOnStdout } from '../lib.mjs';

export const name = 'node:http floor';

export async function start({ core = SERVER_CORE, nodeArgs = [], env = {} } = {}) {
  const port = await freePort();
  const child = spawnNodePinned(core, join(BENCH_DIR, 'floor-server.mjs'), [], { nodeArgs, env: { NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', ...env } });
  let info;
  try {
    info = await waitForJsonOnStdout(child, { timeoutMs: 60_000, what: 'node:http floor' });
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  const baseUrl = info.listening;
  return {
    name,
    pid: child.pid,
    child,
    baseUrl,
    info,
    tokenRequest: (scope = info.scope) => ({
      url: `${baseUrl}${info.tokenPath}`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: info.clientId, client_secret: info.clientSecret, scope }).toString(),
    }),
    /** The same request to the endpoint that does everything but the RSA signature. */
    unsignedRequest: (scope = info.scope) => ({
      url: `${baseUrl}${info.unsignedPath}`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: info.clientId, client_secret: info.clientSecret, scope }).toString(),
    }),
    stop: () => stopProcess(child),
  };
}
