/**
 * The last hour of traffic for the status page, in 10-second slots: requests, errors, latency
 * percentiles and cache lookups. A slot's latencies go into logarithmic buckets (25% wide, 0.1 ms
 * to two minutes), so a percentile costs a walk over 64 counters and is exact to within a bucket.
 */
export const SLOT_MS = 10_000;
const SLOTS = 360;
const BUCKETS = 64;
const BASE_MS = 0.1;
const GROWTH = 1.25;
const LOG_GROWTH = Math.log(GROWTH);

interface Slot {
  start: number;
  requests: number;
  /** Answers with errors (partial or failed). */
  errors: number;
  /** Refused with a 4xx. */
  refused: number;
  latency: Uint32Array;
  cacheHits: number;
  cacheLookups: number;
}

function bucketOf(ms: number): number {
  if (ms <= BASE_MS) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms / BASE_MS) / LOG_GROWTH));
}

/** The middle of a bucket, geometrically. */
function bucketMs(index: number): number {
  return BASE_MS * GROWTH ** (index + 0.5);
}

function percentile(latency: Uint32Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i += 1) {
    seen += latency[i]!;
    if (seen >= rank) return Math.round(bucketMs(i) * 100) / 100;
  }
  return Math.round(bucketMs(BUCKETS - 1) * 100) / 100;
}

export interface TimelineSeries {
  slotSeconds: number;
  /** Start of each slot, in ms since the epoch. */
  t: number[];
  requestsPerSecond: number[];
  /** Share of answered requests with errors (partial or failed), 0..1; null without requests. */
  errorRate: (number | null)[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  /** Share of cache lookups answered from the cache, 0..1; null without lookups. */
  cacheHitRatio: (number | null)[];
}

export class Timeline {
  private readonly slots: Slot[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  private slot(at = this.now()): Slot {
    const start = at - (at % SLOT_MS);
    const index = Math.floor(start / SLOT_MS) % SLOTS;
    let slot = this.slots[index];
    if (!slot || slot.start !== start) {
      slot = { start, requests: 0, errors: 0, refused: 0, latency: new Uint32Array(BUCKETS), cacheHits: 0, cacheLookups: 0 };
      this.slots[index] = slot;
    }
    return slot;
  }

  record(durationMs: number, outcome: 'success' | 'partial' | 'refused' | 'failed'): void {
    const slot = this.slot();
    slot.requests += 1;
    if (outcome === 'partial' || outcome === 'failed') slot.errors += 1;
    else if (outcome === 'refused') slot.refused += 1;
    slot.latency[bucketOf(durationMs)]! += 1;
  }

  /** Cache lookups since the last call (HIT and STALE count as answered from the cache). */
  cache(hits: number, lookups: number): void {
    const slot = this.slot();
    slot.cacheHits += hits;
    slot.cacheLookups += lookups;
  }

  /** The last `minutes` (at most 60) slot by slot, oldest first; slots without traffic read 0 or null. */
  series(minutes = 60): TimelineSeries {
    const count = Math.min(SLOTS, Math.max(1, Math.round((minutes * 60_000) / SLOT_MS)));
    const current = this.slot().start;
    const out: TimelineSeries = { slotSeconds: SLOT_MS / 1000, t: [], requestsPerSecond: [], errorRate: [], p50: [], p95: [], p99: [], cacheHitRatio: [] };
    for (let i = count - 1; i >= 0; i -= 1) {
      const start = current - i * SLOT_MS;
      const found = this.slots[Math.floor(start / SLOT_MS) % SLOTS];
      const slot = found && found.start === start ? found : undefined;
      const answered = slot ? slot.requests - slot.refused : 0;
      out.t.push(start);
      out.requestsPerSecond.push(slot ? Math.round((slot.requests / (SLOT_MS / 1000)) * 100) / 100 : 0);
      out.errorRate.push(slot && answered > 0 ? Math.round((slot.errors / answered) * 10_000) / 10_000 : null);
      out.p50.push(slot ? percentile(slot.latency, slot.requests, 0.5) : null);
      out.p95.push(slot ? percentile(slot.latency, slot.requests, 0.95) : null);
      out.p99.push(slot ? percentile(slot.latency, slot.requests, 0.99) : null);
      out.cacheHitRatio.push(slot && slot.cacheLookups > 0 ? Math.round((slot.cacheHits / slot.cacheLookups) * 10_000) / 10_000 : null);
    }
    return out;
  }

  /** Totals over the last `minutes`: request rate, error rate, percentiles, cache hit ratio. */
  summary(minutes = 5): { requests: number; requestsPerSecond: number; errorRate: number | null; refused: number; p50: number | null; p95: number | null; p99: number | null; cacheHitRatio: number | null } {
    const count = Math.max(1, Math.round((minutes * 60_000) / SLOT_MS));
    const current = this.slot().start;
    const latency = new Uint32Array(BUCKETS);
    let requests = 0;
    let errors = 0;
    let refused = 0;
    let hits = 0;
    let lookups = 0;
    for (let i = 0; i < count; i += 1) {
      const start = current - i * SLOT_MS;
      const slot = this.slots[Math.floor(start / SLOT_MS) % SLOTS];
      if (!slot || slot.start !== start) continue;
      requests += slot.requests;
      errors += slot.errors;
      refused += slot.refused;
      hits += slot.cacheHits;
      lookups += slot.cacheLookups;
      for (let b = 0; b < BUCKETS; b += 1) latency[b]! += slot.latency[b]!;
    }
    const elapsed = Math.min(count * SLOT_MS, this.now() - (current - (count - 1) * SLOT_MS)) / 1000;
    return {
      requests,
      requestsPerSecond: Math.round((requests / Math.max(1, elapsed)) * 100) / 100,
      errorRate: requests - refused > 0 ? Math.round((errors / (requests - refused)) * 10_000) / 10_000 : null,
      refused,
      p50: percentile(latency, requests, 0.5),
      p95: percentile(latency, requests, 0.95),
      p99: percentile(latency, requests, 0.99),
      cacheHitRatio: lookups > 0 ? Math.round((hits / lookups) * 10_000) / 10_000 : null,
    };
  }
}
