import type { GraphQLResolveInfo } from 'graphql';
import type { SubgraphContext } from '../../subgraphs/shared/server.js';
import { RequestLoaders } from './batching.js';
import type { CacheHint } from './mapping.js';

/** Per-request state of an adapter subgraph. */
export interface AdapterContext extends SubgraphContext {
  loaders: RequestLoaders;
}

export function adapterContext(base: SubgraphContext): AdapterContext {
  return { ...base, loaders: new RequestLoaders() };
}

/** Headers every legacy call carries: the request id and the client headers the mapping forwards. */
export function propagatedHeaders(ctx: SubgraphContext, forward: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': ctx.requestId };
  for (const name of forward) {
    const value = ctx.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export function setCacheHint(info: GraphQLResolveInfo | undefined, hint: CacheHint | undefined): void {
  if (!hint || !info) return;
  (info as { cacheControl?: { setCacheHint(hint: CacheHint): void } }).cacheControl?.setCacheHint(hint);
}
