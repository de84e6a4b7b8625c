import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { deleteKeys, keysUnder, SHARED_REDIS_URL, startOwnRedis, type OwnRedis } from '../support/redis.js';
import { eventually, gql } from '../support/servers.js';
import { as, asAdmin, legacyCalls, startStack, startStackGatewayProcess, startStackGatewayWith, subgraphRequests, type Stack } from '../support/stack.js';

// The cache in Redis: shared by gateway replicas, and a Redis outage never fails a request.
const prefix = `frontdesk:test:${randomUUID()}`;
const shared = (url: string, own = prefix): FrontdeskConfigInput => ({ redis: { url }, responseCache: { redis: { prefix: own } } });
let stack: Stack;
// The second replica is a process of its own: nothing but Redis is shared.
let second: { url: string; stop(): Promise<void> };
let requests: ReturnType<typeof subgraphRequests>;

beforeAll(async () => {
  stack = await startStack({ gateway: shared(SHARED_REDIS_URL) });
  second = await startStackGatewayProcess(stack, shared(SHARED_REDIS_URL));
  requests = subgraphRequests(stack);
});
afterAll(async () => {
  await second?.stop();
  await stack?.stop();
  await deleteKeys(SHARED_REDIS_URL, prefix);
});

const product = (id: string) => `{ product(id: "${id}") { name reviews(first: 100) { body } } }`;
const reviewsOf = (body: Awaited<ReturnType<typeof gql>>['body']) => (body.data!.product as { reviews: { body: string }[] }).reviews.map((r) => r.body);

describe('two gateway processes sharing Redis', () => {
  it('serves on the second what the first stored, with no subgraph or legacy call', async () => {
    const first = await gql(stack.gateway.url, product('p3'));
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(await keysUnder(SHARED_REDIS_URL, prefix)).not.toHaveLength(0);
    const calls = requests.count();
    const legacy = legacyCalls(stack);
    const other = await gql(second.url, product('p3'));
    expect(other.headers.get('x-cache')).toBe('HIT');
    expect(other.body).toEqual(first.body);
    expect(requests.count()).toBe(calls);
    expect(legacyCalls(stack)).toBe(legacy);
  });

  it('sees on one replica the invalidation a mutation made on the other', async () => {
    await gql(stack.gateway.url, product('p4'));
    expect((await gql(stack.gateway.url, product('p4'))).headers.get('x-cache')).toBe('HIT');
    const added = await gql(second.url, 'mutation { addReview(input: { productId: "p4", authorId: "u2", rating: 5, body: "Seen by every replica" }) { id } }', {
      headers: await as('u2'),
    });
    expect(added.body.errors).toBeUndefined();
    const after = await gql(stack.gateway.url, product('p4'));
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(reviewsOf(after.body)).toContain('Seen by every replica');
  });

  it('sees an operator purge on the other replica', async () => {
    await gql(second.url, product('p5'));
    const response = await fetch(new URL('/admin/cache/purge', stack.gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await asAdmin()) },
      body: JSON.stringify({ entities: [{ type: 'Product', key: { id: 'p5' } }] }),
    });
    expect(response.status).toBe(200);
    expect((await gql(second.url, product('p5'))).headers.get('x-cache')).toBe('MISS');
  });
});

describe('a Redis outage', () => {
  let redis: OwnRedis;
  let gateway: RunningGateway;
  let fresh: RunningGateway | undefined;
  const ownPrefix = `${prefix}:outage`;

  beforeAll(async () => {
    redis = await startOwnRedis();
    gateway = await startStackGatewayWith(stack, {}, shared(redis.url, ownPrefix));
  });
  afterAll(async () => {
    await gateway?.stop();
    await fresh?.stop();
    await redis?.stop();
  });

  it('bypasses the cache while Redis is down, applies the purges it missed, and caches again when it returns', async () => {
    expect((await gql(gateway.url, product('p6'))).headers.get('x-cache')).toBe('MISS');
    const cached = await gql(gateway.url, product('p6'));
    expect(cached.headers.get('x-cache')).toBe('HIT');

    await redis.stop({ save: true });
    for (let i = 0; i < 3; i++) {
      const during = await gql(gateway.url, product('p6'));
      expect(during.status).toBe(200);
      expect(during.body.errors).toBeUndefined();
      expect(during.body.data).toEqual(cached.body.data);
      expect(during.headers.get('x-cache')).toBe('BYPASS');
    }
    // A mutation while Redis is away: its purge is kept and sent once Redis is back.
    const added = await gql(gateway.url, 'mutation { addReview(input: { productId: "p6", authorId: "u3", rating: 2, body: "Written during the outage" }) { id } }', {
      headers: await as('u3'),
    });
    expect(added.body.errors).toBeUndefined();
    const counters = await fetch(new URL('/admin/cache', gateway.url), { headers: await asAdmin() });
    expect(((await counters.json()) as { counters: { storeFailures: number } }).counters.storeFailures).toBeGreaterThan(0);

    // Redis returns with the entry it had, which the mutation made stale.
    await redis.start();
    await eventually(async () => (await gql(gateway.url, product('p7'))).headers.get('x-cache') === 'HIT', 15_000, 200);
    // A replica that never saw the mutation finds its purge in Redis: the missed purge was sent.
    fresh = await startStackGatewayWith(stack, {}, shared(redis.url, ownPrefix));
    const replica = await gql(fresh.url, product('p6'));
    expect(replica.headers.get('x-cache')).toBe('MISS');
    expect(reviewsOf(replica.body)).toContain('Written during the outage');
    expect((await gql(gateway.url, product('p6'))).headers.get('x-cache')).toBe('HIT');
  });
});

describe('Redis down at start-up', () => {
  it('serves every query without the cache, then caches once Redis comes up', async () => {
    const redis = await startOwnRedis();
    await redis.stop();
    const gateway = await startStackGatewayWith(stack, {}, shared(redis.url, `${prefix}:late`));
    try {
      for (let i = 0; i < 2; i++) {
        const during = await gql(gateway.url, product('p8'));
        expect(during.body.errors).toBeUndefined();
        expect(during.headers.get('x-cache')).toBe('BYPASS');
      }
      await redis.start();
      await eventually(async () => (await gql(gateway.url, product('p8'))).headers.get('x-cache') === 'HIT', 15_000, 200);
    } finally {
      await gateway.stop();
      await redis.stop();
    }
  });
});
