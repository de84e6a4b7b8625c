import { loadConfig } from '../gateway/src/core/config.js';
import { openRedis, redisConfigured, type RedisClient } from '../gateway/src/core/redis.js';

/**
 * The Redis of the operators' tools: the gateway's own `redis` settings (frontdesk.config.yaml or
 * --config FILE, with REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES, REDIS_PASSWORD,
 * REDIS_KEY_PREFIX... from the environment), so a tool reaches the keys the gateway uses;
 * redis://127.0.0.1:6379 when the gateway has no Redis configured.
 */
export function toolRedis(configFile: string | undefined): RedisClient {
  const config = loadConfig({ argv: configFile ? ['--config', configFile] : [], env: process.env });
  const settings = config.redis;
  const connection = redisConfigured(settings) ? settings : { url: 'redis://127.0.0.1:6379', keyPrefix: settings.keyPrefix };
  return openRedis(connection, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: true });
}
