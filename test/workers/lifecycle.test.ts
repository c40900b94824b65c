// How many processes one `ccauth serve` runs, and that SIGTERM drains every one of them.
import assert from 'node:assert/strict';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { alive, childPids, fresh, pool, startInstance, tenant, token } from './helpers.js';

const threads = (pid: number) => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('serve: worker processes', () => {
  it('CCAUTH_WORKERS=2: one process, no cluster, libuv thread pool of 4', async () => {
    const instance = await startInstance({ CCAUTH_WORKERS: '2', CCAUTH_WORKER_PROCESSES: '' });
    try {
      const info = instance.served.info as Record<string, unknown>;
      assert.equal(info.workers, 2);
      assert.equal(info.processes, 1);
      assert.equal(info.threadPool, 4);
      assert.equal(info.pid, instance.served.child.pid);
      assert.deepEqual(childPids(instance.served.child.pid as number), [], 'no worker processes');
      const rs = await pool(4, 2, () => fresh(instance.base, 'GET', '/healthz'));
      assert.deepEqual([...new Set(rs.map((r) => r.worker))], [String(instance.served.child.pid)], 'the one process answers everything');
    } finally {
      assert.equal(await instance.close(), 0);
    }
  });

  it('a bigger thread pool than libuv\'s default in one process: one worker, started with it', async () => {
    const instance = await startInstance({ CCAUTH_WORKERS: '8', CCAUTH_WORKER_PROCESSES: '1' });
    try {
      const info = instance.served.info as Record<string, unknown>;
      assert.deepEqual([info.workers, info.processes, info.threadPool], [8, 1, 8]);
      const primary = instance.served.child.pid as number;
      const workers = childPids(primary);
      assert.deepEqual(workers, info.workerPids);
      // The primary has libuv's 4 pool threads, the worker 8: 4 more threads, all else equal.
      assert.equal(threads(workers[0] as number) - threads(primary), 4);
    } finally {
      assert.equal(await instance.close(), 0);
    }
  });

  it('CCAUTH_WORKERS out of range or more processes than cores: a clear error, exit 2', async () => {
    const { ccauth } = await import('../cli/helpers.js');
    const [zero, many] = await Promise.all([
      ccauth(['serve', '--json'], { env: { CCAUTH_WORKERS: '0', PORT: '0' }, timeoutMs: 20_000 }),
      ccauth(['serve', '--json'], { env: { CCAUTH_WORKERS: '2', CCAUTH_WORKER_PROCESSES: '3', PORT: '0' }, timeoutMs: 20_000 }),
    ]);
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /CCAUTH_WORKERS: expected 1\.\.1024 cores/);
    assert.equal(many.code, 2, many.stderr);
    assert.match(many.stderr, /CCAUTH_WORKER_PROCESSES: expected 1\.\.2 \(at most CCAUTH_WORKERS\), got 3/);
    assert.equal(zero.stdout + many.stdout, '');
  });

  it('SIGTERM: both workers finish their in-flight requests, then the instance exits 0', async () => {
    // An upstream that answers after 1.5 s: requests to it are in flight when SIGTERM comes.
    const arrived: ServerResponse[] = [];
    const upstream = createServer((_req: IncomingMessage, res: ServerResponse) => {
      arrived.push(res);
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), 1500);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreams = [{ prefix: '/slow', url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, scopes: { GET: 'users:read' } }];
    const instance = await startInstance({ CCAUTH_UPSTREAMS: JSON.stringify(upstreams) });
    try {
      const workerPids = instance.served.info.workerPids as number[];
      assert.deepEqual([...childPids(instance.served.child.pid as number)].sort(), [...workerPids].sort());
      const t = await tenant(instance, 'Drain', 100_000);
      const bearer = await token(instance.base, t.credential);
      const inFlight = Array.from({ length: 6 }, () => fresh(instance.base, 'GET', '/slow/x', { headers: { authorization: `Bearer ${bearer}` } }));
      const deadline = Date.now() + 10_000;
      while (arrived.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(arrived.length, 6, 'all 6 requests reached the upstream');
      const child = instance.served.child;
      const exited = new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
      child.kill('SIGTERM');
      const responses = await Promise.all(inFlight);
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      assert.deepEqual(responses.map((r) => r.body), Array(6).fill({ slow: true }));
      assert.equal(new Set(responses.map((r) => r.worker)).size, 2, 'both workers had requests in flight');
      assert.equal(await exited, 0, instance.served.stderr());
      for (const pid of workerPids) assert.equal(alive(pid), false, `worker ${pid} exited`);
      assert.equal(instance.served.stdout().trim().split('\n').length, 1, 'one JSON document, printed once');
    } finally {
      await instance.close().catch(() => undefined);
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});
