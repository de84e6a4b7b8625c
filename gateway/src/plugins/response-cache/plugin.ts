import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HeaderMap } from '@apollo/server';
import { getOperationAST, type DocumentNode, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { hintFromCacheControl, type CacheHint } from '../../core/cache-hints.js';
import type { GatewayContext, Identity } from '../../core/context.js';
import { EdgeRefusal, type AdminRoute, type EdgeAnswer, type EdgeRequest, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { EdgeIndex, edgeHeaders, edgeKey, type EdgeEntry } from './edge.js';
import { entityKeysOf, entityTag, extractEntities, prepareOperation, type EntityKeys, type PreparedOperation } from './entities.js';
import type { ResponseCacheOptions } from './options.js';
import { ALL_TAG, createCacheStore, StoreUnavailable, type CachedEntry, type CacheStore } from './store.js';

type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';
type Hint = CacheHint;

/** What the cache knows of one request, from the lookup to the response. */
interface RequestState {
  startedAt: number;
  status: CacheStatus;
  /** The combined hints of every subgraph response so far; undefined before the first. */
  policy?: Hint;
  prepared?: Prepared;
  keys?: { public: string; private?: string };
  hit?: { entry: CachedEntry; ageSeconds: number };
  stale?: { entry: CachedEntry; ageSeconds: number };
}

interface Prepared extends PreparedOperation {
  queryHash: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const PREPARED_LIMIT = 1_000;

/** The narrower of two hints: the lower max-age, PRIVATE if either is. */
const restrict = (a: Hint | undefined, b: Hint): Hint =>
  a ? { maxAge: Math.min(a.maxAge, b.maxAge), scope: a.scope === 'PRIVATE' || b.scope === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC' } : b;

/** Who a PRIVATE entry belongs to. */
const owner = (identity: Identity) => `${identity.kind}\u0000${identity.tenant ?? ''}\u0000${identity.id}`;

const purgeBodySchema = z.strictObject({
  all: z.boolean().optional().describe('Purge every entry.'),
  types: z.array(z.string().regex(/^[_A-Za-z]\w*$/, 'a type name')).max(1_000).optional(),
  entities: z
    .array(z.strictObject({ type: z.string().regex(/^[_A-Za-z]\w*$/, 'a type name'), key: z.record(z.string(), z.union([z.string(), z.number()])) }))
    .max(10_000)
    .optional(),
});

/** What the cache did since start-up, on this replica (GET {admin.path}). */
export interface ResponseCacheCounters {
  hits: number;
  misses: number;
  /** Stale entries served because backends failed. */
  stale: number;
  /** Requests answered without the cache: mutations, no-cache requests, store failures. */
  bypasses: number;
  stores: number;
  /** Tags purged, by mutations and operators. */
  purges: number;
  /** Requests whose cache lookup, store or purge failed because the store was unavailable. */
  storeFailures: number;
  /** Of the hits, those written at the edge without Apollo Server. */
  edgeHits: number;
}

/**
 * Whole-response cache. Lookup runs in `responseForOperation`, after authentication and
 * authorization; the policy is the combination of every subgraph's Cache-Control; PRIVATE
 * entries belong to one identity; entries carry entity and type tags that mutations and the admin
 * route purge; entries outlive max-age by a grace period to answer when backends fail.
 */
export function createResponseCachePlugin(options: ResponseCacheOptions, ctx: PluginContext, store?: CacheStore): FrontdeskPlugin {
  const kind = options.store ?? (ctx.redisUrl ? 'redis' : 'memory');
  const graceMs = options.staleIfErrorSeconds * 1000;
  const cache =
    store ??
    createCacheStore({
      kind,
      memory: options.memory,
      redis: { ...options.redis, ...(ctx.redisUrl ? { url: ctx.redisUrl } : {}) },
      entryLifetimeMs: options.maxAgeCapSeconds * 1000 + graceMs,
      logger: ctx.logger,
    });
  const staleCodes = new Set<string>(options.staleIfErrorCodes);
  const counters: ResponseCacheCounters = { hits: 0, misses: 0, stale: 0, bypasses: 0, stores: 0, purges: 0, storeFailures: 0, edgeHits: 0 };
  const edge = options.edge.enabled ? new EdgeIndex(options.edge.maxEntries, options.edge.maxBytes) : undefined;
  const varyHeaders = options.varyHeaders;
  const varyOf = (get: (name: string) => string | undefined) => varyHeaders.map((name) => `${name}=${(get(name) ?? '').trim().toLowerCase()}`).join('\u0000');
  const noCache = (cacheControl: string | undefined, pragma: string | undefined) => /\bno-(?:cache|store)\b/.test(`${cacheControl ?? ''},${pragma ?? ''}`.toLowerCase());

  /** The edge key of each request the edge could not answer, by its headers (the GatewayContext's too), for rememberAtEdge. */
  const unanswered = new WeakMap<IncomingHttpHeaders, string>();
  const passOn = (headers: IncomingHttpHeaders, key: string): undefined => {
    unanswered.set(headers, key);
    return undefined;
  };
  /**
   * Repeat hits of the same caller, found by the exact body: written from memory after a purge
   * check, without Apollo Server and without parsing the body; without a promise when the check
   * needs no store round trip (the memory store once it has seen the entry current at today's
   * purge count).
   */
  const answerAtEdge = (request: EdgeRequest): EdgeAnswer | undefined | Promise<EdgeAnswer | undefined> => {
    if (!edge) return undefined;
    const headers = request.headers;
    const cacheControl = headers['cache-control'];
    const pragma = headers.pragma;
    if ((cacheControl !== undefined || pragma !== undefined) && noCache(cacheControl, pragma)) return undefined;
    const vary = varyHeaders.length === 0 ? '' : varyOf((name) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    });
    const key = edgeKey(request.identity, vary, request.text);
    const entry = edge.get(key);
    if (!entry) return passOn(headers, key);
    const now = Date.now();
    if (now - entry.fetchedAt >= entry.maxAgeSeconds * 1000) {
      edge.delete(key);
      return passOn(headers, key);
    }
    const purges = cache.purgeCount();
    if (purges !== undefined && entry.checkedAt === purges) return hitAtEdge(entry, now);
    return cache.isCurrent(entry.tags, entry.fetchedAt).then(
      (current) => {
        if (!current) {
          edge.delete(key);
          return passOn(headers, key);
        }
        if (purges !== undefined) entry.checkedAt = purges;
        return hitAtEdge(entry, now);
      },
      // The store is away: the full pipeline answers (and bypasses the cache).
      () => passOn(headers, key),
    );
  };
  const hitAtEdge = (entry: EdgeEntry, now: number): EdgeAnswer => {
    counters.hits += 1;
    counters.edgeHits += 1;
    return { status: 200, headers: edgeHeaders(entry, Math.floor((now - entry.fetchedAt) / 1000)), body: entry.body, operationName: entry.operationName, cache: 'HIT' };
  };
  /**
   * After a hit or a store through the full pipeline, the same caller's next request with the
   * same body can be answered at the edge (a JSON POST the edge saw; not a GET).
   */
  const rememberAtEdge = (headers: IncomingHttpHeaders, entry: CachedEntry, operationName: string | null) => {
    const key = unanswered.get(headers);
    if (!edge || key === undefined) return;
    edge.set(key, {
      // What Apollo Server writes for a result of only data.
      body: Buffer.from(`${JSON.stringify({ data: entry.data })}\n`),
      operationName,
      fetchedAt: entry.fetchedAt,
      maxAgeSeconds: entry.maxAgeSeconds,
      scope: entry.scope,
      tags: entry.tags,
    });
  };
  const states = new WeakMap<GatewayContext, RequestState>();
  const defaultHint: Hint = { maxAge: options.defaultMaxAgeSeconds, scope: options.defaultScope };

  // Entity keys and prepared operations belong to one schema: a reload starts them afresh.
  let schemaMemo: { schema: GraphQLSchema; keys: EntityKeys; prepared: Map<string, Prepared | null> } | undefined;
  const memoFor = (schema: GraphQLSchema, supergraphSdl?: string) => {
    if (schemaMemo?.schema !== schema) schemaMemo = { schema, keys: entityKeysOf(supergraphSdl ?? ctx.supergraph().originalSdl, schema), prepared: new Map() };
    return schemaMemo;
  };
  const prepare = (schema: GraphQLSchema, document: DocumentNode, queryHash: string, operationName: string | undefined): Prepared | undefined => {
    const memo = memoFor(schema);
    const id = `${queryHash}\u0000${operationName ?? ''}`;
    let prepared = memo.prepared.get(id);
    if (prepared === undefined) {
      const result = prepareOperation(document, schema, memo.keys, operationName);
      // The planner caches plans by query hash: the rewritten operation gets its own.
      prepared = result ? { ...result, queryHash: sha256(`${queryHash}\u0000response-cache`) } : null;
      if (memo.prepared.size >= PREPARED_LIMIT) memo.prepared.delete(memo.prepared.keys().next().value!);
      memo.prepared.set(id, prepared);
    }
    return prepared ?? undefined;
  };

  const storeFailed = (error: unknown, logger: GatewayContext['logger'], what: string) => {
    counters.storeFailures += 1;
    if (!(error instanceof StoreUnavailable)) logger.error({ err: error }, `response cache ${what} failed`);
  };

  const count = (headers: HeaderMap, status: CacheStatus) => {
    if (status === 'MISS') counters.misses += 1;
    else counters.bypasses += 1;
    headers.set('x-cache', status);
  };

  const purge = async (tags: string[], logger: GatewayContext['logger']): Promise<boolean> => {
    try {
      await cache.purge(tags);
      counters.purges += tags.length;
      return true;
    } catch (error) {
      storeFailed(error, logger, 'purge');
      logger.warn({ tags: tags.length }, 'response cache purge could not reach the store; it is applied here now and retried');
      return false;
    }
  };

  const allowed = (identity: Identity | undefined): void => {
    if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'The cache admin routes need credentials', { 'www-authenticate': 'Bearer' });
    const ok = identity.roles.some((r) => options.admin.roles.includes(r)) || identity.scopes.some((s) => options.admin.scopes.includes(s));
    if (!ok) throw new EdgeRefusal('FORBIDDEN', `The cache admin routes need role ${options.admin.roles.join(' or ')} or scope ${options.admin.scopes.join(' or ')}`);
  };

  const adminRoutes: Record<string, AdminRoute> = {
    [options.admin.path]: {
      methods: ['GET'],
      async handle({ identity }) {
        allowed(identity);
        return { body: { store: kind, counters: { ...counters }, storeErrors: cache.failures() } };
      },
    },
    [`${options.admin.path}/purge`]: {
      methods: ['POST'],
      async handle({ identity, body, logger }) {
        allowed(identity);
        const parsed = purgeBodySchema.safeParse(body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new EdgeRefusal('BAD_USER_INPUT', `Invalid purge request at ${issue.path.join('.') || '(body)'}: ${issue.message}`);
        }
        const { all, types = [], entities = [] } = parsed.data;
        if (!all && types.length === 0 && entities.length === 0) throw new EdgeRefusal('BAD_USER_INPUT', 'Name what to purge: all, types or entities');
        const memo = schemaMemo;
        const tags: string[] = all ? [ALL_TAG] : [];
        for (const type of types) {
          if (memo && !memo.schema.getType(type)) throw new EdgeRefusal('BAD_USER_INPUT', `Unknown type "${type}"`);
          tags.push(type);
        }
        for (const entity of entities) {
          const key = memo?.keys.get(entity.type);
          if (memo && !key) throw new EdgeRefusal('BAD_USER_INPUT', `"${entity.type}" is not an entity type`);
          if (key && [...key.fields].sort().join(',') !== Object.keys(entity.key).sort().join(',')) {
            throw new EdgeRefusal('BAD_USER_INPUT', `The key of ${entity.type} is ${key.fields.join(', ')}`);
          }
          tags.push(entityTag(entity.type, entity.key));
        }
        if (!(await purge(tags, logger))) throw new EdgeRefusal('SERVICE_UNAVAILABLE', 'The cache store is unavailable; the purge is applied on this replica and retried', { 'retry-after': '1' });
        logger.info({ tags }, 'response cache purged by an operator');
        return { body: { purged: tags } };
      },
    },
  };

  return {
    name: 'responseCache',
    adminRoutes,
    ...(edge ? { answerAtEdge } : {}),
    subgraph: {
      didReceiveSubgraphResponse({ context, headers }) {
        const state = states.get(context);
        if (state) state.policy = restrict(state.policy, hintFromCacheControl(headers.get('cache-control')) ?? defaultHint);
      },
    },
    apollo: {
      async serverWillStart() {
        ctx.logger.info({ store: cache.kind, staleIfErrorSeconds: options.staleIfErrorSeconds }, 'response cache on');
        return {
          schemaDidLoadOrUpdate({ apiSchema, coreSupergraphSdl }) {
            memoFor(apiSchema, coreSupergraphSdl);
          },
          async serverWillStop() {
            await cache.close();
          },
        };
      },
      async requestDidStart({ contextValue }) {
        const state: RequestState = { startedAt: Date.now(), status: 'BYPASS' };
        states.set(contextValue, state);
        return {
          async responseForOperation(requestContext) {
            const { operation, document, schema, request, contextValue: context } = requestContext;
            const originalHash = requestContext.queryHash;
            if (!operation || !document || !originalHash || operation.operation === 'subscription') return null;
            const prepared = prepare(schema, document, originalHash, request.operationName ?? undefined);
            if (!prepared) return null;
            state.prepared = prepared;
            const mutable = requestContext as unknown as { document: DocumentNode; operation: unknown; queryHash: string };
            mutable.document = prepared.document;
            mutable.operation = getOperationAST(prepared.document, request.operationName) ?? operation;
            mutable.queryHash = prepared.queryHash;
            if (operation.operation !== 'query') return null;

            if (noCache(request.http?.headers.get('cache-control'), request.http?.headers.get('pragma'))) return null;

            const vary = varyOf((name) => request.http?.headers.get(name));
            const base = sha256(`${originalHash}\u0000${request.operationName ?? ''}\u0000${JSON.stringify(request.variables ?? {})}\u0000${vary}`);
            const identity = context.identity;
            state.keys = { public: `p:${base}`, ...(identity ? { private: `u:${sha256(`${base}\u0000${owner(identity)}`)}` } : {}) };
            state.status = 'MISS';
            let found;
            try {
              found = await cache.lookup(state.keys.private ? [state.keys.private, state.keys.public] : [state.keys.public]);
            } catch (error) {
              storeFailed(error, context.logger, 'lookup');
              state.status = 'BYPASS';
              return null;
            }
            if (!found) return null;
            const { entry, key } = found;
            // An entry is only ever served under the key of its own scope.
            if ((entry.scope === 'PRIVATE') !== (key === state.keys.private)) return null;
            const ageSeconds = Math.max(0, Math.floor((Date.now() - entry.fetchedAt) / 1000));
            if (Date.now() - entry.fetchedAt < entry.maxAgeSeconds * 1000) {
              state.hit = { entry, ageSeconds };
              state.status = 'HIT';
              return { http: { status: 200, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: entry.data } } };
            }
            state.stale = { entry, ageSeconds };
            return null;
          },

          async willSendResponse(requestContext) {
            const { response, contextValue: context } = requestContext;
            const headers = response.http.headers;
            if (response.body.kind !== 'single') return;
            const result = response.body.singleResult;
            if (state.hit) {
              const { entry, ageSeconds } = state.hit;
              counters.hits += 1;
              requestContext.overallCachePolicy.replace({ maxAge: Math.max(0, entry.maxAgeSeconds - ageSeconds), scope: entry.scope });
              headers.set('age', String(ageSeconds));
              headers.set('x-cache', 'HIT');
              rememberAtEdge(context.headers, entry, requestContext.operationName ?? null);
              return;
            }
            // The entities in the result, collected only when a purge or a store needs them; the
            // walk also removes the reserved fields, so it always runs when the operation has any.
            let collected: Set<string> | undefined;
            const entities = () => (collected ??= state.prepared ? extractEntities(result, memoFor(requestContext.schema).keys, state.prepared.shape) : new Set<string>());
            if (state.prepared?.reserved) entities();
            const operation = requestContext.operation?.operation;
            if (operation !== 'query') {
              counters.bypasses += 1;
              headers.set('x-cache', 'BYPASS');
              requestContext.overallCachePolicy.replace({ maxAge: 0 });
              if (operation === 'mutation' && options.invalidateOnMutation && entities().size > 0) await purge([...entities()], context.logger);
              return;
            }
            if (result.errors?.length) {
              const failing = result.errors.find((e) => staleCodes.has(String(e.extensions?.code)));
              if (state.stale && failing && Date.now() - state.stale.entry.fetchedAt < state.stale.entry.maxAgeSeconds * 1000 + graceMs) {
                const { entry, ageSeconds } = state.stale;
                counters.stale += 1;
                context.logger.warn({ code: failing.extensions?.code, ageSeconds }, 'backend failed: served a stale cached response');
                response.body.singleResult = { data: entry.data, extensions: { ...result.extensions, cache: { stale: true, age: ageSeconds } } };
                response.http.status = 200;
                requestContext.overallCachePolicy.replace({ maxAge: 0 });
                headers.set('age', String(ageSeconds));
                headers.set('x-cache', 'STALE');
                return;
              }
              count(headers, state.status);
              return;
            }
            count(headers, state.status);
            const policy = state.policy ? { maxAge: Math.min(state.policy.maxAge, options.maxAgeCapSeconds), scope: state.policy.scope } : undefined;
            if (policy) requestContext.overallCachePolicy.replace(policy);
            if (state.status !== 'MISS' || !state.keys || !policy || policy.maxAge <= 0 || !result.data) return;
            const key = policy.scope === 'PRIVATE' ? state.keys.private : state.keys.public;
            // PRIVATE data of an anonymous caller has no owner to be cached for.
            if (!key) return;
            const entry: CachedEntry = {
              data: result.data,
              fetchedAt: state.startedAt,
              maxAgeSeconds: policy.maxAge,
              scope: policy.scope,
              tags: [...(state.prepared?.types ?? []), ...entities()],
            };
            try {
              await cache.save(key, entry, policy.maxAge * 1000 + graceMs);
              counters.stores += 1;
              rememberAtEdge(context.headers, entry, requestContext.operationName ?? null);
            } catch (error) {
              storeFailed(error, context.logger, 'store');
            }
          },
        };
      },
    },
  };
}
