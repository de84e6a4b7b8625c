import { BrokenCircuitError, CircuitState, circuitBreaker, handleAll, SamplingBreaker, type CircuitBreakerPolicy } from 'cockatiel';
import type { Logger } from '../../core/logger.js';
import type { BreakerPolicy, EjectionPolicy, HealthCheckPolicy } from './options.js';

export const CIRCUIT_STATES: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** An answer that counts as a failure of its instance (a 5xx), thrown inside the breaker and unwrapped after. */
class FailedOutcome<T> extends Error {
  constructor(readonly value: T) {
    super('failed answer');
  }
}

/** Every instance's breaker was open (or probing): nothing was sent. */
export class NoInstanceAvailable extends Error {
  override name = 'NoInstanceAvailable';
  constructor(readonly reason: 'circuit-open' | 'no-instances') {
    super(reason === 'circuit-open' ? 'every instance is unavailable (circuit open)' : 'no instance is known');
  }
}

/** One instance of an upstream (a subgraph URL, a legacy base URL or gRPC address). */
export class Instance {
  outstanding = 0;
  sent = 0;
  failed = 0;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  ejections = 0;
  /** Active health checks' verdict (true until they say otherwise). */
  healthy = true;
  private checksPassed = 0;
  private checksFailed = 0;
  openedAt = 0;
  readonly breaker?: CircuitBreakerPolicy;

  constructor(
    readonly url: string,
    breakerPolicy: BreakerPolicy,
    onState: (instance: Instance, state: CircuitState) => void,
  ) {
    if (breakerPolicy.enabled) {
      this.breaker = circuitBreaker(handleAll, {
        halfOpenAfter: breakerPolicy.halfOpenAfterMs,
        breaker: new SamplingBreaker({ threshold: breakerPolicy.failureRatePercent / 100, duration: breakerPolicy.windowMs, minimumRps: breakerPolicy.minimumPerSecond }),
      });
      this.breaker.onStateChange((state) => {
        if (state === CircuitState.Open) this.openedAt = Date.now();
        onState(this, state);
      });
    }
  }

  /** The breaker lets a call through: closed, or open long enough for a half-open probe. */
  admits(now: number, halfOpenAfterMs: number): boolean {
    if (!this.breaker) return true;
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return true;
    return state === CircuitState.Open && now - this.openedAt >= halfOpenAfterMs;
  }

  ejected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  /** Records a health check; returns the new verdict when it changed. */
  checked(passed: boolean, policy: HealthCheckPolicy): boolean | undefined {
    if (passed) {
      this.checksFailed = 0;
      this.checksPassed += 1;
      if (!this.healthy && this.checksPassed >= policy.healthyThreshold) return (this.healthy = true);
    } else {
      this.checksPassed = 0;
      this.checksFailed += 1;
      if (this.healthy && this.checksFailed >= policy.unhealthyThreshold) return (this.healthy = false);
    }
    return undefined;
  }

  state(): string {
    return this.breaker ? CIRCUIT_STATES[this.breaker.state] : 'off';
  }
}

export interface PoolPolicy {
  breaker: BreakerPolicy;
  ejection: EjectionPolicy;
  healthCheck: HealthCheckPolicy;
}

/**
 * The instances of one upstream and how calls spread over them:
 * - power of two choices on outstanding calls among the instances that are available (breaker
 *   closed, not ejected, healthy); when none is, among those whose breaker admits a call (a dead
 *   health check must not take the last instances out); when none admits, NoInstanceAvailable;
 * - a cockatiel circuit breaker per instance (the rate of failures, slow answers included when
 *   slowCallMs is set, over a rolling window with a minimum volume);
 * - passive outlier ejection: `consecutiveFailures` failures in a row eject an instance for
 *   baseMs × 2^(ejections so far), up to maxMs, never more than maxEjectedPercent of them;
 * - active health checks (`probe`) every intervalMs: unhealthyThreshold failures take it out,
 *   healthyThreshold passes bring it back (ending an ejection early: the instance came back).
 * Shared by the gateway's subgraph fetches and the adapters' legacy calls.
 */
export class InstancePool {
  private instances: Instance[] = [];
  private urls: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    readonly name: string,
    private readonly policy: PoolPolicy,
    private readonly logger: Logger,
    /** Active health check of one instance: resolves true when it is up. Undefined: no active checks. */
    private readonly probe?: (url: string) => Promise<boolean>,
  ) {}

  /** Sets the instance list (kept state for URLs already known). Cheap when the list is the same array. */
  sync(urls: readonly string[]): void {
    if (urls === this.urls) return;
    this.urls = urls;
    const known = new Map(this.instances.map((i) => [i.url, i]));
    const next = urls.map((url) => known.get(url) ?? new Instance(url, this.policy.breaker, (instance, state) => this.stateChanged(instance, state)));
    const changed = next.length !== this.instances.length || next.some((instance, i) => instance !== this.instances[i]);
    this.instances = next;
    if (changed) this.logger.info({ upstream: this.name, instances: urls }, `instances of ${this.name}: ${urls.length}`);
    this.scheduleChecks();
  }

  private stateChanged(instance: Instance, state: CircuitState): void {
    const entry = { upstream: this.name, instance: instance.url, state: CIRCUIT_STATES[state] };
    if (state === CircuitState.Open) this.logger.error(entry, `circuit breaker of ${this.name} instance ${instance.url} is open`);
    else this.logger.warn(entry, `circuit breaker of ${this.name} instance ${instance.url} is ${CIRCUIT_STATES[state]}`);
  }

  /** Picks an instance for a call, never one in `exclude`, avoiding `tried` while another one is available. */
  pick(tried?: ReadonlySet<Instance>, exclude?: ReadonlySet<Instance>): Instance | undefined {
    const now = Date.now();
    const halfOpen = this.policy.breaker.halfOpenAfterMs;
    if (this.instances.length === 1) {
      // One instance (the usual subgraph): no choice to make, no list to build.
      const only = this.instances[0]!;
      return only.admits(now, halfOpen) && !exclude?.has(only) ? only : undefined;
    }
    const admitted = this.instances.filter((i) => i.admits(now, halfOpen) && !exclude?.has(i));
    if (admitted.length === 0) return undefined;
    let candidates = admitted.filter((i) => !i.ejected(now) && i.healthy);
    if (candidates.length === 0) candidates = admitted;
    if (tried && tried.size > 0) {
      const fresh = candidates.filter((i) => !tried.has(i));
      if (fresh.length > 0) candidates = fresh;
    }
    if (candidates.length === 1) return candidates[0];
    const a = Math.floor(Math.random() * candidates.length);
    let b = Math.floor(Math.random() * (candidates.length - 1));
    if (b >= a) b += 1;
    const first = candidates[a]!;
    const second = candidates[b]!;
    return second.outstanding < first.outstanding ? second : first;
  }

  /**
   * One call on an available instance: through its breaker, counted for balancing and ejection.
   * `failed` says which answers count as the instance's failure (a 5xx); they still resolve.
   * Errors in `failedError` count too; others (the caller's own abort) do not. An instance whose
   * breaker refuses (a concurrent half-open probe) is skipped for the next one. `tried` collects
   * the instances called: a retry passes it back to go elsewhere while it can.
   */
  async call<T>(send: (url: string) => Promise<T>, failed: (value: T) => boolean, failedError: (error: unknown) => boolean, tried = new Set<Instance>()): Promise<T> {
    if (this.instances.length === 0) throw new NoInstanceAvailable('no-instances');
    const refused = new Set<Instance>();
    for (;;) {
      const instance = this.pick(tried, refused);
      if (!instance) throw new NoInstanceAvailable('circuit-open');
      tried.add(instance);
      instance.outstanding += 1;
      instance.sent += 1;
      try {
        const run = async (): Promise<T> => {
          let value: T;
          const started = performance.now();
          try {
            value = await send(instance.url);
          } catch (error) {
            this.outcome(instance, failedError(error));
            throw error;
          }
          const bad = failed(value);
          this.outcome(instance, bad);
          // A slow answer is served, and counts in the breaker's rate as a failure.
          const slow = this.policy.breaker.slowCallMs > 0 && performance.now() - started > this.policy.breaker.slowCallMs;
          if ((bad || slow) && instance.breaker) throw new FailedOutcome(value);
          return value;
        };
        if (!instance.breaker) return await run();
        try {
          return await instance.breaker.execute(run);
        } catch (error) {
          if (error instanceof FailedOutcome) return error.value as T;
          if (error instanceof BrokenCircuitError) {
            instance.sent -= 1;
            refused.add(instance);
            continue;
          }
          throw error;
        }
      } finally {
        instance.outstanding -= 1;
      }
    }
  }

  private outcome(instance: Instance, failure: boolean): void {
    const now = Date.now();
    if (!failure) {
      instance.consecutiveFailures = 0;
      // A long enough good run forgets one past ejection (the next one is shorter again).
      if (instance.ejections > 0 && now > instance.ejectedUntil + this.policy.ejection.baseMs * 2) instance.ejections -= 1;
      return;
    }
    instance.failed += 1;
    instance.consecutiveFailures += 1;
    const policy = this.policy.ejection;
    if (!policy.enabled || instance.ejected(now) || instance.consecutiveFailures < policy.consecutiveFailures) return;
    const ejected = this.instances.filter((i) => i.ejected(now)).length;
    if ((ejected + 1) * 100 > this.instances.length * policy.maxEjectedPercent) return;
    const forMs = Math.min(policy.maxMs, policy.baseMs * 2 ** instance.ejections);
    instance.ejectedUntil = now + forMs;
    instance.ejections += 1;
    instance.consecutiveFailures = 0;
    this.logger.warn({ upstream: this.name, instance: instance.url, forMs }, `${this.name} instance ${instance.url} ejected after consecutive failures`);
  }

  private scheduleChecks(): void {
    const policy = this.policy.healthCheck;
    const wanted = this.probe !== undefined && policy.enabled && (this.instances.length > 1 || policy.singleInstance);
    if (!wanted) {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer) return;
    this.timer = setInterval(() => void this.checkAll(), policy.intervalMs);
    this.timer.unref();
  }

  private async checkAll(): Promise<void> {
    if (this.checking || !this.probe) return;
    this.checking = true;
    try {
      await Promise.all(
        this.instances.map(async (instance) => {
          let passed: boolean;
          try {
            passed = await this.probe!(instance.url);
          } catch {
            passed = false;
          }
          const verdict = instance.checked(passed, this.policy.healthCheck);
          if (verdict === true) {
            instance.ejectedUntil = 0;
            this.logger.info({ upstream: this.name, instance: instance.url }, `${this.name} instance ${instance.url} is healthy again`);
          } else if (verdict === false) {
            this.logger.warn({ upstream: this.name, instance: instance.url }, `${this.name} instance ${instance.url} failed its health checks`);
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  /** For the admin route. */
  snapshot(): Record<string, unknown>[] {
    const now = Date.now();
    return this.instances.map((i) => ({
      url: i.url,
      circuit: i.state(),
      healthy: i.healthy,
      ejected: i.ejected(now),
      ...(i.ejected(now) ? { ejectedForMs: i.ejectedUntil - now } : {}),
      outstanding: i.outstanding,
      sent: i.sent,
      failed: i.failed,
    }));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
