import { projectPath } from '../shared/paths.js';
import type { IdentityVerifierOptions } from '../../gateway/src/plugins/auth/index.js';
import { readPermissionsFile } from '../shared/permissions.js';
import type { TracingOptions } from '../../gateway/src/core/tracing.js';
import { readSchema, startSubgraph, type RunningSubgraph } from '../shared/server.js';
import { accountsContext, resolvers } from './resolvers.js';

export const ACCOUNTS_SCHEMA = projectPath('subgraphs', 'accounts', 'schema.graphql');
export const ACCOUNTS_PERMISSIONS = projectPath('subgraphs', 'accounts', 'permissions.yaml');

export function startAccounts(options: { port?: number; host?: string; logLevel?: string; identity?: IdentityVerifierOptions; tracing?: TracingOptions | false } = {}): Promise<RunningSubgraph> {
  return startSubgraph({ name: 'accounts', sdl: readSchema(ACCOUNTS_SCHEMA), resolvers, permissions: { rules: readPermissionsFile(ACCOUNTS_PERMISSIONS), source: ACCOUNTS_PERMISSIONS }, context: accountsContext, ...options });
}
