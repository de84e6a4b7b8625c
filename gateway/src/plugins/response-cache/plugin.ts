import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HeaderMap } from '@apollo/server';
import { Counter } from 'prom-client';
import type { GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { hintFromCacheControl, type CacheHint } from './hints.js';
import type { GatewayContext, Identity } from '../../core/context.js';
import { EdgeRefusal, type AdminRoute, type EdgeAnswer, type EdgeRequest, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { EdgeIndex, edgeCaller, edgeHeaders, type EdgeCaller, type EdgeEntry } from './edge.js';
import { EntityCatalog, entityTag, isReservedError, otherKeyTag, tagResponse, typesOf, type FetchShape } from './entities.js';
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
  /** The operation's kind, once resolved. */
  operation?: 'query' | 'mutation';
  /** The entities of the supergraph this request runs on. */
  catalog?: EntityCatalog;
  /** Entity tags read from the fetches so far, while the request may still be stored or purge. */
  tags?: Set<string>;
  /** Some fetch could not be read for tags: the response is not stored. */
  untagged?: boolean;
  /** The object types the operation can return (type tags). */
  types?: string[];
  /** The operation's hash and name, for what the cache remembers of it. */
  operationId?: string;
  keys?: { public: string; private?: string };
  hit?: { entry: CachedEntry; ageSeconds: number };
  stale?: { entry: CachedEntry; ageSeconds: number };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const TYPES_LIMIT = 1_000;

/** The narrower of two hints: the lower max-age, PRIVATE if either is. */
const restrict = (a: Hint | undefined, b: Hint): Hint =>
  a ? { maxAge: Math.min(a.maxAge, b.maxAge), scope: a.scope === 'PRIVATE' || b.scope === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC' } : b;

/**
 * Who a PRIVATE entry belongs to: everything that decides what the caller may see, not only who
 * it is. A user whose roles, scopes, plan or tenant change gets a new key, so an answer fetched
 * with more rights is never served after they were taken away.
 */
const owners = new WeakMap<Identity, string>();
export function ownerOf(identity: Identity): string {
  let owner = owners.get(identity);
  if (owner === undefined) {
    owner = [identity.kind, identity.id, identity.tenant ?? '', identity.plan ?? '', [...identity.roles].sort().join(' '), [...identity.scopes].sort().join(' ')].join('\u0000');
    owners.set(identity, owner);
  }
  return owner;
}

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
/** What the access log records of an edge hit. */
const HIT = { cache: 'HIT' } as const;

export function createResponseCachePlugin(options: ResponseCacheOptions, ctx: PluginContext, store?: CacheStore): FrontdeskPlugin {
  const kind = options.store ?? (ctx.redisConnection ? 'redis' : 'memory');
  const graceMs = options.staleIfErrorSeconds * 1000;
  const cache =
    store ??
    createCacheStore({
      kind,
      memory: options.memory,
      redis: { ...options.redis, ...(ctx.redisConnection ? { connection: ctx.redisConnection } : {}) },
      entryLifetimeMs: options.maxAgeCapSeconds * 1000 + graceMs,
      logger: ctx.logger,
    });
  const staleCodes = new Set<string>(options.staleIfErrorCodes);
  const counters: ResponseCacheCounters = { hits: 0, misses: 0, stale: 0, bypasses: 0, stores: 0, purges: 0, storeFailures: 0, edgeHits: 0 };
  if (ctx.metrics) {
    // Read from the counters at scrape time: nothing per request.
    new Counter({
      name: 'frontdesk_response_cache_requests_total',
      help: 'Response cache lookups by result: HIT (edge hits included), STALE (served on an upstream failure), MISS, BYPASS (not cacheable or the store away)',
      labelNames: ['result'],
      registers: [ctx.metrics],
      collect() {
        this.reset();
        this.inc({ result: 'HIT' }, counters.hits);
        this.inc({ result: 'STALE' }, counters.stale);
        this.inc({ result: 'MISS' }, counters.misses);
        this.inc({ result: 'BYPASS' }, counters.bypasses);
      },
    });
    new Counter({
      name: 'frontdesk_response_cache_store_failures_total',
      help: 'Response cache store operations that failed (the store unreachable or erroring)',
      registers: [ctx.metrics],
      collect() {
        this.reset();
        this.inc(counters.storeFailures);
      },
    });
  }
  const edge = options.edge.enabled ? new EdgeIndex(options.edge.maxEntries, options.edge.maxBytes) : undefined;
  const varyHeaders = options.varyHeaders;
  // join: a flat string, compared at the edge without flattening it first.
  const varyOf = (get: (name: string) => string | undefined) => varyHeaders.map((name) => `${name}=${(get(name) ?? '').trim().toLowerCase()}`).join('\u0000');
  /** The vary part of a request that sends none of the vary headers: made once. */
  const absentVary = varyOf(() => undefined);
  const noVaryHeader = (headers: IncomingHttpHeaders): boolean => {
    for (let i = 0; i < varyHeaders.length; i += 1) if (headers[varyHeaders[i]!] !== undefined) return false;
    return true;
  };
  const noCache = (cacheControl: string | undefined, pragma: string | undefined) => /\bno-(?:cache|store)\b/.test(`${cacheControl ?? ''},${pragma ?? ''}`.toLowerCase());

  /** The edge key of each request the edge could not answer, by its headers (the GatewayContext's too), for rememberAtEdge. */
  const unanswered = new WeakMap<IncomingHttpHeaders, { caller: EdgeCaller; text: string }>();
  const passOn = (headers: IncomingHttpHeaders, caller: EdgeCaller, text: string): undefined => {
    unanswered.set(headers, { caller, text });
    return undefined;
  };
  /**
   * Repeat hits of the same caller, found by the exact body: written from memory after a purge
   * check, without Apollo Server and without parsing the body; without a promise when the check
   * needs no store round trip (the memory store once it has seen the entry current at today's
   * purge count).
   */
  const answerAtEdge = (request: EdgeRequest): EdgeAnswer | undefined | Promise<EdgeAnswer | undefined> => {
    if (!edge || request.text === undefined) return undefined;
    const headers = request.headers;
    const cacheControl = headers['cache-control'];
    const pragma = headers.pragma;
    if ((cacheControl !== undefined || pragma !== undefined) && noCache(cacheControl, pragma)) return undefined;
    const vary = varyHeaders.length === 0 || noVaryHeader(headers) ? absentVary : varyOf((name) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    });
    const text = request.text;
    const caller = edgeCaller(request.identity, vary);
    const entry = edge.get(caller, text);
    if (!entry) return passOn(headers, caller, text);
    const now = Date.now();
    // Answered under another supergraph: authorization must look again (a field may now need a caller).
    if (entry.version !== version || now - entry.fetchedAt >= entry.maxAgeSeconds * 1000) {
      edge.delete(caller, text);
      return passOn(headers, caller, text);
    }
    const purges = cache.purgeCount();
    if (purges !== undefined && entry.checkedAt === purges) return hitAtEdge(entry, now);
    return cache.isCurrent(entry.tags, entry.fetchedAt).then(
      (current) => {
        if (!current) {
          edge.delete(caller, text);
          return passOn(headers, caller, text);
        }
        if (purges !== undefined) entry.checkedAt = purges;
        return hitAtEdge(entry, now);
      },
      // The store is away: the full pipeline answers (and bypasses the cache).
      () => passOn(headers, caller, text),
    );
  };
  const hitAtEdge = (entry: EdgeEntry, now: number): EdgeAnswer => {
    counters.hits += 1;
    counters.edgeHits += 1;
    return { status: 200, headers: edgeHeaders(entry, Math.floor((now - entry.fetchedAt) / 1000)), body: entry.body, operationName: entry.operationName, observed: HIT };
  };
  /**
   * After a hit through the full pipeline, the same caller's next request with the same body can
   * be answered at the edge (a JSON POST the edge saw; not a GET). A store alone is not enough:
   * most entries stored once are never asked for again, and would only fill the edge's memory.
   */
  const rememberAtEdge = (headers: IncomingHttpHeaders, entry: CachedEntry, operationName: string | null, entryVersion: string) => {
    const key = unanswered.get(headers);
    if (!edge || key === undefined || entryVersion !== version) return;
    edge.set(key.caller, key.text, {
      version: entryVersion,
      // What Apollo Server writes for a result of only data.
      body: Buffer.from(`${JSON.stringify({ data: entry.data })}\n`),
      operationName,
      fetchedAt: entry.fetchedAt,
      maxAgeSeconds: entry.maxAgeSeconds,
      scope: entry.scope,
      tags: entry.tags,
    });
  };
  /**
   * A subgraph answer that varies by request headers the cache does not key on belongs to the
   * caller (PRIVATE); `Vary: *` cannot be cached at all. The headers every fetch carries alike
   * (accept, accept-encoding) and the configured vary headers change nothing.
   */
  const keyedOn = new Set(['accept', 'accept-encoding', 'origin', ...varyHeaders]);
  const varied = (hint: Hint, vary: string): Hint => {
    let scope = hint.scope;
    for (const part of vary.split(',')) {
      const name = part.trim().toLowerCase();
      if (name === '*') return { maxAge: 0, scope };
      if (name !== '' && !keyedOn.has(name)) scope = 'PRIVATE';
    }
    return scope === hint.scope ? hint : { maxAge: hint.maxAge, scope };
  };
  const states = new WeakMap<GatewayContext, RequestState>();
  const defaultHint: Hint = { maxAge: options.defaultMaxAgeSeconds, scope: options.defaultScope };

  /**
   * What belongs to one supergraph: its version (part of every key, so an answer is only ever
   * served under the supergraph, and so the authorization, it was fetched under), its entities,
   * and the type tags of its operations. A reload starts them afresh.
   */
  interface SchemaMemo {
    version: string;
    catalog: EntityCatalog;
    types: LRUCache<string, string[]>;
    /**
     * Operations whose last answer could not be stored (a hint of 0 somewhere): their next
     * requests prepare no fetch for tagging. One that turns cacheable is stored from the request
     * after the one that saw it.
     */
    uncacheable: Set<string>;
  }
  const memos = new WeakMap<GraphQLSchema, SchemaMemo>();
  /** The supergraph in service, for the edge (which answers without a schema) and the admin routes. */
  let version = '';
  let inService: SchemaMemo | undefined;
  const memoFor = (schema: GraphQLSchema, supergraphSdl?: string): SchemaMemo => {
    let memo = memos.get(schema);
    if (!memo) {
      const sdl = supergraphSdl ?? ctx.supergraph().sdl;
      memo = { version: sha256(sdl).slice(0, 16), catalog: new EntityCatalog(sdl, schema), types: new LRUCache({ max: TYPES_LIMIT }), uncacheable: new Set() };
      memos.set(schema, memo);
    }
    return memo;
  };
  const typesFor = (memo: SchemaMemo, schema: GraphQLSchema, document: Parameters<typeof typesOf>[0], queryHash: string, operationName: string | undefined): string[] => {
    const id = `${queryHash}\u0000${operationName ?? ''}`;
    let types = memo.types.get(id);
    if (types === undefined) {
      types = typesOf(document, schema, operationName);
      memo.types.set(id, types);
    }
    return types;
  };
  /** Whether the fetches of a request still need reading for tags: a mutation to purge with, or a query that may be stored. */
  const tagging = (state: RequestState | undefined): state is RequestState & { catalog: EntityCatalog; tags: Set<string> } =>
    state?.tags !== undefined && !state.untagged && (state.operation === 'mutation' || !state.policy || state.policy.maxAge > 0);
  /** The shape of each fetch being read for tags, by its request object. */
  const shapes = new WeakMap<object, FetchShape>();

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
        const catalog = inService?.catalog;
        const tags: string[] = all ? [ALL_TAG] : [];
        for (const type of types) {
          if (catalog && !catalog.apiSchema.getType(type)) throw new EdgeRefusal('BAD_USER_INPUT', `Unknown type "${type}"`);
          tags.push(type);
        }
        for (const entity of entities) {
          const key = catalog?.keys.get(entity.type);
          if (catalog && !key) throw new EdgeRefusal('BAD_USER_INPUT', `"${entity.type}" is not an entity type`);
          const fields = Object.keys(entity.key).sort().join(',');
          const canonical = !key || [...key.fields].sort().join(',') === fields;
          if (!canonical && !catalog?.allKeys.get(entity.type)?.has(fields)) {
            throw new EdgeRefusal('BAD_USER_INPUT', `The key of ${entity.type} is ${[...(catalog?.allKeys.get(entity.type) ?? [])].map((k) => k.replace(/,/g, ', ')).join(' or ')}`);
          }
          tags.push(canonical ? entityTag(entity.type, entity.key) : otherKeyTag(entity.type, entity.key));
        }
        if (catalog) tags.splice(0, tags.length, ...catalog.widen(tags));
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
      willSendSubgraphRequest({ context, request, subgraph }) {
        const state = context ? states.get(context as GatewayContext) : undefined;
        // Every request of an operation that may be stored prepares its fetches alike, whatever
        // hints it saw so far: the same fetch text, so concurrent requests still share fetches.
        if (state?.tags === undefined || state.untagged || !state.catalog || !request.query) return;
        if (tagging(state)) state.catalog.tagRepresentations(request.variables?.representations, state.tags);
        const prepared = state.catalog.prepare(subgraph, request.query, state.operation === 'mutation');
        if (!prepared) {
          state.untagged = true;
          return;
        }
        if (prepared.query !== undefined) request.query = prepared.query;
        if (prepared.shape.fields) shapes.set(request, prepared.shape);
      },
      didReceiveSubgraphResponse({ subgraph, context, headers, request, body, resent }) {
        const state = states.get(context as GatewayContext);
        if (!state) return;
        const hint = hintFromCacheControl(headers.get('cache-control')) ?? defaultHint;
        const vary = headers.get('vary');
        state.policy = restrict(state.policy, vary ? varied(hint, vary) : hint);
        const shape = shapes.get(request);
        if (!shape) return;
        if (resent) {
          // Answered as planned, without the keys: this fetch's entities are unknown, and this
          // fetch is sent as planned from now on (its requests are not stored).
          shapes.delete(request);
          state.untagged = true;
          if (request.query) state.catalog?.refuse(subgraph, request.query);
          return;
        }
        // The subgraph refused the whole fetch (no data): a query is asked again as planned, so
        // the client gets exactly the answer the planner's own text gets.
        const refused = body.errors !== undefined && body.errors.length > 0 && (body.data === undefined || body.data === null);
        if (refused && state.operation !== 'mutation') return 'resend-as-planned';
        if (body.errors?.some(isReservedError)) {
          // A key the cache added failed: its error (and maybe a null in its place) must not reach the client.
          if (state.operation !== 'mutation') return 'resend-as-planned';
          body.errors = body.errors.filter((error) => !isReservedError(error));
          if (body.errors.length === 0) delete body.errors;
        }
        if (tagging(state)) tagResponse(body.data, shape, state.tags);
        return undefined;
      },
    },
    apollo: {
      async serverWillStart() {
        ctx.logger.info({ store: cache.kind, staleIfErrorSeconds: options.staleIfErrorSeconds }, 'response cache on');
        return {
          schemaDidLoadOrUpdate({ apiSchema, coreSupergraphSdl }) {
            inService = memoFor(apiSchema, coreSupergraphSdl);
            version = inService.version;
          },
          async serverWillStop() {
            await cache.close();
          },
        };
      },
      async requestDidStart({ contextValue }) {
        const state: RequestState = { startedAt: cache.now(), status: 'BYPASS' };
        states.set(contextValue, state);
        let memo: SchemaMemo | undefined;
        return {
          async responseForOperation(requestContext) {
            const { operation, document, schema, request, contextValue: context } = requestContext;
            const queryHash = requestContext.queryHash;
            if (!operation || !document || !queryHash || operation.operation === 'subscription') return null;
            memo = memoFor(schema);
            state.operation = operation.operation;
            state.catalog = memo.catalog;
            if (operation.operation === 'mutation') {
              if (options.invalidateOnMutation) state.tags = new Set();
              return null;
            }
            if (noCache(request.http?.headers.get('cache-control'), request.http?.headers.get('pragma'))) return null;

            const vary = varyOf((name) => request.http?.headers.get(name));
            const base = sha256(`${memo.version}\u0000${queryHash}\u0000${request.operationName ?? ''}\u0000${JSON.stringify(request.variables ?? {})}\u0000${vary}`);
            const identity = context.identity;
            state.keys = { public: `p:${base}`, ...(identity ? { private: `u:${sha256(`${base}\u0000${ownerOf(identity)}`)}` } : {}) };
            state.status = 'MISS';
            let found;
            try {
              found = await cache.lookup(state.keys.private ? [state.keys.private, state.keys.public] : [state.keys.public]);
            } catch (error) {
              storeFailed(error, context.logger, 'lookup');
              state.status = 'BYPASS';
              return null;
            }
            if (found) {
              const { entry, key } = found;
              // An entry is only ever served under the key of its own scope.
              if ((entry.scope === 'PRIVATE') === (key === state.keys.private)) {
                const ageSeconds = Math.max(0, Math.floor((Date.now() - entry.fetchedAt) / 1000));
                if (Date.now() - entry.fetchedAt < entry.maxAgeSeconds * 1000) {
                  state.hit = { entry, ageSeconds };
                  state.status = 'HIT';
                  return { http: { status: 200, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: entry.data } } };
                }
                state.stale = { entry, ageSeconds };
              }
            }
            // A miss: the fetches are read for the entities to tag the entry with.
            state.operationId = `${queryHash}\u0000${request.operationName ?? ''}`;
            if (memo.uncacheable.has(state.operationId)) {
              state.untagged = true;
              return null;
            }
            state.tags = new Set();
            state.types = typesFor(memo, schema, document, queryHash, request.operationName ?? undefined);
            return null;
          },

          async willSendResponse(requestContext) {
            const { response, contextValue: context } = requestContext;
            const headers = response.http.headers;
            if (response.body.kind !== 'single') return;
            const result = response.body.singleResult;
            const entryVersion = memo?.version ?? '';
            if (state.hit) {
              const { entry, ageSeconds } = state.hit;
              counters.hits += 1;
              requestContext.overallCachePolicy.replace({ maxAge: Math.max(0, entry.maxAgeSeconds - ageSeconds), scope: entry.scope });
              headers.set('age', String(ageSeconds));
              headers.set('x-cache', 'HIT');
              rememberAtEdge(context.headers, entry, requestContext.operationName ?? null, entryVersion);
              return;
            }
            const operation = requestContext.operation?.operation;
            if (operation !== 'query') {
              counters.bypasses += 1;
              headers.set('x-cache', 'BYPASS');
              requestContext.overallCachePolicy.replace({ maxAge: 0 });
              if (operation === 'mutation' && state.untagged && memo && requestContext.document) {
                // A fetch of it could not be read for its entities: purge every type it can return instead.
                await purge(typesFor(memo, requestContext.schema, requestContext.document, requestContext.queryHash ?? '', requestContext.operationName ?? undefined), context.logger);
              } else if (operation === 'mutation' && state.tags && state.tags.size > 0 && state.catalog) await purge(state.catalog.widen(state.tags), context.logger);
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
            if (memo && state.operationId !== undefined) {
              if (policy && policy.maxAge > 0) memo.uncacheable.delete(state.operationId);
              else if (memo.uncacheable.size < TYPES_LIMIT) memo.uncacheable.add(state.operationId);
            }
            if (state.status !== 'MISS' || !state.keys || !policy || policy.maxAge <= 0 || !result.data || state.untagged) return;
            const key = policy.scope === 'PRIVATE' ? state.keys.private : state.keys.public;
            // PRIVATE data of an anonymous caller has no owner to be cached for.
            if (!key) return;
            const entry: CachedEntry = {
              data: result.data,
              fetchedAt: state.startedAt,
              maxAgeSeconds: policy.maxAge,
              scope: policy.scope,
              tags: [...(state.types ?? []), ...(state.tags ?? [])],
            };
            try {
              await cache.save(key, entry, policy.maxAge * 1000 + graceMs);
              counters.stores += 1;
              // Not remembered at the edge yet: only an entry asked for again (a hit) is, so answers
              // asked for once (a new vary value, new variables) never fill the edge's memory.
            } catch (error) {
              storeFailed(error, context.logger, 'store');
            }
          },
        };
      },
    },
  };
}
