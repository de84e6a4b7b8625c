import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * The gateway's one Redis connection (`redis.url`), shared by the features that keep state across
 * replicas. It never holds a request up: commands fail fast while Redis is away (no offline queue,
 * one retry, a command timeout) and it reconnects by itself with backoff; callers decide what a
 * failed command means for them.
 */
export interface SharedRedis {
  client(): Redis;
  /**
   * The client once it is ready: waits up to `maxWaitMs` while it is still connecting (the first
   * request after start-up), rejects at once when Redis is known to be down.
   */
  ready(maxWaitMs?: number): Promise<Redis>;
  close(): Promise<void>;
}

export function createSharedRedis(url: string, logger: Logger): SharedRedis {
  let client: Redis | undefined;
  let down = false;
  return {
    client() {
      if (client) return client;
      client = new Redis(url, {
        lazyConnect: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 500,
        connectTimeout: 2_000,
        retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
      });
      client.on('error', (error: Error) => {
        if (!down) logger.warn({ err: error.message }, 'redis unavailable; features that use it degrade until it returns');
        down = true;
      });
      client.on('ready', () => {
        if (down) logger.info('redis is back');
        down = false;
      });
      return client;
    },
    async ready(maxWaitMs = 500) {
      const redis = this.client();
      if (redis.status === 'ready') return redis;
      if (down || redis.status === 'end' || redis.status === 'close') throw new Error('redis unavailable');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error('redis not ready')), maxWaitMs);
        const finish = (error?: Error) => {
          clearTimeout(timer);
          redis.off('ready', onReady);
          redis.off('error', onError);
          if (error) reject(error);
          else resolve();
        };
        const onReady = () => finish();
        const onError = (error: Error) => finish(error);
        redis.once('ready', onReady);
        redis.once('error', onError);
      });
      return redis;
    },
    async close() {
      if (!client) return;
      const closing = client;
      client = undefined;
      await closing.quit().catch(() => closing.disconnect());
    },
  };
}
