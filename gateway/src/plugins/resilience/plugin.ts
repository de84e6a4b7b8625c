import { normalizeSubgraphName } from '../../core/config.js';
import type { FrontdeskPlugin, PluginContext } from '../../core/plugin.js';
import { DEFAULT_RETRY, type ResilienceOptions, type RetryPolicy } from './options.js';
import { RetryBudget, withRetries } from './retry.js';

/**
 * Policies around each subgraph fetch, `all` merged with the subgraph's own: retries of queries
 * (never mutations) on connection errors and 429/502/503/504, with backoff, Retry-After and a
 * retry budget per subgraph.
 */
export function createResiliencePlugin(options: ResilienceOptions, ctx: PluginContext): FrontdeskPlugin {
  const policies = new Map<string, RetryPolicy>();
  const budgets = new Map<string, RetryBudget>();
  const policyOf = (subgraph: string): RetryPolicy => {
    let policy = policies.get(subgraph);
    if (!policy) {
      const own = Object.entries(options.subgraphs).find(([name]) => normalizeSubgraphName(name) === normalizeSubgraphName(subgraph))?.[1];
      policy = { ...DEFAULT_RETRY, ...options.all.retry, ...own?.retry };
      policies.set(subgraph, policy);
    }
    return policy;
  };
  const budgetOf = (subgraph: string): RetryBudget => {
    let budget = budgets.get(subgraph);
    if (!budget) budgets.set(subgraph, (budget = new RetryBudget(options.retryBudget.percent, options.retryBudget.minPerSecond)));
    return budget;
  };
  return {
    name: 'resilience',
    subgraph: {
      wrapFetch(send, fetch) {
        const policy = policyOf(fetch.subgraph);
        if (!fetch.query || policy.maxRetries === 0) return send();
        return withRetries(send, policy, budgetOf(fetch.subgraph), (attempt, why) =>
          ctx.logger.warn({ subgraph: fetch.subgraph, attempt, why }, 'subgraph fetch failed: retrying'),
        );
      },
    },
  };
}
