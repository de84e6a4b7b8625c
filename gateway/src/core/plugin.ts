import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext, Identity } from './context.js';
import type { ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import type { LoadedSupergraph } from './supergraph.js';
import type { SharedRedis } from './redis.js';

/** What a plugin is given when it is created: shared services, never the environment. */
export interface PluginContext {
  logger: Logger;
  production: boolean;
  /** The supergraph in service (changes on hot reload). */
  supergraph(): LoadedSupergraph;
  /** The shared Redis connection (`redis.url`), connected on first use; undefined without a URL. */
  redis?: SharedRedis;
}

/** The subgraph request the core's data source is about to send (see DESIGN.md). */
export type SubgraphRequestOptions = GraphQLDataSourceProcessOptions<GatewayContext> & { subgraph: string };

/** Hooks around each subgraph fetch, called by the core data source in registration order. */
export interface SubgraphHooks {
  willSendSubgraphRequest?(options: SubgraphRequestOptions): void | Promise<void>;
}

/** Refuses a request at the edge with a code from the error list (and its HTTP status). */
export class EdgeRefusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** One gateway feature: Apollo Server hooks, subgraph fetch hooks, edge hooks. */
export interface FrontdeskPlugin {
  name: string;
  apollo?: ApolloServerPlugin<GatewayContext>;
  subgraph?: SubgraphHooks;
  /**
   * Verifies the caller before any GraphQL work: an identity, undefined for anonymous, or an
   * EdgeRefusal (401 for a present but invalid credential). At most one plugin authenticates.
   */
  authenticate?(req: IncomingMessage): Promise<Identity | undefined>;
  /** Extra GET routes served by the edge (e.g. /.well-known/jwks.json). */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}
