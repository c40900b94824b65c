import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { nodeRequest } from '../support/oauth.js';
import { redisUrl } from '../support/env.js';

/** Whether this host can send from 127.0.0.x source addresses other than 127.0.0.1 (Linux loopback). */
export const loopbackAliases = await new Promise<boolean>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const socket = connect({ port: (probe.address() as AddressInfo).port, host: '127.0.0.1', localAddress: '127.0.0.3' });
    socket.on('connect', () => {
      socket.destroy();
      probe.close(() => resolve(true));
    });
    socket.on('error', () => probe.close(() => resolve(false)));
  });
});

let counter = Math.floor(Math.random() * 50_000);
/** A loopback source address not used before in this process. */
export function freshIp(): string {
  const n = ++counter;
  return `127.${10 + (Math.floor(n / 62_500) % 200)}.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
  text: string;
}

async function send(baseUrl: string, path: string, contentType: string, body: string, from: string): Promise<Answer> {
  const res = await nodeRequest(baseUrl, path, 'POST', { 'content-type': contentType }, body, from);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { ...res, json };
}

/** A client-credentials token request sent from the source address `from`. */
export function tokenFrom(baseUrl: string, from: string, clientId: string, clientSecret: string, scope = 'stats'): Promise<Answer> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }).toString();
  return send(baseUrl, '/Auth/connect/token', 'application/x-www-form-urlencoded', body, from);
}

/** A portal sign-in sent from the source address `from`. */
export function signInFrom(baseUrl: string, from: string, email: string, password: string): Promise<Answer> {
  return send(baseUrl, '/admin/api/session', 'application/json', JSON.stringify({ email, password }), from);
}

/** Deletes every Redis key under a prefix (the test's own key space). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface StallableProxy {
  port: number;
  /** While stalled, bytes in both directions are held back (a hung Redis); released on un-stall. */
  stall(on: boolean): void;
  close(): Promise<void>;
}

/** A TCP proxy of the test's own in front of a service on 127.0.0.1 (never touches the service itself). */
export async function stallableProxy(targetPort: number): Promise<StallableProxy> {
  let stalled = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    sockets.add(client);
    sockets.add(upstream);
    const pipe = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (stalled) held.push(() => to.write(chunk));
        else to.write(chunk);
      });
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall(on) {
      stalled = on;
      if (!on) for (const release of held.splice(0)) release();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
