import assert from 'node:assert/strict';
import { it } from 'node:test';
import { lru } from '../../src/domain/lru.js';

it('holds at most its bound, evicting the least recently used first, and tells dispose', () => {
  const disposed: [string, string][] = [];
  const cache = lru<string, string>(3, { dispose: (value, key, reason) => void disposed.push([key, reason]) });
  for (const k of ['a', 'b', 'c']) cache.set(k, k.toUpperCase());
  assert.equal(cache.get('a'), 'A'); // a is now the most recent
  cache.set('d', 'D');
  assert.equal(cache.size, 3);
  assert.equal(cache.has('b'), false, 'b was the least recently used');
  assert.deepEqual(disposed, [['b', 'evict']]);
  for (let i = 0; i < 1000; i++) cache.set(`k${i}`, 'x');
  assert.equal(cache.size, 3);
  assert.deepEqual([...cache.keys()], ['k999', 'k998', 'k997']);
});

it('keeps the ttl of its options', async () => {
  const cache = lru<string, number>(10, { ttl: 30 });
  cache.set('a', 1);
  assert.equal(cache.get('a'), 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(cache.get('a'), undefined);
});
