import { request } from 'undici';
import { bulkhead, BulkheadRejectedError, type BulkheadPolicy as Bulkhead } from 'cockatiel';
import { Counter, Gauge } from 'prom-client';
import type { Identity } from '../../core/context.js';
import { normalizeSubgraphName } from '../../core/config.js';
import { instanceLabel } from '../../core/metrics.js';
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
  const retries = new Counter({ name: 'frontdesk_subgraph_retries_total', help: 'Subgraph fetches sent again, by subgraph', labelNames: ['subgraph'], registers: ctx.metrics ? [ctx.metrics] : [] });
  const shed = new Counter({ name: 'frontdesk_subgraph_shed_total', help: 'Subgraph fetches shed by the bulkhead (too many in flight), by subgraph', labelNames: ['subgraph'], registers: ctx.metrics ? [ctx.metrics] : [] });
  const circuitOpen = new Counter({ name: 'frontdesk_subgraph_circuit_open_total', help: 'Subgraph fetches refused because every instance\'s circuit was open, by subgraph', labelNames: ['subgraph'], registers: ctx.metrics ? [ctx.metrics] : [] });
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
    // Each subgraph's counters exist from its first fetch on, at 0: rate() and alerts see them.
    for (const counter of [retries, shed, circuitOpen]) counter.inc({ subgraph }, 0);
    return guard;
  };
  const CIRCUIT_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 2 };
  const instanceGauge = (name: string, help: string, value: (i: Record<string, unknown>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['subgraph', 'instance'],
      registers: ctx.metrics ? [ctx.metrics] : [],
      // Read at scrape time from the pools: nothing per fetch.
      collect() {
        this.reset();
        for (const [subgraph, guard] of guards) for (const i of guard.pool.snapshot()) this.set({ subgraph, instance: instanceLabel(String(i.url)) }, value(i));
      },
    });
  if (ctx.metrics) {
    instanceGauge('frontdesk_circuit_state', 'Circuit breaker of each subgraph instance: 0 closed, 1 half-open, 2 open', (i) => CIRCUIT_VALUE[String(i.circuit)] ?? 0);
    instanceGauge('frontdesk_instance_ejected', 'Subgraph instance ejected after consecutive failures: 1 ejected, 0 not', (i) => (i.ejected ? 1 : 0));
    instanceGauge('frontdesk_instance_healthy', 'Subgraph instance passing its health checks: 1 healthy, 0 not', (i) => (i.healthy ? 1 : 0));
  }
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
            circuitOpen.inc({ subgraph: fetch.subgraph });
            throw new FetchRefused('CIRCUIT_OPEN', `Subgraph "${fetch.subgraph}" is unavailable (circuit open)`);
          }
        };
        const guarded =
          guard.policy.retry.maxRetries === 0
            ? once
            : () =>
                withRetries(
                  once,
                  guard.policy.retry,
                  guard.budget,
                  (n, why) => {
                    retries.inc({ subgraph: fetch.subgraph });
                    ctx.logger.warn({ subgraph: fetch.subgraph, attempt: n, why }, 'subgraph fetch failed: retrying');
                  },
                  {
                  unsentOnly: !fetch.query,
                  status: (reply) => reply.status,
                  retryAfter: (reply) => reply.headers.get('retry-after'),
                });
        try {
          return await guard.bulkhead.execute(guarded);
        } catch (error) {
          if (!(error instanceof BulkheadRejectedError)) throw error;
          shed.inc({ subgraph: fetch.subgraph });
          ctx.logger.warn({ subgraph: fetch.subgraph, ...guard.policy.bulkhead }, 'subgraph bulkhead full: fetch shed');
          throw new FetchRefused('UPSTREAM_UNAVAILABLE', `Subgraph "${fetch.subgraph}" is overloaded: too many fetches in flight`);
        }
      },
    },
  };
}
