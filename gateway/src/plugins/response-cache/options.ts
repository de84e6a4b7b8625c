import { z } from 'zod';

/** Codes that mean a backend failed (down, slow, open circuit, broken): a stale entry may answer instead. */
export const UPSTREAM_FAILURE_CODES = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'CIRCUIT_OPEN', 'UPSTREAM_ERROR', 'BAD_UPSTREAM_RESPONSE'] as const;

const headerName = z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name');

export const responseCacheOptionsSchema = z
  .strictObject({
    store: z
      .enum(['memory', 'redis'])
      .optional()
      .describe('Where entries live. Default: redis when Redis is configured (redis.url, sentinel or cluster; REDIS_URL), shared by every replica; memory otherwise.'),
    memory: z
      .strictObject({
        maxEntries: z.number().int().positive().default(10_000).describe('Most entries kept in memory; the least recently used go first. Default 10000.'),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024)
          .describe('Most bytes of serialized entries kept in memory (LRU). Default 67108864 (64 MiB).'),
      })
      .prefault({})
      .describe('Bounds of the in-memory store (one per replica).'),
    redis: z
      .strictObject({
        prefix: z.string().min(1).default('frontdesk:cache').describe('Namespace of every cache key in Redis. Default frontdesk:cache.'),
        timeoutMs: z
          .number()
          .int()
          .positive()
          .default(250)
          .describe('Longest a cache read or write may take before the request goes on without the cache, in ms. Default 250.'),
        retryAfterMs: z
          .number()
          .int()
          .positive()
          .default(1_000)
          .describe('After a Redis failure, how long requests bypass the cache before it is tried again, in ms. Default 1000.'),
      })
      .prefault({})
      .describe('The Redis store (keyv on ioredis, on the configured redis, its own connection).'),
    edge: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Answer repeat hits at the edge, before Apollo Server. Default true.'),
        maxEntries: z.number().int().positive().default(10_000).describe('Most responses kept ready to write, per replica (LRU). Default 10000.'),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(32 * 1024 * 1024)
          .describe('Most bytes of responses kept ready to write, per replica (LRU). Default 33554432 (32 MiB).'),
      })
      .prefault({})
      .describe('Repeat hits of a caller (same operation, variables, vary headers and verified claims) are written at the edge from bytes kept in memory, after a purge check with the store.'),
    defaultMaxAgeSeconds: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Cache hint for a subgraph response without a Cache-Control header, in seconds; 0 makes it uncacheable. Default 0.'),
    defaultScope: z
      .enum(['PUBLIC', 'PRIVATE'])
      .default('PUBLIC')
      .describe('Scope of that default hint. Default PUBLIC.'),
    maxAgeCapSeconds: z
      .number()
      .int()
      .positive()
      .default(3_600)
      .describe('Upper bound on any computed max-age, in seconds. Default 3600.'),
    staleIfErrorSeconds: z
      .number()
      .int()
      .nonnegative()
      .default(300)
      .describe('Grace period after max-age during which an entry answers a query whose backends fail, in seconds; 0 turns stale-if-error off. Default 300.'),
    staleIfErrorCodes: z
      .array(z.enum(UPSTREAM_FAILURE_CODES))
      .default([...UPSTREAM_FAILURE_CODES])
      .describe('Error codes that let a stale entry answer. Default: all upstream failure codes.'),
    varyHeaders: z
      .array(headerName)
      .default(['accept-language'])
      .describe('Request headers whose values are part of the cache key because they change the response. Default [accept-language].'),
    invalidateOnMutation: z
      .boolean()
      .default(true)
      .describe('A mutation purges the entries that hold the entities in its result (and the entities they reference). Default true.'),
    admin: z
      .strictObject({
        path: z
          .string()
          .regex(/^(?:\/[\w-]+)+$/, 'a path like /admin/cache')
          .default('/admin/cache')
          .describe('POST {path}/purge purges by type or entity; GET {path} shows the counters. Default /admin/cache.'),
        roles: z.array(z.string().min(1)).default(['admin']).describe('Callers with one of these roles may use it. Default [admin].'),
        scopes: z.array(z.string().min(1)).default(['cache:purge']).describe('Callers with one of these scopes may use it. Default [cache:purge].'),
      })
      .prefault({})
      .describe('The authenticated admin endpoint (needs the auth plugin).'),
  })
  .describe('Whole-response cache: policy from subgraph cache hints, per-user PRIVATE entries, entity invalidation, stale-if-error.');

export type ResponseCacheOptions = z.output<typeof responseCacheOptionsSchema>;
