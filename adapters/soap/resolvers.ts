import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { createEntityLoader } from '../toolkit/batching.js';
import { identityValue, markCallerDependent, propagatedHeaders, type AdapterContext } from '../toolkit/context.js';
import { legacyError } from '../toolkit/errors.js';
import { TOOLKIT_SCALARS } from '../toolkit/scalars.js';
import type { SoapTarget } from './client.js';
import type { GeneratedOperation, GeneratedSoapSubgraph } from './generate.js';
import type { SoapMapping } from './mapping.js';

type Message = Record<string, unknown>;

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const escapeXml = (value: string) => value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

const asList = (value: unknown): unknown[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

/** Builds the resolvers of a generated SOAP subgraph. */
export function buildSoapResolvers(generated: GeneratedSoapSubgraph, mapping: SoapMapping, target: SoapTarget): GraphQLResolverMap<AdapterContext> {
  const { registry } = generated;
  const service = mapping.service;

  function request(op: GeneratedOperation, args: Message, extra: Message = {}): Message {
    if (op.inputArgument) return { ...(registry.toWire(args[op.inputArgument.name], op.inputArgument.shape) as Message), ...extra };
    const out: Message = {};
    for (const arg of op.args) {
      const value = args[arg.name];
      if (value !== undefined && value !== null) out[arg.element] = registry.toWire(value, arg.shape);
    }
    // Request elements in WSDL sequence order: the key first where the operation takes one.
    return { ...extra, ...out };
  }

  const callerElement = mapping.identity.soapHeader;
  /** The caller as a SOAP header element, where the mapping asks for one and someone signed in. */
  function callerHeader(ctx: AdapterContext): string | undefined {
    if (!callerElement || !ctx.identity) return undefined;
    const children = Object.entries(callerElement.fields)
      .map(([name, claim]) => {
        const value = identityValue(ctx, claim);
        return value === undefined ? '' : `<fd:${name}>${escapeXml(value)}</fd:${name}>`;
      })
      .join('');
    return `<fd:${callerElement.element} xmlns:fd="${escapeXml(callerElement.namespace)}">${children}</fd:${callerElement.element}>`;
  }

  /** Entity lookups and queries are idempotent; a mutation's call is sent once. */
  function send(name: string, message: Message, ctx: AdapterContext, faults?: GeneratedOperation['faults'], idempotent = true): Promise<Message> {
    const headers = propagatedHeaders(ctx, mapping.forwardHeaders, mapping.identity.headers, mapping.callerIndependent);
    const caller = callerHeader(ctx);
    if (caller !== undefined && !mapping.callerIndependent) markCallerDependent(ctx, `the caller was sent in the ${callerElement!.element} SOAP header`);
    return target.call(name, message, headers, ctx.logger, faults, caller, idempotent);
  }

  async function call(op: GeneratedOperation, message: Message, ctx: AdapterContext, idempotent: boolean): Promise<unknown> {
    const response = await send(op.name, message, ctx, op.faults, idempotent);
    return op.result ? response[op.result] : response;
  }

  const resolvers: GraphQLResolverMap<AdapterContext> = {};
  for (const scalar of generated.scalars) {
    const implementation = (TOOLKIT_SCALARS as Record<string, unknown>)[scalar];
    if (implementation) resolvers[scalar] = implementation as never;
  }
  const roots = { Query: {} as Message, Mutation: {} as Message };
  for (const root of generated.rootFields) {
    roots[root.kind === 'query' ? 'Query' : 'Mutation'][root.field] = async (_: unknown, args: Message, ctx: AdapterContext) =>
      registry.toGraphQL(await call(root.operation, request(root.operation, args), ctx, root.kind === 'query'), root.operation.responseShape, service);
  }
  if (Object.keys(roots.Query).length > 0) resolvers.Query = roots.Query as never;
  if (Object.keys(roots.Mutation).length > 0) resolvers.Mutation = roots.Mutation as never;

  for (const entity of generated.entities) {
    const fields: Message = {};
    const shape = { kind: 'ref', name: entity.typeName, nullable: false } as const;
    const notFound = (key: string) => legacyError(service, { kind: 'not-found', what: `${entity.typeName} "${key}"` });
    if (entity.owned) {
      const loaderFor = (ctx: AdapterContext) =>
        ctx.loaders.get(entity.typeName, () =>
          createEntityLoader<unknown>({
            maxBatchSize: mapping.target.maxBatchSize,
            concurrency: mapping.target.concurrency,
            notFound,
            batch: entity.batch
              ? async (keys) => {
                  const batch = entity.batch!;
                  const response = (await send(batch.operation.name, { [batch.keys]: [...keys] }, ctx)) as Message;
                  return new Map(asList(response[batch.result]).map((item) => [String((item as Message)[batch.resultKey]), item]));
                }
              : undefined,
            single: entity.single
              ? async (key) => {
                  const single = entity.single!;
                  const response = (await send(single.operation.name, { [single.key]: key }, ctx, single.operation.faults)) as Message;
                  const item = single.result ? response[single.result] : response;
                  if (item === undefined || item === null) throw notFound(key);
                  return item;
                }
              : undefined,
          }),
        );
      fields.__resolveReference = async (reference: Message, ctx: AdapterContext) =>
        registry.toGraphQL(await loaderFor(ctx).load(String(reference[entity.keyField])), shape, service);
    } else {
      fields.__resolveReference = (reference: Message) => reference;
    }
    for (const opField of entity.operationFields) {
      // Per request: identical calls run once, at most `concurrency` at a time.
      const callsFor = (ctx: AdapterContext) =>
        ctx.loaders.get(`${entity.typeName}.${opField.name}`, () =>
          createEntityLoader<unknown>({
            maxBatchSize: mapping.target.maxBatchSize,
            concurrency: mapping.target.concurrency,
            notFound: () => legacyError(service, { kind: 'not-found' }),
            single: (key) => call(opField.operation, JSON.parse(key) as Message, ctx, true),
          }),
        );
      fields[opField.name] = async (parent: Message, args: Message, ctx: AdapterContext) => {
        const message = request(opField.operation, args, { [opField.key]: parent[entity.keyField] });
        return registry.toGraphQL(await callsFor(ctx).load(JSON.stringify(message)), opField.operation.responseShape, service);
      };
    }
    resolvers[entity.typeName] = { ...(resolvers[entity.typeName] as object), ...fields } as never;
  }
  for (const reference of generated.references) {
    const existing = (resolvers[reference.typeName] ?? {}) as Message;
    resolvers[reference.typeName] = {
      ...existing,
      [reference.field]: (parent: Message) => {
        const key = parent[reference.from];
        return key === undefined || key === null || key instanceof Error ? null : { __typename: reference.entity, id: String(key) };
      },
    } as never;
  }
  return resolvers;
}
