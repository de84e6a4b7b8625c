import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../support/servers.js';
import { startStack, type Stack } from '../support/stack.js';

// Stale-if-error with short lifetimes: max-age capped at 1 s, a 2 s grace period.
let stack: Stack;
const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

beforeAll(async () => {
  stack = await startStack({ gateway: { responseCache: { maxAgeCapSeconds: 1, staleIfErrorSeconds: 2 } } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('stale-if-error', () => {
  it('refetches after max-age while the backends answer', async () => {
    const query = '{ review(id: "r1") { rating } }';
    const started = Date.now();
    expect((await gql(stack.gateway.url, query)).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, query)).headers.get('x-cache')).toBe('HIT');
    await sleepUntil(started + 1_100);
    const again = await gql(stack.gateway.url, query);
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(again.body.errors).toBeUndefined();
  });

  it('serves a cached product STALE while the catalog is stopped, within the grace period only', async () => {
    const query = '{ product(id: "p1") { name price { amount currency } reviews(first: 2) { rating } } }';
    const started = Date.now();
    const fresh = await gql(stack.gateway.url, query);
    expect(fresh.body.errors).toBeUndefined();
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.headers.get('cache-control')).toBe('max-age=1, public');

    await stack.catalog.stop();
    // Past max-age the entry is not served while the backends answer; here they fail.
    await sleepUntil(started + 1_100);
    const stale = await gql(stack.gateway.url, query);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('STALE');
    expect(stale.body.data).toEqual(fresh.body.data);
    expect(stale.body.errors).toBeUndefined();
    const cache = (stale.body as { extensions?: { cache?: { stale: boolean; age: number } } }).extensions?.cache;
    expect(cache?.stale).toBe(true);
    expect(cache!.age).toBeGreaterThanOrEqual(1);
    expect(stale.headers.get('age')).toBe(String(cache!.age));
    expect(stale.headers.get('cache-control')).toBe('no-store');

    // After max-age plus grace the entry is gone: the failure reaches the client.
    await sleepUntil(started + 3_300);
    const failed = await gql(stack.gateway.url, query);
    expect(failed.headers.get('x-cache')).toBe('MISS');
    expect(failed.body.data).toEqual({ product: null });
    expect(failed.body.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAVAILABLE']);
  });
});
