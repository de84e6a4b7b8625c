import { projectPath } from '../shared/paths.js';
import { readSchema, startSubgraph, type RunningSubgraph } from '../shared/server.js';
import { accountsContext, resolvers } from './resolvers.js';

export const ACCOUNTS_SCHEMA = projectPath('subgraphs', 'accounts', 'schema.graphql');

export function startAccounts(options: { port?: number; host?: string; logLevel?: string } = {}): Promise<RunningSubgraph> {
  return startSubgraph({ name: 'accounts', sdl: readSchema(ACCOUNTS_SCHEMA), resolvers, context: accountsContext, ...options });
}
