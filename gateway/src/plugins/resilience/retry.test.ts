import { describe, expect, it } from 'vitest';
import { RetryBudget, retryableError, retryAfterMs, withRetries } from './retry.js';
import type { SubgraphReply } from '../../core/subgraph-transport.js';

const reply = (status: number, headers: Record<string, string> = {}): SubgraphReply => ({ status, text: '{}', headers: { get: (name) => headers[name] ?? null } });

describe('retries', () => {
  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000 + 3000).toUTCString(), 10_000)).toBe(3000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('retries connection errors, not timeouts', () => {
    expect(retryableError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(retryableError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(false);
  });

  it('keeps retries under the share of requests plus the minimum, over a 10 s window', () => {
    let now = 0;
    const budget = new RetryBudget(10, 0, () => now);
    for (let i = 0; i < 100; i += 1) budget.request();
    const granted = Array.from({ length: 20 }, () => budget.tryRetry()).filter(Boolean).length;
    expect(granted).toBe(10);
    now = 11_000; // the window moved on: nothing left to earn retries from
    expect(budget.tryRetry()).toBe(false);
    const floor = new RetryBudget(0, 2, () => now);
    expect(Array.from({ length: 30 }, () => floor.tryRetry()).filter(Boolean).length).toBe(20);
  });

  it('gives up when Retry-After asks for longer than the longest backoff, and after maxRetries', async () => {
    let sends = 0;
    const budget = new RetryBudget(100, 100);
    const late = await withRetries(async () => (sends++, reply(503, { 'retry-after': '60' })), { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 1000 }, budget, () => undefined);
    expect(late.status).toBe(503);
    expect(sends).toBe(1);
    sends = 0;
    const failing = await withRetries(async () => (sends++, reply(502)), { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 }, budget, () => undefined);
    expect(failing.status).toBe(502);
    expect(sends).toBe(3);
    sends = 0;
    const ok = await withRetries(async () => (sends++ === 0 ? reply(429, { 'retry-after': '0' }) : reply(200)), { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 }, budget, () => undefined);
    expect(ok.status).toBe(200);
    expect(sends).toBe(2);
  });
});
