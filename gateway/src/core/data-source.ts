import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GraphQLError } from 'graphql';
import type { GatewayContext } from './context.js';
import { frontdeskError } from './errors.js';
import type { Logger } from './logger.js';
import type { SubgraphHooks } from './plugin.js';

type DidReceiveResponse = NonNullable<RemoteGraphQLDataSource<GatewayContext>['didReceiveResponse']>;

interface FetchResponseLike {
  status: number;
}

/**
 * The one data source class for every subgraph. It knows no feature by name: it forwards the
 * request id, runs the plugins' subgraph hooks in order, and turns transport failures into coded
 * errors that name the subgraph but never its host, status line or body.
 */
export class FrontdeskDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    readonly subgraph: string,
    url: string,
    private readonly hooks: readonly SubgraphHooks[],
    private readonly logger: Logger,
    private readonly propagate: readonly string[] = [],
  ) {
    super({ url });
  }

  override async willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const headers = options.request.http?.headers;
    const context = 'context' in options ? options.context : undefined;
    if (headers && context?.requestId) {
      headers.set('x-request-id', context.requestId);
      for (const name of this.propagate) {
        const value = context.headers[name];
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
    }
    for (const hook of this.hooks) {
      await hook.willSendSubgraphRequest?.({ ...options, subgraph: this.subgraph });
    }
  }

  override didReceiveResponse({ response, context }: Parameters<DidReceiveResponse>[0]): ReturnType<DidReceiveResponse> {
    const headers = response.http?.headers;
    if (headers && context) {
      for (const hook of this.hooks) hook.didReceiveSubgraphResponse?.({ subgraph: this.subgraph, context, headers });
    }
    return response;
  }

  override didEncounterError(
    error: Error,
    _fetchRequest: unknown,
    fetchResponse?: FetchResponseLike,
    context?: GatewayContext,
  ): void {
    const mapped = this.classify(error, fetchResponse);
    (context?.logger ?? this.logger).warn(
      { subgraph: this.subgraph, status: fetchResponse?.status, code: mapped.extensions.code, err: error },
      'subgraph request failed',
    );
    throw mapped;
  }

  private classify(error: Error, response?: FetchResponseLike): GraphQLError {
    const name = this.subgraph;
    if (!response) {
      const code = (error as { code?: string }).code ?? (error as { errno?: string }).errno;
      if (code === 'ETIMEDOUT' || error.name === 'AbortError' || error.name === 'TimeoutError') {
        return frontdeskError('UPSTREAM_TIMEOUT', `Subgraph "${name}" did not answer in time`, { subgraph: name });
      }
      return frontdeskError('UPSTREAM_UNAVAILABLE', `Subgraph "${name}" is unavailable`, { subgraph: name });
    }
    const status = response.status;
    if (status === 401) return frontdeskError('UNAUTHENTICATED', `Subgraph "${name}" refused the credentials`, { subgraph: name });
    if (status === 403) return frontdeskError('FORBIDDEN', `Subgraph "${name}" refused access`, { subgraph: name });
    if (status === 502 || status === 503 || status === 504) {
      return frontdeskError('UPSTREAM_UNAVAILABLE', `Subgraph "${name}" is unavailable (HTTP ${status})`, { subgraph: name });
    }
    if (status >= 200 && status < 300) {
      return frontdeskError('BAD_UPSTREAM_RESPONSE', `Subgraph "${name}" sent a response that is not GraphQL JSON`, { subgraph: name });
    }
    return frontdeskError('UPSTREAM_ERROR', `Subgraph "${name}" failed (HTTP ${status})`, { subgraph: name });
  }
}
