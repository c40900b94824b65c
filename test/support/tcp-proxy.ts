// A fault-injection TCP proxy for tests: put it between ccauth and PostgreSQL or Redis and cut,
// stall or delay the traffic without touching the real service.
import { type AddressInfo, type Server, type Socket, createConnection, createServer } from 'node:net';

export type ProxyMode = 'pass' | 'stall';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** `target` with its host and port replaced by the proxy's (e.g. a postgres:// or redis:// URL). */
  url(target: string): string;
  /** Destroys every open connection (both sides, as a dropped network or a restarted server would). New connections still pass. */
  cut(): void;
  /** Keeps connections open and accepts new ones, but forwards nothing in either direction until heal(). */
  stall(): void;
  /** Forwards everything with `ms` of added latency per chunk (0: none). */
  delay(ms: number): void;
  /** Back to plain forwarding: stalled data flows again, no added latency. */
  heal(): void;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Starts a proxy on 127.0.0.1, port 0, forwarding to `targetHost:targetPort`. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  let delayMs = 0;
  const pairs = new Set<Pair>();
  // Chunks held back while stalled, per direction, in order.
  const held = new Map<Socket, Buffer[]>();

  const forward = (from: Socket, to: Socket) => {
    const queue: Buffer[] = [];
    held.set(from, queue);
    let chain: Promise<void> = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (mode === 'stall') {
        queue.push(chunk);
        return;
      }
      if (delayMs > 0) {
        const wait = delayMs;
        // Delayed chunks keep their order.
        chain = chain.then(() => new Promise<void>((r) => setTimeout(r, wait))).then(() => {
          if (mode === 'stall') queue.push(chunk);
          else if (!to.destroyed) to.write(chunk);
        });
        return;
      }
      if (!to.destroyed) to.write(chunk);
    });
  };

  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      held.delete(client);
      held.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    forward(client, upstream);
    forward(upstream, client);
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const flushHeld = () => {
    for (const { client, upstream } of pairs) {
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        const queue = held.get(from);
        if (!queue) continue;
        while (queue.length > 0 && !to.destroyed) to.write(queue.shift() as Buffer);
      }
    }
  };

  const proxy: TcpProxy = {
    port,
    url(target: string) {
      const u = new URL(target);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut() {
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    stall() {
      mode = 'stall';
    },
    delay(ms: number) {
      delayMs = Math.max(0, ms);
    },
    heal() {
      mode = 'pass';
      delayMs = 0;
      flushHeld();
    },
    get connections() {
      return pairs.size;
    },
    async close() {
      proxy.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
