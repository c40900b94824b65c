import { LRUCache } from 'lru-cache';

/**
 * An LRU cache of at most `entries` entries whose storage grows with use. Given `max`, lru-cache
 * allocates and fills arrays of `max` slots when it is built: the instance's caches and limiters
 * (up to 200,000 entries each) then cost 134 ms of start-up and megabytes of idle memory while
 * empty (measured, docs/benchmarks.md). Bounded by `maxSize` instead, with every entry of size 1,
 * the same bound and the same least-recently-used eviction start from empty arrays.
 */
export function lru<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  entries: number,
  options: Pick<LRUCache.Options<K, V, unknown>, 'ttl' | 'updateAgeOnGet' | 'ttlAutopurge' | 'dispose'> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: entries, sizeCalculation: () => 1 });
}
