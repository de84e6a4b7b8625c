import { LRUCache } from 'lru-cache';
import type { SharedRedis } from './redis.js';

/**
 * State replicas share (DESIGN.md): string values with a lifetime, in Redis when `redis.url` is
 * set, in this process's memory otherwise. Every failure of Redis rejects: the caller degrades.
 */
export interface SharedStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** The store of one feature, its keys under `prefix` (e.g. "frontdesk:apq:"). */
export function createSharedStore(options: { redis?: SharedRedis; prefix: string; memoryMaxBytes: number }): SharedStore {
  const { redis, prefix } = options;
  if (redis) {
    return {
      async get(key) {
        const value = await (await redis.ready()).get(prefix + key);
        return value ?? undefined;
      },
      async set(key, value, ttlSeconds) {
        await (await redis.ready()).set(prefix + key, value, 'EX', ttlSeconds);
      },
    };
  }
  const memory = new LRUCache<string, string>({ maxSize: options.memoryMaxBytes, sizeCalculation: (value, key) => Math.max(1, (value.length + key.length) * 2) });
  return {
    get: (key) => Promise.resolve(memory.get(key)),
    set(key, value, ttlSeconds) {
      memory.set(key, value, { ttl: ttlSeconds * 1000 });
      return Promise.resolve();
    },
  };
}
