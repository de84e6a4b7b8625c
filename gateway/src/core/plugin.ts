import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayContext } from './context.js';
import type { Logger } from './logger.js';

/** What a plugin is given when it is created: shared services, never the environment. */
export interface PluginContext {
  logger: Logger;
  production: boolean;
}

/** The subgraph request the core's data source is about to send (see DESIGN.md). */
export type SubgraphRequestOptions = GraphQLDataSourceProcessOptions<GatewayContext> & { subgraph: string };

/** Hooks around each subgraph fetch, called by the core data source in registration order. */
export interface SubgraphHooks {
  willSendSubgraphRequest?(options: SubgraphRequestOptions): void | Promise<void>;
}

/** One gateway feature: Apollo Server hooks and/or subgraph fetch hooks. */
export interface FrontdeskPlugin {
  name: string;
  apollo?: ApolloServerPlugin<GatewayContext>;
  subgraph?: SubgraphHooks;
}
