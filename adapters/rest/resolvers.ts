import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { GraphQLResolveInfo } from 'graphql';
import { createEntityLoader } from '../toolkit/batching.js';
import { markCallerDependent, propagatedHeaders, setCacheHint, variesByRequest, type AdapterContext } from '../toolkit/context.js';
import { legacyError } from '../toolkit/errors.js';
import type { HttpTarget } from '../toolkit/http-client.js';
import { hintFromCacheControl, interpolateHeaders, type CacheHint } from '../toolkit/mapping.js';
import { TOOLKIT_SCALARS } from '../toolkit/scalars.js';
import type { Shape } from '../toolkit/shape.js';
import type { EntityLookup, GeneratedOperation, GeneratedRestSubgraph } from './generate.js';
import type { RestMapping } from './mapping.js';

function namedType(shape: Shape): string | undefined {
  return shape.kind === 'list' ? namedType(shape.of) : shape.kind === 'ref' || shape.kind === 'enum' ? shape.name : undefined;
}

interface Called {
  value: unknown;
  hint?: CacheHint;
}

function unwrap(value: unknown, path: string[], service: string): unknown {
  let current = value;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      throw legacyError(service, { kind: 'bad-response', reason: `expected an object with "${segment}"` });
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Builds the resolvers of a generated REST subgraph: one legacy call per root field, batched entities. */
export function buildRestResolvers(
  generated: GeneratedRestSubgraph,
  mapping: RestMapping,
  target: HttpTarget,
  env: NodeJS.ProcessEnv,
): GraphQLResolverMap<AdapterContext> {
  const { registry } = generated;
  const service = mapping.service;
  const operationHeaders = new Map(generated.operations.map((op) => [op.operationId, interpolateHeaders(op.headers, env)]));

  async function call(op: GeneratedOperation, args: Record<string, unknown>, ctx: AdapterContext): Promise<Called> {
    const headers = { ...propagatedHeaders(ctx, mapping.forwardHeaders, mapping.identity.headers, mapping.callerIndependent), ...operationHeaders.get(op.operationId) };
    const query: string[] = [];
    const pair = (name: string, value: string): void => void query.push(`${encodeURIComponent(name)}=${value}`);
    let path = op.pathTemplate;
    for (const param of op.parameters) {
      const raw = args[param.arg];
      if (raw === undefined || raw === null) continue;
      const value = registry.toWire(raw, param.shape);
      if (param.in === 'path') path = path.replace(`{${param.wire}}`, encodeURIComponent(String(value)));
      else if (param.in === 'header') headers[param.wire.toLowerCase()] = Array.isArray(value) ? value.join(',') : String(value);
      else if (Array.isArray(value)) {
        // form style: explode repeats the name; otherwise one value with literal commas (RFC 6570).
        if (param.explode) for (const item of value) pair(param.wire, encodeURIComponent(String(item)));
        else pair(param.wire, value.map((item) => encodeURIComponent(String(item))).join(','));
      } else pair(param.wire, encodeURIComponent(typeof value === 'object' ? JSON.stringify(value) : String(value)));
    }
    const search = query.join('&');
    const body = op.body ? registry.toWire(args[op.body.arg], op.body.shape) : undefined;
    const response = await target.call({
      method: op.method,
      path: search ? `${path}?${search}` : path,
      headers,
      body,
      // A query's call may be sent again (a retry); a mutation's only when it never left.
      idempotent: op.kind === 'query',
      operation: op.operationId,
      ...(op.body?.encoding === 'form' ? { form: true } : {}),
      logger: ctx.logger,
    });
    if (!mapping.callerIndependent && variesByRequest(response.vary)) markCallerDependent(ctx, `${service} answered Vary: ${response.vary}`);
    return { value: response.body, hint: hintFromCacheControl(response.cacheControl) };
  }

  function rootResolver(op: GeneratedOperation) {
    const returned = op.result ? namedType(op.result.shape) : undefined;
    const pathParam = op.parameters.find((p) => p.in === 'path');
    return async (_: unknown, args: Record<string, unknown>, ctx: AdapterContext, info: GraphQLResolveInfo) => {
      let called: Called;
      try {
        called = await call(op, args, ctx);
      } catch (error) {
        // A 404 names what was not found: `Product "p999" not found`.
        if ((error as { extensions?: { code?: string } }).extensions?.code === 'NOT_FOUND' && returned) {
          const key = pathParam ? args[pathParam.arg] : undefined;
          throw legacyError(service, { kind: 'not-found', what: key === undefined ? returned : `${returned} "${String(key)}"` });
        }
        throw error;
      }
      if (!op.hinted) setCacheHint(info, called.hint);
      if (!op.result) return true;
      const value = unwrap(called.value, op.result.unwrap, service);
      return registry.toGraphQL(value, { ...op.result.shape, nullable: true }, service);
    };
  }

  const resolvers: GraphQLResolverMap<AdapterContext> = {};
  for (const scalar of generated.scalars) {
    const implementation = (TOOLKIT_SCALARS as Record<string, unknown>)[scalar];
    if (implementation) resolvers[scalar] = implementation as never;
  }
  const query: Record<string, unknown> = {};
  const mutation: Record<string, unknown> = {};
  for (const op of generated.operations) {
    if (op.field === '') continue;
    (op.kind === 'query' ? query : mutation)[op.field] = rootResolver(op);
  }
  if (Object.keys(query).length > 0) resolvers.Query = query as never;
  if (Object.keys(mutation).length > 0) resolvers.Mutation = mutation as never;

  for (const entity of generated.entities) {
    const { typeName, keyWire, keyField } = entity;
    const entityShape = { kind: 'ref', name: typeName, nullable: false } as const;
    const notFound = (key: string) => legacyError(service, { kind: 'not-found', what: `${typeName} "${key}"` });
    const fetchWith = async (lookup: EntityLookup, argument: unknown, ctx: AdapterContext): Promise<Called> => {
      const called = await call(lookup.operation, { [lookup.parameter.arg]: argument }, ctx);
      return { value: unwrap(called.value, lookup.unwrap, service), hint: called.hint };
    };
    const createLoader = (ctx: AdapterContext) =>
      createEntityLoader<Called>({
        maxBatchSize: mapping.target.maxBatchSize,
        concurrency: mapping.target.concurrency,
        notFound,
        batch: entity.batch
          ? async (keys) => {
              const called = await fetchWith(entity.batch!, [...keys], ctx);
              if (!Array.isArray(called.value)) throw legacyError(service, { kind: 'bad-response', reason: `expected a list of ${typeName}` });
              const found = new Map<string, Called>();
              for (const item of called.value) {
                const key = (item as Record<string, unknown> | null)?.[keyWire];
                if (key !== undefined && key !== null) found.set(String(key), { value: registry.toGraphQL(item, entityShape, service), hint: called.hint });
              }
              return found;
            }
          : undefined,
        single: entity.single
          ? async (key) => {
              const called = await fetchWith(entity.single!, key, ctx);
              if (called.value === null || called.value === undefined) throw notFound(key);
              return { value: registry.toGraphQL(called.value, entityShape, service), hint: called.hint };
            }
          : undefined,
      });
    const existing = (resolvers[typeName] ?? {}) as Record<string, unknown>;
    resolvers[typeName] = {
      ...existing,
      __resolveReference: async (reference: Record<string, unknown>, ctx: AdapterContext, info: GraphQLResolveInfo) => {
        const key = String(reference[keyField]);
        const loaded = await ctx.loaders.get(typeName, () => createLoader(ctx)).load(key);
        if (!entity.hinted) setCacheHint(info, loaded.hint);
        if (loaded.value instanceof Error) throw loaded.value;
        return loaded.value;
      },
    } as never;
  }
  return resolvers;
}
