/**
 * What every legacy stand-in shares for tests and demos: request counting per operation and fault
 * knobs (added latency, an error rate, malformed responses). Tests read the counters to assert
 * batching and caching; the knobs make a stand-in slow, flaky or broken on demand.
 */
export interface Faults {
  /** Added to every counted request, in ms. */
  latencyMs: number;
  /** Share of counted requests (0..1) answered with the protocol's "unavailable" error. */
  errorRate: number;
  /** Answer counted requests with a body that does not parse. */
  malformed: boolean;
}

export interface StandInStats {
  total: number;
  byOperation: Record<string, number>;
  /** The most recent requests, newest last: operation plus a short detail (ids, path). */
  recent: { operation: string; detail: string; requestId?: string; caller?: string; traceId?: string }[];
}

const RECENT = 200;

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), as a legacy system would log it. */
export function traceIdOf(traceparent: unknown): string | undefined {
  const text = typeof traceparent === 'object' && traceparent !== null ? (traceparent as { $value?: unknown }).$value : traceparent;
  const match = typeof text === 'string' ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(text.trim()) : null;
  return match ? match[1] : undefined;
}

export class StandIn {
  readonly faults: Faults = { latencyMs: 0, errorRate: 0, malformed: false };
  private stats: StandInStats = { total: 0, byOperation: {}, recent: [] };

  /** Counts a request; `caller` is who the adapter said is calling (its identity mapping), if anyone. */
  count(operation: string, detail = '', requestId?: string, caller?: string, traceparent?: unknown): void {
    this.stats.total += 1;
    this.stats.byOperation[operation] = (this.stats.byOperation[operation] ?? 0) + 1;
    const traceId = traceIdOf(traceparent);
    this.stats.recent.push({ operation, detail, ...(requestId ? { requestId } : {}), ...(caller ? { caller } : {}), ...(traceId ? { traceId } : {}) });
    if (this.stats.recent.length > RECENT) this.stats.recent.shift();
  }

  snapshot(): StandInStats {
    return structuredClone(this.stats);
  }

  /** Clears counters and faults. */
  reset(): void {
    this.stats = { total: 0, byOperation: {}, recent: [] };
    Object.assign(this.faults, { latencyMs: 0, errorRate: 0, malformed: false });
  }

  setFaults(update: Partial<Faults>): Faults {
    if (update.latencyMs !== undefined) this.faults.latencyMs = Math.max(0, Number(update.latencyMs) || 0);
    if (update.errorRate !== undefined) this.faults.errorRate = Math.min(1, Math.max(0, Number(update.errorRate) || 0));
    if (update.malformed !== undefined) this.faults.malformed = Boolean(update.malformed);
    return { ...this.faults };
  }

  async delay(): Promise<void> {
    if (this.faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.faults.latencyMs));
  }

  shouldFail(): boolean {
    return this.faults.errorRate > 0 && Math.random() < this.faults.errorRate;
  }
}
