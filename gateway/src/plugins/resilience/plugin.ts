import { BrokenCircuitError, bulkhead, BulkheadRejectedError, CircuitState, circuitBreaker, handleAll, SamplingBreaker, type BulkheadPolicy as Bulkhead, type CircuitBreakerPolicy } from 'cockatiel';
import type { Identity } from '../../core/context.js';
import { normalizeSubgraphName } from '../../core/config.js';
import { EdgeRefusal, type AdminRoute, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { FetchRefused, type SubgraphReply } from '../../core/subgraph-transport.js';
import { DEFAULT_BREAKER, DEFAULT_BULKHEAD, DEFAULT_RETRY, type BreakerPolicy, type BulkheadPolicy, type ResilienceOptions, type RetryPolicy } from './options.js';
import { RetryBudget, withRetries } from './retry.js';

/** A 5xx answer, thrown inside the breaker so that it counts as a failure, and unwrapped after. */
class FailedAnswer extends Error {
  constructor(readonly reply: SubgraphReply) {
    super(`HTTP ${reply.status}`);
  }
}

const STATES: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

interface Guard {
  bulkhead: Bulkhead;
  limits: BulkheadPolicy;
  retry: RetryPolicy;
  budget: RetryBudget;
  breaker?: CircuitBreakerPolicy;
}

/**
 * Policies around each subgraph fetch, `all` merged with the subgraph's own:
 * - a circuit breaker per subgraph (cockatiel's SamplingBreaker: a failure rate over a rolling
 *   window with a minimum volume; open, no fetch is sent and the subgraph's fields are null with
 *   CIRCUIT_OPEN; after halfOpenAfterMs one probe decides);
 * - retries of queries (never mutations) on connection errors and 429/502/503/504, each attempt
 *   through the breaker, with backoff, Retry-After and a retry budget per subgraph.
 * `GET /admin/resilience` (role admin) shows every breaker's state.
 */
export function createResiliencePlugin(options: ResilienceOptions, ctx: PluginContext): FrontdeskPlugin {
  const guards = new Map<string, Guard>();
  const guardOf = (subgraph: string): Guard => {
    let guard = guards.get(subgraph);
    if (guard) return guard;
    const own = Object.entries(options.subgraphs).find(([name]) => normalizeSubgraphName(name) === normalizeSubgraphName(subgraph))?.[1];
    const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.all.retry, ...own?.retry };
    const policy: BreakerPolicy = { ...DEFAULT_BREAKER, ...options.all.circuitBreaker, ...own?.circuitBreaker };
    let breaker: CircuitBreakerPolicy | undefined;
    if (policy.enabled) {
      breaker = circuitBreaker(handleAll, {
        halfOpenAfter: policy.halfOpenAfterMs,
        breaker: new SamplingBreaker({ threshold: policy.failureRatePercent / 100, duration: policy.windowMs, minimumRps: policy.minimumPerSecond }),
      });
      breaker.onStateChange((state) => {
        const log = state === CircuitState.Open ? ctx.logger.error.bind(ctx.logger) : ctx.logger.warn.bind(ctx.logger);
        log({ subgraph, state: STATES[state] }, `circuit breaker of subgraph ${subgraph} is ${STATES[state]}`);
      });
    }
    const limits: BulkheadPolicy = { ...DEFAULT_BULKHEAD, ...options.all.bulkhead, ...own?.bulkhead };
    guard = { bulkhead: bulkhead(limits.maxConcurrent, limits.maxQueued), limits, retry, budget: new RetryBudget(options.retryBudget.percent, options.retryBudget.minPerSecond), ...(breaker ? { breaker } : {}) };
    guards.set(subgraph, guard);
    return guard;
  };
  /** One attempt through the breaker: a 5xx answer counts as a failure but reaches the caller as the answer it is. */
  const attempt = async (send: () => Promise<SubgraphReply>, subgraph: string, breaker: CircuitBreakerPolicy): Promise<SubgraphReply> => {
    try {
      return await breaker.execute(async () => {
        const reply = await send();
        if (reply.status >= 500) throw new FailedAnswer(reply);
        return reply;
      });
    } catch (error) {
      if (error instanceof FailedAnswer) return error.reply;
      if (error instanceof BrokenCircuitError) throw new FetchRefused('CIRCUIT_OPEN', `Subgraph "${subgraph}" is unavailable (circuit open)`);
      throw error;
    }
  };
  const adminAllowed = (identity: Identity | undefined): void => {
    if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'The resilience admin route needs credentials', { 'www-authenticate': 'Bearer' });
    if (!identity.roles.includes('admin')) throw new EdgeRefusal('FORBIDDEN', 'The resilience admin route needs role admin');
  };
  const adminRoutes: Record<string, AdminRoute> = {
    '/admin/resilience': {
      methods: ['GET'],
      async handle({ identity }) {
        adminAllowed(identity);
        const subgraphs = Object.fromEntries(
          [...guards].map(([name, guard]) => [
            name,
            { circuit: guard.breaker ? STATES[guard.breaker.state] : 'off', inFlight: guard.limits.maxConcurrent - guard.bulkhead.executionSlots, queued: guard.limits.maxQueued - guard.bulkhead.queueSlots, retry: guard.retry },
          ]),
        );
        return { body: { subgraphs } };
      },
    },
  };
  return {
    name: 'resilience',
    adminRoutes,
    subgraph: {
      async wrapFetch(send, fetch) {
        const guard = guardOf(fetch.subgraph);
        const once = guard.breaker ? () => attempt(send, fetch.subgraph, guard.breaker!) : send;
        const guarded =
          !fetch.query || guard.retry.maxRetries === 0
            ? once
            : () => withRetries(once, guard.retry, guard.budget, (n, why) => ctx.logger.warn({ subgraph: fetch.subgraph, attempt: n, why }, 'subgraph fetch failed: retrying'));
        try {
          return await guard.bulkhead.execute(guarded);
        } catch (error) {
          if (!(error instanceof BulkheadRejectedError)) throw error;
          ctx.logger.warn({ subgraph: fetch.subgraph, ...guard.limits }, 'subgraph bulkhead full: fetch shed');
          throw new FetchRefused('UPSTREAM_UNAVAILABLE', `Subgraph "${fetch.subgraph}" is overloaded: too many fetches in flight`);
        }
      },
    },
  };
}
