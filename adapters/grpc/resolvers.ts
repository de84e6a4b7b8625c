import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { createEntityLoader } from '../toolkit/batching.js';
import { propagatedHeaders, type AdapterContext } from '../toolkit/context.js';
import { legacyError } from '../toolkit/errors.js';
import { TOOLKIT_SCALARS } from '../toolkit/scalars.js';
import type { Shape } from '../toolkit/shape.js';
import type { GrpcTarget } from './client.js';
import type { GeneratedArgument, GeneratedGrpcSubgraph, GeneratedMethod } from './generate.js';
import type { GrpcMapping } from './mapping.js';

type Message = Record<string, unknown>;

/** Builds the resolvers of a generated gRPC subgraph. */
export function buildGrpcResolvers(generated: GeneratedGrpcSubgraph, mapping: GrpcMapping, target: GrpcTarget): GraphQLResolverMap<AdapterContext> {
  const { registry } = generated;
  const service = mapping.service;
  const convert = (value: unknown, shape: Shape): unknown => registry.toGraphQL(value, shape, service);

  function request(args: Record<string, unknown>, list: GeneratedArgument[], extra: Message = {}): Message {
    const out: Message = { ...extra };
    for (const arg of list) {
      const value = args[arg.name];
      if (value !== undefined && value !== null) out[arg.field] = registry.toWire(value, arg.shape);
    }
    return out;
  }

  /** Entity lookups and queries are idempotent (retried); a mutation's call is sent once. */
  async function call(method: GeneratedMethod, message: Message, ctx: AdapterContext, idempotent = true): Promise<Message | Message[]> {
    const headers = propagatedHeaders(ctx, mapping.forwardHeaders, mapping.identity.metadata, mapping.callerIndependent);
    return method.serverStream ? target.stream(method, message, headers, ctx.logger, idempotent) : target.unary(method, message, headers, ctx.logger, idempotent);
  }

  const resolvers: GraphQLResolverMap<AdapterContext> = {};
  for (const scalar of generated.scalars) {
    const implementation = (TOOLKIT_SCALARS as Record<string, unknown>)[scalar];
    if (implementation) resolvers[scalar] = implementation as never;
  }
  const roots = { Query: {} as Record<string, unknown>, Mutation: {} as Record<string, unknown> };
  for (const root of generated.rootFields) {
    roots[root.kind === 'query' ? 'Query' : 'Mutation'][root.field] = async (_: unknown, args: Message, ctx: AdapterContext) => {
      const response = await call(root.method, request(args, root.args), ctx, root.kind === 'query');
      const pick = (message: Message) => (root.resultField ? message[root.resultField] : message);
      const value = Array.isArray(response) ? response.map(pick) : pick(response);
      return convert(value, root.shape);
    };
  }
  if (Object.keys(roots.Query).length > 0) resolvers.Query = roots.Query as never;
  if (Object.keys(roots.Mutation).length > 0) resolvers.Mutation = roots.Mutation as never;

  for (const entity of generated.entities) {
    const notFound = (key: string) => legacyError(service, { kind: 'not-found', what: `${entity.typeName} "${key}"` });
    const loaderFor = (ctx: AdapterContext) =>
      ctx.loaders.get(entity.typeName, () =>
        createEntityLoader<Message>({
          maxBatchSize: mapping.target.maxBatchSize,
          concurrency: mapping.target.concurrency,
          notFound,
          batch: entity.batch
            ? async (keys) => {
                const batch = entity.batch!;
                const response = (await call(batch.method, { [batch.keys]: [...keys] }, ctx)) as Message;
                const items = response[batch.result];
                if (!Array.isArray(items)) throw legacyError(service, { kind: 'bad-response', reason: `expected a list in ${batch.result}` });
                return new Map((items as Message[]).map((item) => [String(item[batch.resultKey]), item]));
              }
            : undefined,
          single: entity.single ? async (key) => (await call(entity.single!.method, { [entity.single!.key]: key }, ctx)) as Message : undefined,
        }),
      );

    const fields: Record<string, unknown> = {};
    if (entity.owned) {
      const shape = { kind: 'ref', name: entity.typeName, nullable: false } as const;
      fields.__resolveReference = async (reference: Message, ctx: AdapterContext) => {
        const item = await loaderFor(ctx).load(String(reference[entity.keyField]));
        return { ...(convert(item, shape) as Message), ...reference };
      };
    } else {
      // Extended entity: keep the reference (key and @requires fields); look up only when a
      // mapped field is selected, so a fetch that wants only a method field costs no batch call.
      fields.__resolveReference = (reference: Message) => reference;
      for (const field of entity.fields) {
        fields[field.name] = async (parent: Message, _: unknown, ctx: AdapterContext) => {
          const item = await loaderFor(ctx).load(String(parent[entity.keyField]));
          return convert(item[field.field], field.shape);
        };
      }
    }
    for (const methodField of entity.methodFields) {
      // Per request: identical calls (same request message) run once, at most `concurrency` at a time.
      const callsFor = (ctx: AdapterContext) =>
        ctx.loaders.get(`${entity.typeName}.${methodField.name}`, () =>
          createEntityLoader<Message | Message[]>({
            maxBatchSize: mapping.target.maxBatchSize,
            concurrency: mapping.target.concurrency,
            notFound: () => legacyError(service, { kind: 'not-found' }),
            single: (key) => call(methodField.method, JSON.parse(key) as Message, ctx),
          }),
        );
      fields[methodField.name] = async (parent: Message, args: Message, ctx: AdapterContext) => {
        const extra: Message = {};
        for (const required of methodField.requires) {
          const value = parent[required.name];
          if (value === undefined) throw legacyError(service, { kind: 'bad-response', reason: `the gateway did not provide ${required.name}` });
          extra[required.into] = value;
        }
        if (methodField.keyInto) extra[methodField.keyInto] = parent[entity.keyField];
        const response = await callsFor(ctx).load(JSON.stringify(request(args, methodField.args, extra)));
        return convert(response, methodField.shape);
      };
    }
    resolvers[entity.typeName] = { ...(resolvers[entity.typeName] as object), ...fields } as never;
  }
  return resolvers;
}
