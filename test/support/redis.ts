import { Redis } from 'ioredis';
import { inCI, redisUrl } from './env.js';

let available: Promise<boolean> | undefined;

/** Whether the test Redis answers; in CI it must. */
export function redisAvailable(): Promise<boolean> {
  available ??= (async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
    try {
      await redis.connect();
      return (await redis.ping()) === 'PONG';
    } catch (err) {
      if (inCI) throw new Error(`Redis at ${redisUrl} is required in CI: ${(err as Error).message}`);
      return false;
    } finally {
      redis.disconnect();
    }
  })();
  return available;
}
