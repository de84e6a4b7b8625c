import { request } from 'undici';
import { bulkhead, BulkheadRejectedError, type BulkheadPolicy as Bulkhead } from 'cockatiel';
import type { Identity } from '../../core/context.js';
import { normalizeSubgraphName } from '../../core/config.js';
import { EdgeRefusal, type AdminRoute, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { FetchRefused, ResponseTooLarge, type SubgraphReply } from '../../core/subgraph-transport.js';
import { resolvePolicy, type ResilienceOptions, type ResolvedPolicy } from './options.js';
import { InstancePool, NoInstanceAvailable, type Instance } from './pool.js';
import { RetryBudget, withRetries } from './retry.js';

interface Guard {
  bulkhead: Bulkhead;
  policy: ResolvedPolicy;
  budget: RetryBudget;
  pool: InstancePool;
}

/** GET `path` on the instance's origin: up when it answers below 500 within the timeout. */
export function httpProbe(path: string, timeoutMs: number): (url: string) => Promise<boolean> {
  return async (url) => {
    const response = await request(new URL(path, url), { method: 'GET', signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await response.body.dump();
    return response.statusCode < 500;
  };
}

/** An instance failed when it answered 5xx, or could not be reached or answer in time (a too large answer is the query's fault). */
export const replyFailed = (reply: SubgraphReply): boolean => reply.status >= 500;
export const errorFailed = (error: unknown): boolean => !(error instanceof ResponseTooLarge);

/**
 * Policies around each subgraph fetch, `all` merged with the subgraph's own:
 * - load balancing over the subgraph's instances (power of two choices on outstanding fetches),
 *   a circuit breaker per instance (open: nothing sent; all open: the fields are null with
 *   CIRCUIT_OPEN), outlier ejection and active health checks (see InstancePool);
 * - retries of queries (never mutations, unless nothing was sent) on connection errors and
 *   429/502/503/504, on another instance when there is one, with backoff, Retry-After and a retry
 *   budget per subgraph;
 * - a bulkhead per subgraph: fetches past maxConcurrent and maxQueued are shed at once.
 * `GET /admin/resilience` (role admin) shows every subgraph's instances and their state.
 */
export function createResiliencePlugin(options: ResilienceOptions, ctx: PluginContext): FrontdeskPlugin {
  const guards = new Map<string, Guard>();
  const guardOf = (subgraph: string): Guard => {
    let guard = guards.get(subgraph);
    if (guard) return guard;
    const own = Object.entries(options.subgraphs).find(([name]) => normalizeSubgraphName(name) === normalizeSubgraphName(subgraph))?.[1];
    const policy = resolvePolicy(options.all, own);
    const probe = httpProbe(policy.healthCheck.path, policy.healthCheck.timeoutMs);
    guard = {
      bulkhead: bulkhead(policy.bulkhead.maxConcurrent, policy.bulkhead.maxQueued),
      policy,
      budget: new RetryBudget(options.retryBudget.percent, options.retryBudget.minPerSecond),
      pool: new InstancePool(`subgraph ${subgraph}`, policy, ctx.logger, probe),
    };
    guards.set(subgraph, guard);
    return guard;
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
          [...guards].map(([name, guard]) => {
            const instances = guard.pool.snapshot();
            const states = new Set(instances.map((i) => i.circuit));
            // One word for the subgraph: every instance's state when they agree, else partly-open.
            const circuit = states.size === 0 ? 'off' : states.size === 1 ? [...states][0] : 'partly-open';
            return [
              name,
              {
                circuit,
                instances,
                inFlight: guard.policy.bulkhead.maxConcurrent - guard.bulkhead.executionSlots,
                queued: guard.policy.bulkhead.maxQueued - guard.bulkhead.queueSlots,
                retry: guard.policy.retry,
              },
            ];
          }),
        );
        return { body: { subgraphs } };
      },
    },
  };
  return {
    name: 'resilience',
    adminRoutes,
    close() {
      for (const guard of guards.values()) guard.pool.close();
    },
    subgraph: {
      async wrapFetch(send, fetch) {
        const guard = guardOf(fetch.subgraph);
        guard.pool.sync(fetch.instances);
        const tried = new Set<Instance>();
        const once = async (): Promise<SubgraphReply> => {
          try {
            return await guard.pool.call(send, replyFailed, errorFailed, tried);
          } catch (error) {
            if (!(error instanceof NoInstanceAvailable)) throw error;
            if (error.reason === 'no-instances') throw new FetchRefused('UPSTREAM_UNAVAILABLE', `Subgraph "${fetch.subgraph}" has no instance`);
            throw new FetchRefused('CIRCUIT_OPEN', `Subgraph "${fetch.subgraph}" is unavailable (circuit open)`);
          }
        };
        const guarded =
          guard.policy.retry.maxRetries === 0
            ? once
            : () =>
                withRetries(once, guard.policy.retry, guard.budget, (n, why) => ctx.logger.warn({ subgraph: fetch.subgraph, attempt: n, why }, 'subgraph fetch failed: retrying'), {
                  unsentOnly: !fetch.query,
                  status: (reply) => reply.status,
                  retryAfter: (reply) => reply.headers.get('retry-after'),
                });
        try {
          return await guard.bulkhead.execute(guarded);
        } catch (error) {
          if (!(error instanceof BulkheadRejectedError)) throw error;
          ctx.logger.warn({ subgraph: fetch.subgraph, ...guard.policy.bulkhead }, 'subgraph bulkhead full: fetch shed');
          throw new FetchRefused('UPSTREAM_UNAVAILABLE', `Subgraph "${fetch.subgraph}" is overloaded: too many fetches in flight`);
        }
      },
    },
  };
}
