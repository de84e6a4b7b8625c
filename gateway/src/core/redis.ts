import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Logger } from './logger.js';

const hostPort = z.string().regex(/^(?:\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/, 'host:port');

const redisTlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional().describe('PEM file of the CA that signed the Redis server certificate. Default: the system CAs.'),
    certFile: z.string().min(1).optional().describe('PEM client certificate, for Redis that asks for one (tls-auth-clients).'),
    keyFile: z.string().min(1).optional().describe('PEM private key of certFile.'),
    servername: z.string().min(1).optional().describe('Name checked against the server certificate. Default: the host connected to.'),
    rejectUnauthorized: z.boolean().default(true).describe('Refuse a server certificate that does not verify. Default true; false only for a test Redis.'),
  })
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), { message: 'certFile and keyFile go together' });

/** Where Redis is and how to reach it (`redis` in the configuration): one for every Redis user. */
export const redisConnectionSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .optional()
      .describe('One Redis (redis://[user:password@]host:port[/db]; rediss:// for TLS). Env REDIS_URL.'),
    sentinel: z
      .strictObject({
        name: z.string().min(1).describe('The monitored master\'s name (sentinel monitor NAME ...).'),
        nodes: z.array(hostPort).min(1).describe('Sentinels as host:port; any one that answers names the master.'),
        username: z.string().min(1).optional().describe('ACL user of the sentinels themselves.'),
        password: z.string().min(1).optional().describe('Password of the sentinels themselves (${NAME} from the environment).'),
        tls: z.boolean().default(false).describe('Talk TLS to the sentinels too (redis.tls settings). Default false.'),
      })
      .optional()
      .describe('Redis through Sentinel: the master found by asking the sentinels, followed after a failover. Env REDIS_SENTINELS (host:port,...) and REDIS_SENTINEL_NAME.'),
    cluster: z
      .strictObject({
        nodes: z.array(hostPort).min(1).describe('Some nodes of the cluster as host:port; the rest are discovered.'),
      })
      .optional()
      .describe('Redis Cluster. Env REDIS_CLUSTER_NODES (host:port,...).'),
    username: z.string().min(1).optional().describe('ACL user (Redis 6+). Default: from the URL, else the default user. Env REDIS_USERNAME.'),
    password: z.string().min(1).optional().describe('Password (requirepass or the ACL user\'s). Default: from the URL. Env REDIS_PASSWORD.'),
    db: z.number().int().min(0).max(15).optional().describe('Database number (not with cluster). Default: from the URL, else 0.'),
    tls: redisTlsSchema.optional().describe('TLS to Redis (rediss:// turns it on with these defaults).'),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]*$/, 'letters, digits, _ . : -')
      .default('')
      .describe('Put before every key of every Redis user (cache, API keys, rate limits, usage, APQ), so environments can share a Redis: e.g. "staging:". Default none. Env REDIS_KEY_PREFIX.'),
  })
  .refine((r) => [r.url, r.sentinel, r.cluster].filter((v) => v !== undefined).length <= 1, { message: 'set one of url, sentinel and cluster' })
  .refine((r) => !(r.cluster && r.db !== undefined && r.db !== 0), { message: 'Redis Cluster has only database 0' })
  .refine((r) => r.url !== undefined || r.sentinel !== undefined || r.cluster !== undefined || (r.username === undefined && r.password === undefined && r.tls === undefined), {
    message: 'username, password and tls need url, sentinel or cluster',
  })
  .prefault({});

export type RedisConnection = z.output<typeof redisConnectionSchema>;

/** A connection to a single Redis (direct or through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** True when Redis is configured at all. */
export function redisConfigured(connection: RedisConnection | undefined): boolean {
  return connection !== undefined && (connection.url !== undefined || connection.sentinel !== undefined || connection.cluster !== undefined);
}

/** How a user of Redis behaves when it is slow or away: its own deadline and retries. */
export interface RedisTuning {
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number | null;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  lazyConnect?: boolean;
  retryStrategy?: (attempt: number) => number | null | void;
}

const splitHostPort = (node: string): { host: string; port: number } => {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(node.slice(at + 1)) };
};

function tlsOptions(connection: RedisConnection): ConnectionOptions | undefined {
  const tls = connection.tls;
  if (!tls && !connection.url?.startsWith('rediss://')) return undefined;
  return {
    ...(tls?.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls?.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls?.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
    ...(tls?.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  };
}

/**
 * Opens a connection as `redis` in the configuration says: a URL, Sentinel or Cluster, with its
 * credentials, TLS and key prefix. Every Redis user of the gateway and of its tools comes here.
 */
export function openRedis(connection: RedisConnection, tuning: RedisTuning = {}): RedisClient {
  const tls = tlsOptions(connection);
  const base: RedisOptions = {
    ...(connection.username !== undefined ? { username: connection.username } : {}),
    ...(connection.password !== undefined ? { password: connection.password } : {}),
    ...(connection.db !== undefined ? { db: connection.db } : {}),
    ...(connection.keyPrefix ? { keyPrefix: connection.keyPrefix } : {}),
    ...(tls ? { tls } : {}),
    ...(tuning.enableOfflineQueue !== undefined ? { enableOfflineQueue: tuning.enableOfflineQueue } : {}),
    ...(tuning.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: tuning.maxRetriesPerRequest } : {}),
    ...(tuning.commandTimeoutMs !== undefined ? { commandTimeout: tuning.commandTimeoutMs } : {}),
    ...(tuning.connectTimeoutMs !== undefined ? { connectTimeout: tuning.connectTimeoutMs } : {}),
    ...(tuning.lazyConnect !== undefined ? { lazyConnect: tuning.lazyConnect } : {}),
  };
  if (connection.cluster) {
    const options: ClusterOptions = {
      redisOptions: { ...base, keyPrefix: undefined },
      ...(connection.keyPrefix ? { keyPrefix: connection.keyPrefix } : {}),
      ...(tuning.enableOfflineQueue !== undefined ? { enableOfflineQueue: tuning.enableOfflineQueue } : {}),
      ...(tuning.lazyConnect !== undefined ? { lazyConnect: tuning.lazyConnect } : {}),
      ...(tuning.retryStrategy ? { clusterRetryStrategy: (times: number) => tuning.retryStrategy!(times) ?? null } : {}),
      // Nodes announce addresses; with TLS the certificate names the host asked for, not its address.
      ...(tls ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) } : {}),
    };
    return new Cluster(connection.cluster.nodes.map(splitHostPort), options);
  }
  const retry = tuning.retryStrategy ? { retryStrategy: tuning.retryStrategy } : {};
  if (connection.sentinel) {
    const sentinel = connection.sentinel;
    return new Redis({
      ...base,
      ...retry,
      name: sentinel.name,
      sentinels: sentinel.nodes.map(splitHostPort),
      ...(sentinel.username !== undefined ? { sentinelUsername: sentinel.username } : {}),
      ...(sentinel.password !== undefined ? { sentinelPassword: sentinel.password } : {}),
      ...(sentinel.tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls ?? {} } : {}),
    });
  }
  return new Redis(connection.url!, { ...base, ...retry });
}

/**
 * The gateway's one Redis connection (`redis`), shared by the features that keep state across
 * replicas. It never holds a request up: commands fail fast while Redis is away (no offline queue,
 * one retry, a command timeout) and it reconnects by itself with backoff; callers decide what a
 * failed command means for them.
 */
export interface SharedRedis {
  client(): RedisClient;
  /**
   * The client once it is ready: waits up to `maxWaitMs` while it is still connecting (the first
   * request after start-up), rejects at once when Redis is known to be down.
   */
  ready(maxWaitMs?: number): Promise<RedisClient>;
  close(): Promise<void>;
}

export function createSharedRedis(connection: RedisConnection, logger: Logger): SharedRedis {
  let client: RedisClient | undefined;
  let down = false;
  return {
    client() {
      if (client) return client;
      client = openRedis(connection, {
        lazyConnect: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeoutMs: 500,
        connectTimeoutMs: 2_000,
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
