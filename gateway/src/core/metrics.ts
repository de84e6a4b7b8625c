import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Seconds: from a cache hit (sub-millisecond) to a request at its deadline. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The label of an instance URL: its origin (scheme, host, port), never a path or credentials. */
export function instanceLabel(url: string | undefined): string {
  if (!url) return 'unknown';
  try {
    const parsed = new URL(url);
    return parsed.host === '' ? url : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return url.includes('://') ? 'invalid' : url; // a gRPC address (host:port) is its own label
  }
}

/**
 * Bounds the values of one label (operation names, client names): the `size` most frequent keep
 * their own value, every other reads `other`. While fewer than `size` are known a new value takes
 * a place at once; `rerank()` (each minute) keeps the most frequent since the last ranking, and
 * `onDrop` removes the series of the values that lost their place. Counting keeps at most 8x
 * `size` candidates, so a flood of distinct names costs bounded memory.
 */
export class TopLabels {
  private counts = new Map<string, number>();
  private readonly placed = new Set<string>();

  constructor(
    private readonly size: number,
    private readonly onDrop: (value: string) => void = () => {},
  ) {}

  label(value: string): string {
    const count = this.counts.get(value);
    if (count !== undefined) this.counts.set(value, count + 1);
    else if (this.counts.size < this.size * 8) this.counts.set(value, 1);
    if (this.placed.has(value)) return value;
    if (this.placed.size < this.size) {
      this.placed.add(value);
      return value;
    }
    return 'other';
  }

  /** The values with a place, most frequent first, with their counts since the last ranking. */
  top(): { value: string; count: number }[] {
    return [...this.placed].map((value) => ({ value, count: this.counts.get(value) ?? 0 })).sort((a, b) => b.count - a.count);
  }

  rerank(): void {
    const ranked = [...this.counts].sort((a, b) => b[1] - a[1]);
    const keep = new Set(ranked.slice(0, this.size).map(([value]) => value));
    for (const value of [...this.placed]) {
      if (keep.has(value)) continue;
      this.placed.delete(value);
      this.onDrop(value);
    }
    for (const value of keep) if (this.placed.size < this.size) this.placed.add(value);
    // Halve the counts: recent traffic weighs more at the next ranking, and rare names make room.
    const next = new Map<string, number>();
    for (const [value, count] of ranked.slice(0, this.size * 8)) if (count >= 2) next.set(value, Math.floor(count / 2));
    this.counts = next;
  }
}

/** Removes every series of `metric` whose label `name` is `value` (a value that lost its place). */
export async function removeSeries(metric: { get(): Promise<{ values: { labels: Record<string, string | number> }[] }>; remove(labels: Record<string, string | number>): void }, name: string, value: string): Promise<void> {
  const seen = new Set<string>();
  for (const sample of (await metric.get()).values) {
    if (sample.labels[name] !== value) continue;
    const { le: _le, quantile: _quantile, ...labels } = sample.labels;
    const key = JSON.stringify(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    metric.remove(labels);
  }
}

/** Adds Node's process metrics (CPU, memory, event loop lag, GC) to a registry, as every Frontdesk process serves them. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
}

/** Serves registries in the Prometheus text format (GET /metrics). */
export function metricsRoute(
  registries: readonly Registry[],
  /** In a cluster worker: the metrics of every worker, from the primary (core/cluster.ts). */
  collect?: () => Promise<{ text: string; contentType: string }>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const merged = registries.length === 1 ? registries[0]! : Registry.merge([...registries]);
  const read = collect ?? (async () => ({ text: await merged.metrics(), contentType: merged.contentType }));
  return (_req, res) => {
    read().then(
      ({ text, contentType }) => {
        res.statusCode = 200;
        res.setHeader('content-type', contentType);
        res.setHeader('cache-control', 'no-store');
        res.end(text);
      },
      () => {
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify({ errors: [{ message: 'Metrics could not be collected', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
      },
    );
  };
}

/** GraphQL request durations of a subgraph or adapter server, by outcome (its own operations are the gateway's fetches). */
export function serverRequestHistogram(registry: Registry): Histogram<'outcome'> {
  return new Histogram({
    name: 'frontdesk_subgraph_server_request_duration_seconds',
    help: 'GraphQL requests served by this subgraph, by outcome (success, partial, refused, failed)',
    labelNames: ['outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
}

/** The outcome label of an answered GraphQL request. */
export function outcomeOf(status: number, errorCount: number): 'success' | 'partial' | 'refused' | 'failed' {
  if (status >= 500) return 'failed';
  if (status >= 400) return 'refused';
  return errorCount > 0 ? 'partial' : 'success';
}
