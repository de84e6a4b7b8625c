import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../../core/redis.js';

/**
 * keyv's Redis store on ioredis, the gateway's one Redis client library (API keys, rate limits and
 * usage use it too; @keyv/redis would bring node-redis beside it). Keys are `<prefix>::<key>`, the
 * layout @keyv/redis wrote; values are keyv's serialized strings; a TTL is Redis' own (PX).
 * On Redis Cluster the keys of one call live on different slots: reads and writes of several keys
 * go one command per key (in parallel) instead of MGET and MULTI, and clear scans every master.
 */
export class KeyvIoredis extends EventEmitter implements KeyvStoreAdapter {
  opts: Record<string, unknown> = {};
  namespace?: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
  }

  private key(key: string): string {
    return `${this.prefix}::${key}`;
  }

  /**
   * While the connection is being made (the first requests after start-up, or a reconnect under
   * way) a command waits for it: without an offline queue it would fail at once. The store's
   * deadline bounds the wait; while Redis is away (between retries) commands fail at once.
   */
  private async connected(): Promise<RedisClient> {
    const { redis } = this;
    if (redis.status === 'ready' || (redis.status !== 'connecting' && redis.status !== 'connect')) return redis;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        redis.off('ready', done);
        redis.off('error', done);
        redis.off('close', done);
        resolve();
      };
      redis.once('ready', done);
      redis.once('error', done);
      redis.once('close', done);
    });
    return redis;
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return ((await (await this.connected()).get(this.key(key))) ?? undefined) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    if (keys.length === 0) return [];
    const redis = await this.connected();
    const values = redis.isCluster ? await Promise.all(keys.map((key) => redis.get(this.key(key)))) : await redis.mget(keys.map((key) => this.key(key)));
    return values.map((value) => (value ?? undefined) as StoredData<Value | undefined>);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<void> {
    const redis = await this.connected();
    if (ttl !== undefined && ttl > 0) await redis.set(this.key(key), String(value), 'PX', Math.ceil(ttl));
    else await redis.set(this.key(key), String(value));
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    if (entries.length === 0) return;
    const redis = await this.connected();
    if (redis.isCluster) {
      await Promise.all(entries.map(({ key, value, ttl }) => (ttl !== undefined && ttl > 0 ? redis.set(this.key(key), String(value), 'PX', Math.ceil(ttl)) : redis.set(this.key(key), String(value)))));
      return;
    }
    const batch = redis.multi();
    for (const { key, value, ttl } of entries) {
      if (ttl !== undefined && ttl > 0) batch.set(this.key(key), String(value), 'PX', Math.ceil(ttl));
      else batch.set(this.key(key), String(value));
    }
    const results = await batch.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  }

  async delete(key: string): Promise<boolean> {
    return (await (await this.connected()).del(this.key(key))) > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    const redis = await this.connected();
    if (redis.isCluster) return (await Promise.all(keys.map((key) => redis.del(this.key(key))))).some((n) => n > 0);
    return (await redis.del(...keys.map((key) => this.key(key)))) > 0;
  }

  async has(key: string): Promise<boolean> {
    return (await (await this.connected()).exists(this.key(key))) === 1;
  }

  /** Every key under the prefix, scanned in batches (never KEYS). */
  async clear(): Promise<void> {
    const redis = await this.connected();
    const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
    // SCAN matches whole keys, the connection's key prefix included; DEL adds the prefix itself.
    const own = redis.options.keyPrefix ?? '';
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${own}${this.prefix}::*`, 'COUNT', 500);
        for (const key of keys) await redis.del(key.slice(own.length));
        cursor = next;
      } while (cursor !== '0');
    }
  }

  async disconnect(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
