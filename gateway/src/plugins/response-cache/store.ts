import { LRUCache } from 'lru-cache';
import { KeyvIoredis } from './keyv-ioredis.js';
import { openRedis, type RedisConnection } from '../../core/redis.js';
import { Keyv } from 'keyv';
import type { Logger } from '../../core/logger.js';

/** A cached response and what it is made of. */
export interface CachedEntry {
  /** The response data exactly as served. */
  data: Record<string, unknown>;
  /** When its data was fetched (epoch ms at the start of the request that stored it). */
  fetchedAt: number;
  maxAgeSeconds: number;
  scope: 'PUBLIC' | 'PRIVATE';
  /** Entity tags (`Product:p1`) and type tags (`Product`) of everything in it. */
  tags: string[];
}

/**
 * Where entries live: keyv over a bounded LRU map (one per replica) or over Redis (shared by every
 * replica). A purge never deletes entries one by one: it records when each tag was purged, and an
 * entry fetched before the purge time of one of its tags is gone. That works the same on every
 * keyv store, needs no index of keys per tag, and cannot lose a purge to a write that was in flight.
 */
export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  /** The first of `keys` that holds an entry no purge has touched since it was fetched. */
  lookup(keys: string[]): Promise<{ key: string; entry: CachedEntry } | undefined>;
  save(key: string, entry: CachedEntry, ttlMs: number): Promise<void>;
  /**
   * The time to stamp a request starting now with (`fetchedAt`): the wall clock, but always after
   * the last purge this replica made. A request that begins in the same millisecond as a purge
   * made here comes after it, and its answer is not taken for purged.
   */
  now(): number;
  /** True when no tag of these was purged at or after `fetchedAt`. */
  isCurrent(tags: string[], fetchedAt: number): Promise<boolean>;
  /**
   * Counts the purges this store has seen, when it sees them all (memory): an answer checked as
   * current at one count is still current at the same count. Undefined for Redis, where other
   * replicas purge too.
   */
  purgeCount(): number | undefined;
  /** Marks the tags purged now; kept in memory and retried while the store is away. */
  purge(tags: string[]): Promise<void>;
  /** Store failures since start-up (each one bypassed the cache for its request). */
  failures(): number;
  close(): Promise<void>;
}

/** The store could not be used for this request: the request goes on without the cache. */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

/** Tag of every entry: purging it empties the cache. */
export const ALL_TAG = '*';
const ENTRY = 'e:';
const TAG = 't:';
const PENDING_LIMIT = 10_000;
const TAG_TIMES_LIMIT = 100_000;

/**
 * A map that keeps at most `maxEntries` values and `maxBytes` of them (as `sizeOf` counts),
 * dropping the least recently used first: lru-cache, with the value boxed so that any value
 * (null included) can be kept. A value larger than `maxBytes` is not kept.
 */
export class BoundedLru<V> {
  private readonly cache: LRUCache<string, { value: V }>;

  constructor(maxEntries: number, maxBytes: number, sizeOf: (key: string, value: V) => number) {
    this.cache = new LRUCache<string, { value: V }>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (slot, key) => Math.max(1, sizeOf(key, slot.value)),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  get byteSize(): number {
    return this.cache.calculatedSize;
  }

  get(key: string): V | undefined {
    return this.cache.get(key)?.value;
  }

  has(key: string): boolean {
    return this.cache.has(key);
  }

  set(key: string, value: V): this {
    this.cache.set(key, { value });
    return this;
  }

  delete(key: string): boolean {
    return this.cache.delete(key);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** The memory store's map for keyv, which keeps serialized strings: bounded by their UTF-8 bytes. */
export class LruMap extends BoundedLru<string> {
  constructor(maxEntries: number, maxBytes: number) {
    super(maxEntries, maxBytes, (key, value) => Buffer.byteLength(value) + Buffer.byteLength(key));
  }
}

/** When each tag was last purged (epoch ms), for the memory store: bounded, never evicts early. */
class MemoryTagClock {
  private readonly purged = new Map<string, number>();
  private all = 0;
  /** Purges so far. */
  count = 0;

  constructor(private readonly ttlMs: number) {}

  get(tags: string[]): number {
    let latest = this.all;
    for (const tag of tags) latest = Math.max(latest, this.purged.get(tag) ?? 0);
    return latest;
  }

  set(tags: Iterable<string>, at: number): void {
    this.count += 1;
    for (const tag of tags) {
      if (tag === ALL_TAG) this.all = at;
      else {
        this.purged.delete(tag);
        this.purged.set(tag, at);
      }
    }
    // Oldest first: times older than the longest entry lifetime no longer matter. Past the bound,
    // forgetting a live time would bring its entries back, so everything is purged instead.
    for (const [tag, when] of this.purged) {
      const expired = when + this.ttlMs <= at;
      if (!expired && this.purged.size <= TAG_TIMES_LIMIT) break;
      this.purged.delete(tag);
      if (!expired) this.all = at;
    }
  }
}

export interface StoreOptions {
  kind: 'memory' | 'redis';
  memory: { maxEntries: number; maxBytes: number };
  redis: { connection?: RedisConnection; prefix: string; timeoutMs: number; retryAfterMs: number };
  /** Longest time an entry can live (max-age cap plus grace), in ms: how long purge times are kept. */
  entryLifetimeMs: number;
  logger: Logger;
}

/**
 * Entries are plain JSON (no Buffers): keyv's default deserializer parses with a reviver for
 * Buffers, which made it the most expensive step of a cache hit.
 */
const PLAIN_JSON = {
  serialize: (data: unknown) => JSON.stringify(data),
  deserialize: (data: string) => JSON.parse(data) as never,
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cache store did not answer within ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createCacheStore(options: StoreOptions): CacheStore {
  const { logger } = options;
  const tagTtlMs = options.entryLifetimeMs + 1_000;
  let keyv: Keyv<unknown>;
  let memoryTags: MemoryTagClock | undefined;
  let closeClient = async (): Promise<void> => {};

  if (options.kind === 'redis') {
    if (!options.redis.connection) throw new Error('responseCache.store redis needs redis (url, sentinel or cluster; or REDIS_URL)');
    // Its own connection (the cache's deadline is its own, not the shared client's): a command
    // while Redis is away fails at once instead of waiting in a queue; it reconnects with backoff.
    const client = openRedis(options.redis.connection, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeoutMs: 2_000,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    });
    client.on('error', () => {});
    const adapter = new KeyvIoredis(client, options.redis.prefix);
    keyv = new Keyv({ store: adapter, useKeyPrefix: false, throwOnErrors: true, ...PLAIN_JSON });
    closeClient = async () => {
      await adapter.disconnect().catch(() => undefined);
    };
  } else {
    keyv = new Keyv({ store: new LruMap(options.memory.maxEntries, options.memory.maxBytes), namespace: 'frontdesk-cache', throwOnErrors: true, ...PLAIN_JSON });
    memoryTags = new MemoryTagClock(tagTtlMs);
  }
  // Failures are counted and logged by the guard below; keyv's events would only repeat them.
  keyv.on('error', () => {});

  let downUntil = 0;
  let down = false;
  let failures = 0;
  const pending = new Map<string, number>();

  async function guard<T>(operation: () => Promise<T>): Promise<T> {
    // The memory store neither fails nor waits.
    if (memoryTags) return operation();
    if (downUntil > Date.now()) throw new StoreUnavailable('cache store unavailable');
    try {
      const result = await withTimeout(operation(), options.redis.timeoutMs);
      if (down) {
        down = false;
        logger.info({ store: options.kind }, 'response cache store is back');
      }
      if (pending.size > 0) void flushPending();
      return result;
    } catch (error) {
      failures += 1;
      downUntil = Date.now() + options.redis.retryAfterMs;
      if (!down) {
        down = true;
        logger.warn({ store: options.kind, err: (error as Error).message }, 'response cache store unavailable: requests bypass the cache until it returns');
      }
      throw new StoreUnavailable('cache store unavailable', { cause: error });
    }
  }

  async function writeTags(times: Map<string, number>): Promise<void> {
    if (memoryTags) {
      for (const [tag, at] of times) memoryTags.set([tag], at);
      return;
    }
    await keyv.setMany([...times].map(([tag, at]) => ({ key: TAG + tag, value: at, ttl: tagTtlMs })));
  }

  let flushing = false;
  async function flushPending(): Promise<void> {
    if (flushing) return;
    flushing = true;
    const batch = new Map(pending);
    try {
      await withTimeout(writeTags(batch), options.redis.timeoutMs);
      for (const [tag, at] of batch) if (pending.get(tag) === at) pending.delete(tag);
      logger.info({ tags: batch.size }, 'response cache: purges made while the store was away are applied');
    } catch {
      // Still away: the next successful operation tries again.
    } finally {
      flushing = false;
    }
  }

  /** When this replica last purged (epoch ms). */
  let lastPurge = 0;

  async function purgedAt(tags: string[]): Promise<number> {
    let latest = pending.get(ALL_TAG) ?? 0;
    for (const tag of tags) latest = Math.max(latest, pending.get(tag) ?? 0);
    if (memoryTags) return Math.max(latest, memoryTags.get(tags));
    const times = await keyv.getMany<number>([ALL_TAG, ...tags].map((tag) => TAG + tag));
    for (const at of times) if (typeof at === 'number' && at > latest) latest = at;
    return latest;
  }

  return {
    kind: options.kind,
    async lookup(keys) {
      return guard(async () => {
        const entries = await keyv.getMany<CachedEntry>(keys.map((key) => ENTRY + key));
        for (let i = 0; i < keys.length; i++) {
          const entry = entries[i];
          if (!entry) continue;
          if ((await purgedAt(entry.tags)) >= entry.fetchedAt) {
            void keyv.delete(ENTRY + keys[i]!).catch(() => undefined);
            continue;
          }
          return { key: keys[i]!, entry };
        }
        return undefined;
      });
    },
    now: () => Math.max(Date.now(), lastPurge + 1),
    async isCurrent(tags, fetchedAt) {
      return guard(async () => (await purgedAt(tags)) < fetchedAt);
    },
    async save(key, entry, ttlMs) {
      await guard(() => keyv.set(ENTRY + key, entry, ttlMs));
    },
    async purge(tags) {
      const at = Date.now();
      lastPurge = Math.max(lastPurge, at);
      const times = new Map(tags.map((tag) => [tag, at]));
      try {
        await guard(() => writeTags(times));
      } catch (error) {
        // Remember it: entries of these tags stay gone here now, and Redis hears of it when it returns.
        if (pending.size + times.size > PENDING_LIMIT) {
          pending.clear();
          pending.set(ALL_TAG, at);
        } else for (const [tag, when] of times) pending.set(tag, when);
        throw error;
      }
    },
    failures: () => failures,
    purgeCount: () => memoryTags?.count,
    async close() {
      await closeClient();
    },
  };
}
