import { projectPath } from '../shared/paths.js';
import type { IdentityVerifierOptions } from '../../gateway/src/plugins/auth/index.js';
import { readPermissionsFile } from '../shared/permissions.js';
import type { TracingOptions } from '../../gateway/src/core/tracing.js';
import { readSchema, startSubgraph, type RunningSubgraph } from '../shared/server.js';
import { ReviewStore } from './data.js';
import { resolvers, reviewsContext } from './resolvers.js';

export const REVIEWS_SCHEMA = projectPath('subgraphs', 'reviews', 'schema.graphql');
export const REVIEWS_PERMISSIONS = projectPath('subgraphs', 'reviews', 'permissions.yaml');

export function startReviews(
  options: { port?: number; host?: string; logLevel?: string; store?: ReviewStore; identity?: IdentityVerifierOptions; tracing?: TracingOptions | false } = {},
): Promise<RunningSubgraph> {
  const { store = new ReviewStore(), ...rest } = options;
  return startSubgraph({ name: 'reviews', sdl: readSchema(REVIEWS_SCHEMA), resolvers, permissions: { rules: readPermissionsFile(REVIEWS_PERMISSIONS), source: REVIEWS_PERMISSIONS }, context: reviewsContext(store), ...rest });
}
