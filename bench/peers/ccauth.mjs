// Peer: ccauth itself, built (dist/) and started as `ccauth serve --demo --json` on a fresh data
// directory, pinned to the server core. Exposes the token request of its demo credential.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SERVER_CORE, freePort, spawnNodePinned, stopProcess, waitForJsonOnStdout } from '../lib.mjs';

export const name = 'ccauth';

/**
 * Starts ccauth; resolves to { name, pid, baseUrl, tokenRequest(scope), stop() } once it listens.
 * `nodeArgs` (e.g. ['--cpu-prof', '--cpu-prof-dir=...']) are passed to node.
 */
export async function start({ core = SERVER_CORE, nodeArgs = [], env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccauth-bench-'));
  const port = await freePort();
  const child = spawnNodePinned(core, join(ROOT, 'bin', 'ccauth.js'), ['serve', '--demo', '--json'], {
    nodeArgs,
    env: {
      NODE_ENV: 'production',
      CCAUTH_DATA_DIR: dataDir,
      PORT: String(port),
      CCAUTH_HOST: '127.0.0.1',
      CCAUTH_LOG_LEVEL: 'warn',
      CCAUTH_DEMO_PASSWORD: 'bench-password-1',
      ...env,
    },
  });
  let info;
  try {
    info = await waitForJsonOnStdout(child, { timeoutMs: 120_000, what: 'ccauth' });
  } catch (err) {
    await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { clientId, clientSecret } = info.demo.credential;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    name,
    pid: child.pid,
    child,
    baseUrl,
    info,
    tokenRequest: (scope = 'stats') => ({
      url: `${baseUrl}/Auth/connect/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }).toString(),
    }),
    async stop() {
      const exit = await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
      return exit;
    },
  };
}
