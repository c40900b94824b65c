// Peer: ccauth itself, built (dist/) and started as `ccauth serve --json` (with `--demo` on a
// fresh data directory by default), pinned to the server core (or to the cores given, or unpinned
// with `core: null`). Exposes the token request of its demo credential, or of any credential.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SERVER_CORE, freePort, sleep, spawnNodePinned, stopProcess, waitForJsonOnStdout } from '../lib.mjs';

export const name = 'ccauth';

/**
 * Starts ccauth; resolves to { name, pid, baseUrl, readyMs, tokenRequest(scope, credential?),
 * stop() } once it listens and /readyz answers 200. `readyMs` is the time from the spawn to the
 * first 200 from /readyz (polled every 10 ms).
 * - `nodeArgs` (e.g. ['--cpu-prof', '--cpu-prof-dir=...']) are passed to node;
 * - `env` is added to the server's environment (CCAUTH_WORKERS, CCAUTH_SIGNING_ALG, DATABASE_URL...);
 * - `demo: false` starts on `dataDir` as it is (not removed afterwards) without seeding.
 */
export async function start({ core = SERVER_CORE, nodeArgs = [], env = {}, demo = true, dataDir: givenDataDir, label = name } = {}) {
  const dataDir = givenDataDir ?? mkdtempSync(join(tmpdir(), 'ccauth-bench-'));
  const removeDataDir = givenDataDir === undefined;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const spawnedAt = performance.now();
  const child = spawnNodePinned(core, join(ROOT, 'bin', 'ccauth.js'), ['serve', ...(demo ? ['--demo'] : []), '--json'], {
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
  let readyMs;
  try {
    [info, readyMs] = await Promise.all([waitForJsonOnStdout(child, { timeoutMs: 120_000, what: label }), waitReady(`${baseUrl}/readyz`, child, spawnedAt)]);
  } catch (err) {
    await stopProcess(child);
    if (removeDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const demoCredential = info.demo?.credential;
  return {
    name: label,
    pid: child.pid,
    child,
    baseUrl,
    info,
    readyMs,
    tokenRequest: (scope = 'stats', credential = demoCredential) => ({
      url: `${baseUrl}/Auth/connect/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credential.clientId, client_secret: credential.clientSecret, scope }).toString(),
    }),
    async stop() {
      const exit = await stopProcess(child, 15_000);
      if (removeDataDir) rmSync(dataDir, { recursive: true, force: true });
      return exit;
    },
  };
}

/** Polls `url` every 10 ms until it answers 200; resolves to the ms since `since`. */
async function waitReady(url, child, since, timeoutMs = 120_000) {
  while (performance.now() - since < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ccauth exited before /readyz answered: ${child.stderrText.slice(-2000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - since;
    } catch {
      // Not listening yet.
    }
    await sleep(10);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}
