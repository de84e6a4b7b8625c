import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { ALL_TAG, createCacheStore, LruMap, StoreUnavailable, type CachedEntry } from './store.js';

const logger = createLogger('silent');
const memoryStore = (memory = { maxEntries: 100, maxBytes: 1_000_000 }) =>
  createCacheStore({ kind: 'memory', memory, redis: { prefix: 'x', timeoutMs: 250, retryAfterMs: 1_000 }, entryLifetimeMs: 60_000, logger });
const entry = (tags: string[], fetchedAt = Date.now()): CachedEntry => ({ data: { v: 1 }, fetchedAt, maxAgeSeconds: 30, scope: 'PUBLIC', tags });

afterEach(() => {
  vi.useRealTimers();
});

describe('LruMap', () => {
  it('drops the least recently used entry past maxEntries', () => {
    const map = new LruMap(2, 1_000);
    map.set('a', '1');
    map.set('b', '2');
    map.get('a');
    map.set('c', '3');
    expect([map.has('a'), map.has('b'), map.has('c')]).toEqual([true, false, true]);
    expect(map.size).toBe(2);
  });

  it('keeps an entry it reads for at least three quarters of its size in insertions', () => {
    const map = new LruMap(100, 1_000_000);
    let next = 0;
    for (; next < 100; next++) map.set(`k${next}`, 'v');
    let seed = 7;
    for (let round = 0; round < 200; round++) {
      // Any entry present, old or young: a deterministic pseudo-random pick.
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      const present = [...Array(next).keys()].map((i) => `k${i}`).filter((k) => map.has(k));
      const key = present[seed % present.length]!;
      expect(map.get(key)).toBe('v');
      for (let i = 0; i < 74; i++) map.set(`k${next++}`, 'v');
      expect(map.has(key)).toBe(true);
      expect(map.size).toBe(100);
    }
  });

  it('keeps the bytes of keys and values under maxBytes', () => {
    const map = new LruMap(100, 25);
    map.set('k1', 'x'.repeat(10));
    map.set('k2', 'x'.repeat(10));
    expect(map.byteSize).toBe(24);
    map.set('k3', 'x'.repeat(10));
    expect(map.has('k1')).toBe(false);
    expect(map.byteSize).toBe(24);
    // A value larger than the whole budget is not kept, and evicts nothing.
    map.set('big', 'x'.repeat(30));
    expect(map.has('big')).toBe(false);
    expect(map.size).toBe(2);
    map.set('k2', 'y');
    expect(map.byteSize).toBe(15);
    map.delete('k3');
    expect(map.byteSize).toBe(3);
    // Bytes, not characters: "é" is two bytes in UTF-8.
    map.set('u', 'é');
    expect(map.byteSize).toBe(6);
  });
});

describe('the memory store', () => {
  it('returns the first key that holds an entry', async () => {
    const store = memoryStore();
    await store.save('public', entry(['Product']), 10_000);
    expect(await store.lookup(['private', 'public'])).toMatchObject({ key: 'public' });
    expect(await store.lookup(['private'])).toBeUndefined();
  });

  it('forgets entries after their ttl', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = memoryStore();
    await store.save('k', entry(['Product']), 5_000);
    vi.setSystemTime(1_004_999);
    expect(await store.lookup(['k'])).toBeDefined();
    vi.setSystemTime(1_005_001);
    expect(await store.lookup(['k'])).toBeUndefined();
  });

  it('hides entries fetched before a purge of one of their tags, not after', async () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const store = memoryStore();
    await store.save('old', entry(['Product', 'Product:p1']), 60_000);
    await store.save('other', entry(['Product', 'Product:p2']), 60_000);
    vi.setSystemTime(2_000_010);
    await store.purge(['Product:p1']);
    expect(await store.lookup(['old'])).toBeUndefined();
    expect(await store.lookup(['other'])).toBeDefined();
    // Data fetched after the purge is good again.
    vi.setSystemTime(2_000_020);
    await store.save('old', entry(['Product', 'Product:p1']), 60_000);
    expect(await store.lookup(['old'])).toBeDefined();
  });

  it('treats data fetched while a purge happened as purged', async () => {
    vi.useFakeTimers({ now: 3_000_000 });
    const store = memoryStore();
    const fetchedAt = Date.now();
    vi.setSystemTime(3_000_005);
    await store.purge(['Review:r1']);
    // The request began before the purge and stores afterwards: its data may predate the change.
    await store.save('racing', entry(['Review:r1'], fetchedAt), 60_000);
    expect(await store.lookup(['racing'])).toBeUndefined();
  });

  it('stamps a request that starts in the millisecond of its own purge as after it', async () => {
    vi.useFakeTimers({ now: 3_500_000 });
    const store = memoryStore();
    await store.purge([ALL_TAG]);
    // The clock has not moved: Date.now() would read as purged, the store's clock does not.
    const fetchedAt = store.now();
    expect(fetchedAt).toBeGreaterThan(Date.now());
    await store.save('next', entry(['Product:p9'], fetchedAt), 60_000);
    expect(await store.lookup(['next'])).toBeDefined();
    expect(await store.isCurrent(['Product:p9'], fetchedAt)).toBe(true);
    // Once the wall clock has moved past it, the wall clock is the time again.
    vi.setSystemTime(3_500_100);
    expect(store.now()).toBe(3_500_100);
  });

  it('purges everything with the all tag', async () => {
    vi.useFakeTimers({ now: 4_000_000 });
    const store = memoryStore();
    await store.save('a', entry(['User']), 60_000);
    await store.save('b', entry(['Product']), 60_000);
    vi.setSystemTime(4_000_001);
    await store.purge([ALL_TAG]);
    expect(await store.lookup(['a'])).toBeUndefined();
    expect(await store.lookup(['b'])).toBeUndefined();
  });

  it('purges everything rather than forget a purge time that still matters', async () => {
    vi.useFakeTimers({ now: 5_000_000 });
    const store = memoryStore();
    await store.save('k', entry(['Product:p0']), 60_000);
    vi.setSystemTime(5_000_001);
    // More live purge times than the store keeps: the oldest cannot just be dropped.
    await store.purge(Array.from({ length: 100_001 }, (_, i) => `Other:${i}`));
    expect(await store.lookup(['k'])).toBeUndefined();
  });

  it('stays within its bounds', async () => {
    const store = memoryStore({ maxEntries: 3, maxBytes: 1_000_000 });
    for (const key of ['a', 'b', 'c', 'd']) await store.save(key, entry([]), 60_000);
    expect(await store.lookup(['a'])).toBeUndefined();
    expect(await store.lookup(['d'])).toBeDefined();
  });
});

describe('the redis store', () => {
  it('fails fast with StoreUnavailable when Redis does not answer, and counts it', async () => {
    // Port 1 on loopback refuses connections: a Redis that is down.
    const store = createCacheStore({
      kind: 'redis',
      memory: { maxEntries: 1, maxBytes: 1 },
      redis: { connection: { url: 'redis://127.0.0.1:1', keyPrefix: '' }, prefix: 'frontdesk:test', timeoutMs: 200, retryAfterMs: 60_000 },
      entryLifetimeMs: 60_000,
      logger,
    });
    const started = Date.now();
    await expect(store.lookup(['k'])).rejects.toBeInstanceOf(StoreUnavailable);
    expect(Date.now() - started).toBeLessThan(2_000);
    // While it is known to be down, the store is not even tried.
    const again = Date.now();
    await expect(store.save('k', entry([]), 1_000)).rejects.toBeInstanceOf(StoreUnavailable);
    expect(Date.now() - again).toBeLessThan(50);
    await expect(store.purge(['Product:p1'])).rejects.toBeInstanceOf(StoreUnavailable);
    expect(store.failures()).toBeGreaterThanOrEqual(1);
    await store.close();
  });
});
