import { LRUCache } from 'lru-cache';
import { WALL_CLOCK } from '../../core/clock.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../../core/context.js';
import type { Logger } from '../../core/logger.js';
import { EdgeRefusal } from '../../core/plugin.js';
import type { SharedRedis } from '../../core/redis.js';
import { apiKeyRecordSchema, type AuthOptions } from './options.js';

type ApiKeyOptions = NonNullable<AuthOptions['apiKeys']>;
type KeyRecord = { clientId: string; plan: string; tenant?: string | undefined; scopes: string[] };

const toIdentity = (record: KeyRecord): Identity => ({
  kind: 'client',
  id: record.clientId,
  roles: [],
  scopes: record.scopes,
  plan: record.plan,
  ...(record.tenant ? { tenant: record.tenant } : {}),
});

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/**
 * API keys of machine clients, only ever as their SHA-256: from the config, then from Redis
 * (`prefix + sha256` holds the JSON record), remembered in memory for a while either way so that
 * Redis sees a key at most once per TTL. While Redis is away, config keys still work and other
 * keys get a 503 SERVICE_UNAVAILABLE: they cannot be told valid or invalid.
 */
export function createApiKeyVerifier(options: ApiKeyOptions, redis: SharedRedis | undefined, logger: Logger): (key: string) => Promise<Identity> {
  const configured = new Map(options.keys.map((k) => [k.sha256, k]));
  const store = options.redis;
  if (store && !redis) throw new Error('auth.apiKeys.redis needs redis (redis.url, sentinel or cluster; or REDIS_URL)');
  // Least recently used first past cacheEntries; unknown keys are remembered too (as null).
  const remembered = new LRUCache<string, { identity: Identity | null }>({ max: Math.max(1, store?.cacheEntries ?? 1), perf: WALL_CLOCK, ttlResolution: 0 });

  const remember = (digest: string, identity: Identity | null, ttl: number) => {
    if (ttl <= 0) return;
    remembered.set(digest, { identity }, { ttl });
  };

  async function fromRedis(digest: string): Promise<Identity | null> {
    const hit = remembered.get(digest);
    if (hit) return hit.identity;
    let raw: string | null;
    try {
      raw = await (await redis!.ready()).get(`${store!.prefix}${digest}`);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'api key lookup failed: redis unavailable');
      throw new EdgeRefusal('SERVICE_UNAVAILABLE', 'API keys cannot be checked right now; retry shortly', { 'retry-after': '1' });
    }
    let identity: Identity | null = null;
    if (raw !== null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = undefined;
      }
      const record = apiKeyRecordSchema.safeParse(parsed);
      if (record.success) identity = toIdentity(record.data);
      else logger.warn({ key: `${store!.prefix}${digest.slice(0, 8)}...` }, 'api key record in redis is not valid JSON of clientId, plan, tenant, scopes: key refused');
    }
    remember(digest, identity, identity ? store!.cacheTtlMs : store!.negativeCacheTtlMs);
    return identity;
  }

  return async (key) => {
    const digest = hashApiKey(key);
    const found = configured.get(digest);
    // Constant-time compare of the digest we found, against timing probes of the map lookup.
    if (found && timingSafeEqual(Buffer.from(found.sha256, 'hex'), Buffer.from(digest, 'hex'))) return toIdentity(found);
    const identity = store ? await fromRedis(digest) : null;
    if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'Invalid API key');
    return identity;
  };
}
