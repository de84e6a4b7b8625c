import { projectPath } from '../shared/paths.js';
import { startSubgraph, type RunningSubgraph } from '../shared/server.js';
import { ReviewStore } from './data.js';
import { resolvers, reviewsContext } from './resolvers.js';

export const REVIEWS_SCHEMA = projectPath('subgraphs', 'reviews', 'schema.graphql');

export function startReviews(
  options: { port?: number; host?: string; logLevel?: string; store?: ReviewStore } = {},
): Promise<RunningSubgraph> {
  const { store = new ReviewStore(), ...rest } = options;
  return startSubgraph({ name: 'reviews', schemaPath: REVIEWS_SCHEMA, resolvers, context: reviewsContext(store), ...rest });
}
