import { describe, expect, it } from 'vitest';
import { TopLabels } from '../../core/metrics.js';
import { SLOT_MS, Timeline } from './timeline.js';

describe('TopLabels', () => {
  it('labels the first N names at once, then only the most frequent after each ranking; the rest read other', () => {
    const dropped: string[] = [];
    const top = new TopLabels(2, (value) => dropped.push(value));
    expect(top.label('a')).toBe('a');
    expect(top.label('b')).toBe('b');
    expect(top.label('b')).toBe('b');
    expect(top.label('c')).toBe('other');
    for (let i = 0; i < 10; i += 1) top.label('c');
    top.rerank();
    expect(dropped).toEqual(['a']);
    expect(top.label('c')).toBe('c');
    expect(top.label('a')).toBe('other');
    expect(top.top().map((t) => t.value)).toEqual(['c', 'b']);
  });

  it('keeps bounded memory under a flood of distinct names', () => {
    const top = new TopLabels(5);
    for (let i = 0; i < 100_000; i += 1) top.label(`op${i}`);
    top.rerank();
    expect(top.top().length).toBeLessThanOrEqual(5);
    // Counting holds at most 8N candidates whatever arrives.
    expect((top as unknown as { counts: Map<string, number> }).counts.size).toBeLessThanOrEqual(40);
  });
});

describe('Timeline', () => {
  it('sums requests per 10-second slot and reads percentiles within a bucket (25%)', () => {
    let now = 1_700_000_000_000 - (1_700_000_000_000 % SLOT_MS);
    const timeline = new Timeline(() => now);
    for (let i = 1; i <= 100; i += 1) timeline.record(i, i <= 10 ? 'partial' : 'success'); // 1..100 ms
    timeline.record(5, 'refused');
    timeline.cache(3, 4);
    now += SLOT_MS;
    timeline.record(1000, 'failed');
    const series = timeline.series(1);
    expect(series.t).toHaveLength(6);
    const slot = series.t.length - 2;
    expect(series.requestsPerSecond[slot]).toBe(10.1);
    expect(series.errorRate[slot]).toBe(0.1); // 10 of the 100 answered (the refusal left out)
    expect(series.p50[slot]).toBeGreaterThan(50 / 1.25);
    expect(series.p50[slot]).toBeLessThan(50 * 1.25);
    expect(series.p99[slot]).toBeGreaterThan(99 / 1.25);
    expect(series.p99[slot]).toBeLessThan(100 * 1.25);
    expect(series.cacheHitRatio[slot]).toBe(0.75);
    expect(series.errorRate[slot + 1]).toBe(1);
    expect(series.requestsPerSecond[0]).toBe(0);
    expect(series.p50[0]).toBeNull();
    const summary = timeline.summary(5);
    expect(summary.requests).toBe(102);
    expect(summary.refused).toBe(1);
    expect(summary.cacheHitRatio).toBe(0.75);
  });

  it('forgets slots older than an hour', () => {
    let now = 0;
    const timeline = new Timeline(() => now);
    timeline.record(10, 'success');
    now += 3_600_000;
    expect(timeline.summary(60).requests).toBe(0);
    expect(timeline.series(60).requestsPerSecond.every((r) => r === 0)).toBe(true);
  });
});
