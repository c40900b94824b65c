// Peer: panva's oidc-provider configured for the same grant, scope and RS256 JWT access tokens
// (bench/oidc-peer.mjs), pinned to the server core.
import { join } from 'node:path';
import { BENCH_DIR, SERVER_CORE, freePort, spawnNodePinned, stopProcess, waitForJsonOnStdout } from '../lib.mjs';

export const name = 'oidc-provider';

/** Starts the peer; resolves to { name, pid, baseUrl, tokenRequest(scope), stop() } once it listens. */
export async function start({ core = SERVER_CORE, nodeArgs = [], env = {} } = {}) {
  const port = await freePort();
  const child = spawnNodePinned(core, join(BENCH_DIR, 'oidc-peer.mjs'), [], {
    nodeArgs,
    env: { NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', ...env },
  });
  let info;
  try {
    info = await waitForJsonOnStdout(child, { timeoutMs: 60_000, what: 'oidc-provider peer' });
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
    stop: () => stopProcess(child),
  };
}
