import { describe, expect, it } from 'vitest';
import { SuccessSampler } from '../plugins/access-log/plugin.js';
import { createLogger, endLogger, UNCOLLAPSED } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('collapsing repeated warnings', () => {
  it('writes the first of each warning in an interval, then one line with the count; errors and marked lines always', async () => {
    const { lines, destination } = capture();
    const logger = createLogger('info', {}, { collapseRepeatsMs: 60_000, destination });
    for (let i = 0; i < 500; i += 1) logger.warn({ subgraph: 'reviews', code: 'UPSTREAM_UNAVAILABLE', requestId: `r${i}` }, 'subgraph request failed');
    for (let i = 0; i < 3; i += 1) logger.warn({ subgraph: 'products', code: 'UPSTREAM_UNAVAILABLE' }, 'subgraph request failed');
    for (let i = 0; i < 4; i += 1) logger.error({ subgraph: 'reviews' }, 'circuit open');
    for (let i = 0; i < 5; i += 1) logger.warn({ requestId: `a${i}`, [UNCOLLAPSED]: true }, 'graphql request with errors');
    logger.warn('plain text warning');
    logger.warn('plain text warning');
    expect(lines.map((l) => l.msg)).toEqual([
      'subgraph request failed',
      'subgraph request failed',
      ...Array(4).fill('circuit open'),
      ...Array(5).fill('graphql request with errors'),
      'plain text warning',
    ]);
    expect(lines[0]!.requestId).toBe('r0');
    await endLogger(logger); // ends the interval: the summaries
    const summaries = lines.slice(12);
    expect(summaries).toEqual([
      expect.objectContaining({ level: 'warn', subgraph: 'reviews', code: 'UPSTREAM_UNAVAILABLE', repeated: 499, msg: 'subgraph request failed (repeated 499 more times in 60 s)' }),
      expect.objectContaining({ subgraph: 'products', repeated: 2 }),
      expect.objectContaining({ repeated: 1, msg: 'plain text warning (repeated 1 more times in 60 s)' }),
    ]);
  });
});

describe('access log sampling', () => {
  it('keeps every success up to the rate in each second, then the given share, and counts the rest', () => {
    let now = 1_000_000;
    const sampler = new SuccessSampler(50, 0.01, () => now);
    let kept = 0;
    for (let i = 0; i < 10_050; i += 1) if (sampler.keep()) kept += 1;
    expect(kept).toBe(50 + 100);
    expect(sampler.takeSkipped()).toBe(10_050 - 150);
    expect(sampler.takeSkipped()).toBe(0);
    now += 1000; // a new second: the full rate again
    let next = 0;
    for (let i = 0; i < 50; i += 1) if (sampler.keep()) next += 1;
    expect(next).toBe(50);
  });
});
