import { bulkhead, BulkheadRejectedError, type BulkheadPolicy as Bulkhead } from 'cockatiel';
import { z } from 'zod';
import type { Logger } from '../../gateway/src/core/logger.js';
import { resolvePolicy, upstreamPolicySchema, type ResolvedPolicy } from '../../gateway/src/plugins/resilience/options.js';
import { httpProbe } from '../../gateway/src/plugins/resilience/plugin.js';
import { InstancePool, NoInstanceAvailable, type Instance } from '../../gateway/src/plugins/resilience/pool.js';
import { RetryBudget, withRetries, type RetryRules } from '../../gateway/src/plugins/resilience/retry.js';
import { inClientSpan } from '../../gateway/src/core/tracing.js';
import { failureFromTransportError, legacyError } from './errors.js';
import { observeLegacyCall, type LegacyOutcome } from './metrics.js';

/**
 * The policy toward a legacy service, the gateway's own (`resilience.all` keys) with the same
 * defaults, except active health checks: off unless the mapping turns them on (a legacy service
 * rarely has a /ready).
 */
export const legacyResilienceSchema = upstreamPolicySchema
  .extend({
    retryBudget: z
      .strictObject({
        percent: z.number().min(0).max(100).default(20).describe('Retries stay under this share of calls over the last 10 s. Default 20.'),
        minPerSecond: z.number().int().nonnegative().default(5).describe('Retries always allowed per second. Default 5.'),
      })
      .prefault({}),
  })
  .prefault({})
  .describe(
    'Policies toward the legacy service, as the gateway\'s toward subgraphs (README "Resilience"): balancing over its URLs, retries of idempotent calls (queries; never a mutation unless it failed to connect), a circuit breaker per URL, outlier ejection, a bulkhead, health checks (off by default).',
  );
export type LegacyResilience = z.output<typeof legacyResilienceSchema>;

/** One call through the guard: where it goes, and how its outcome reads. */
export interface GuardedCall<T> {
  /** What is called, for metrics and spans: an operationId, a SOAP operation, a gRPC method (never an id). */
  operation: string;
  /** A query or an entity lookup: may be sent again. A mutation is only when nothing was sent. */
  idempotent: boolean;
  send(url: string): Promise<T>;
  /** The status of an answer (a 5xx counts as the instance's failure; 429/502/503/504 are retried). */
  status?(value: T): number;
  retryAfter?(value: T): string | null;
  /** A thrown failure that is the instance's (unreachable, timed out), not the caller's input. */
  instanceFailed(error: unknown): boolean;
  /** Thrown failures worth another attempt, and those that failed before sending (defaults: the gateway's). */
  retryable?(error: unknown): boolean;
  unsent?(error: unknown): boolean;
}

/**
 * The gateway's resilience module around an adapter's calls to its legacy service: the same
 * InstancePool (several URLs, power of two choices, a breaker per URL, ejection, health checks),
 * retry loop with budget, and a cockatiel bulkhead. While every URL's breaker is open the call
 * fails at once with CIRCUIT_OPEN and nothing is sent.
 */
/** The outcome label of a failed call: refusals of the guard itself, timeouts, the rest. */
function outcomeOfError(error: unknown, call: GuardedCall<unknown>): LegacyOutcome {
  const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
  if (code === 'CIRCUIT_OPEN') return 'circuit_open';
  if (code === 'UPSTREAM_UNAVAILABLE' && /overloaded/.test((error as Error).message ?? '')) return 'shed';
  if (code === 'UPSTREAM_TIMEOUT' || failureFromTransportError(error).kind === 'timeout') return 'timeout';
  return call.instanceFailed(error) ? 'error' : 'client_error';
}

export class LegacyGuard {
  private readonly policy: ResolvedPolicy;
  private readonly pool: InstancePool;
  private readonly budget: RetryBudget;
  private readonly bulkhead: Bulkhead;

  constructor(
    private readonly service: string,
    urls: readonly string[],
    options: LegacyResilience,
    private readonly logger: Logger,
    /** Active health checks by HTTP GET (REST and SOAP); none for gRPC. */
    http = true,
  ) {
    const { retryBudget, ...policy } = options;
    this.policy = resolvePolicy({ healthCheck: { enabled: false } }, policy);
    this.pool = new InstancePool(`legacy ${service}`, this.policy, logger, http ? httpProbe(this.policy.healthCheck.path, this.policy.healthCheck.timeoutMs) : undefined);
    this.pool.sync(urls);
    this.budget = new RetryBudget(retryBudget.percent, retryBudget.minPerSecond);
    this.bulkhead = bulkhead(this.policy.bulkhead.maxConcurrent, this.policy.bulkhead.maxQueued);
  }

  /**
   * One legacy call: inside a client span (when the adapter traces) and measured by service,
   * operation and outcome (frontdesk_legacy_call_duration_seconds), retries included.
   */
  async run<T>(call: GuardedCall<T>): Promise<T> {
    const started = performance.now();
    let outcome: LegacyOutcome = 'success';
    try {
      const value = await inClientSpan(`legacy ${this.service} ${call.operation}`, { 'frontdesk.legacy.service': this.service, 'frontdesk.legacy.operation': call.operation }, () => this.attempt(call));
      const status = call.status?.(value);
      if (status !== undefined && status >= 500) outcome = 'error';
      else if (status !== undefined && status >= 400) outcome = 'client_error';
      return value;
    } catch (error) {
      outcome = outcomeOfError(error, call);
      throw error;
    } finally {
      observeLegacyCall(this.service, call.operation, outcome, (performance.now() - started) / 1000);
    }
  }

  private async attempt<T>(call: GuardedCall<T>): Promise<T> {
    const tried = new Set<Instance>();
    const failed = (value: T): boolean => (call.status ? call.status(value) >= 500 : false);
    const once = async (): Promise<T> => {
      try {
        return await this.pool.call(call.send, failed, call.instanceFailed, tried);
      } catch (error) {
        if (error instanceof NoInstanceAvailable) throw legacyError(this.service, { kind: 'circuit-open' });
        throw error;
      }
    };
    const rules: RetryRules<T> = {
      unsentOnly: !call.idempotent,
      ...(call.status ? { status: call.status } : {}),
      ...(call.retryAfter ? { retryAfter: call.retryAfter } : {}),
      ...(call.retryable ? { retryable: call.retryable } : {}),
      ...(call.unsent ? { unsent: call.unsent } : {}),
    };
    const guarded =
      this.policy.retry.maxRetries === 0
        ? once
        : () => withRetries(once, this.policy.retry, this.budget, (attempt, why) => this.logger.warn({ service: this.service, attempt, why }, 'legacy call failed: retrying'), rules);
    try {
      return await this.bulkhead.execute(guarded);
    } catch (error) {
      if (!(error instanceof BulkheadRejectedError)) throw error;
      this.logger.warn({ service: this.service, ...this.policy.bulkhead }, 'legacy bulkhead full: call shed');
      throw legacyError(this.service, { kind: 'unavailable', detail: 'overloaded' });
    }
  }

  snapshot(): Record<string, unknown>[] {
    return this.pool.snapshot();
  }

  close(): void {
    this.pool.close();
  }
}
