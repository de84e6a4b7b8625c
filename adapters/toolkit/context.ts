import type { GraphQLResolveInfo } from 'graphql';
import { IDENTITY_HEADER, type SubgraphContext } from '../../subgraphs/shared/server.js';
import { RequestLoaders } from './batching.js';
import type { CacheHint, IdentityClaim } from './mapping.js';

/** Per-request state of an adapter subgraph. */
export interface AdapterContext extends SubgraphContext {
  loaders: RequestLoaders;
}

export function adapterContext(base: SubgraphContext): AdapterContext {
  return { ...base, loaders: new RequestLoaders() };
}

/** The value of one identity claim for a legacy service; undefined when the caller has none. */
export function identityValue(ctx: SubgraphContext, claim: IdentityClaim): string | undefined {
  const identity = ctx.identity;
  if (!identity) return undefined;
  switch (claim) {
    case 'roles':
    case 'scopes':
      return identity[claim].join(' ');
    case 'token': {
      const token = ctx.headers[IDENTITY_HEADER];
      return typeof token === 'string' ? token : undefined;
    }
    default:
      return identity[claim];
  }
}

/**
 * Requests whose answer depends on who asked: a legacy call carried the caller's identity, or a
 * legacy answer said `Vary`. Their subgraph response is PRIVATE (see startSubgraph's
 * privateWhen), so the gateway never shares it between callers.
 */
const callerDependent = new WeakMap<object, string>();

/** Marks a request's answer as depending on the caller (`reason` for the log). */
export function markCallerDependent(ctx: SubgraphContext, reason: string): void {
  if (!callerDependent.has(ctx)) callerDependent.set(ctx, reason);
}

/** Why a request's answer depends on the caller, or undefined when it does not. */
export function callerDependence(ctx: object): string | undefined {
  return callerDependent.get(ctx);
}

/** Whether a legacy `Vary` header makes an answer depend on request headers (content coding aside). */
export function variesByRequest(vary: string | undefined): boolean {
  if (!vary) return false;
  return vary.split(',').some((name) => {
    const header = name.trim().toLowerCase();
    return header !== '' && header !== 'accept-encoding';
  });
}

/**
 * Headers (HTTP, or gRPC metadata) every legacy call carries: the request id, the client headers
 * the mapping forwards, and the caller's identity where the mapping says how. An identity header
 * only ever carries the verified identity: a client header of that name is dropped.
 */
export function propagatedHeaders(
  ctx: SubgraphContext,
  forward: readonly string[],
  identity: Readonly<Record<string, IdentityClaim>> = {},
  /** The mapping's callerIndependent: the service answers the same whoever it is told is calling. */
  callerIndependent = false,
): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': ctx.requestId };
  for (const name of forward) {
    if (name in identity) continue;
    const value = ctx.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  for (const [name, claim] of Object.entries(identity)) {
    const value = identityValue(ctx, claim);
    if (value === undefined) continue;
    headers[name] = value;
    if (!callerIndependent) markCallerDependent(ctx, `the caller's ${claim} was sent in ${name}`);
  }
  return headers;
}

export function setCacheHint(info: GraphQLResolveInfo | undefined, hint: CacheHint | undefined): void {
  if (!hint || !info) return;
  (info as { cacheControl?: { setCacheHint(hint: CacheHint): void } }).cacheControl?.setCacheHint(hint);
}
