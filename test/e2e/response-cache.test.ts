import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gql } from '../support/servers.js';
import { as, asAdmin, legacyCalls, startStack, subgraphRequests, type Stack } from '../support/stack.js';

// The response cache in memory over the whole stack: subgraphs, adapters and legacy stand-ins.
let stack: Stack;
let requests: ReturnType<typeof subgraphRequests>;

beforeAll(async () => {
  stack = await startStack({ gateway: { responseCache: {} } });
  requests = subgraphRequests(stack);
});
beforeEach(async () => {
  // Every test starts from an empty cache and fresh counters.
  const response = await purge({ all: true }, await asAdmin());
  expect(response.status).toBe(200);
  stack.catalog.reset();
  stack.warehouse.reset();
  stack.erp.reset();
  requests.reset();
});
afterAll(async () => {
  await stack?.stop();
});

function purge(body: unknown, headers: Record<string, string> = {}, raw?: string): Promise<Response> {
  return fetch(new URL('/admin/cache/purge', stack.gateway.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw ?? JSON.stringify(body),
  });
}

const PRODUCT = '{ product(id: "p1") { name price { amount currency } inStock reviews { rating body author { name } } } }';

describe('public queries', () => {
  it('serves the second identical query from the cache with no subgraph or legacy call', async () => {
    const first = await gql(stack.gateway.url, PRODUCT);
    expect(first.body.errors).toBeUndefined();
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('cache-control')).toMatch(/^max-age=(\d+), public$/);
    const calls = requests.count();
    const legacy = legacyCalls(stack);
    expect(calls).toBeGreaterThan(0);
    expect(legacy).toBeGreaterThan(0);

    const second = await gql(stack.gateway.url, PRODUCT);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(requests.count()).toBe(calls);
    expect(legacyCalls(stack)).toBe(legacy);
    expect(Number(second.headers.get('age'))).toBeGreaterThanOrEqual(0);
    // The smallest hint wins: inventory's stock fields say 10 seconds.
    const maxAge = Number(/max-age=(\d+)/.exec(second.headers.get('cache-control')!)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(10);
  });

  it("answers a caller's repeat hits at the edge with the same body and headers", async () => {
    const counters = async () => ((await (await fetch(new URL('/admin/cache', stack.gateway.url), { headers: await asAdmin() })).json()) as { counters: Record<string, number> }).counters;
    const query = '{ product(id: "p7") { name reviews { rating } } }';
    const miss = await gql(stack.gateway.url, query);
    const hit = await gql(stack.gateway.url, query);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const before = await counters();
    const calls = requests.count();
    const atEdge = await gql(stack.gateway.url, query, { headers: { 'x-request-id': 'edge-1' } });
    expect((await counters()).edgeHits).toBe(before.edgeHits! + 1);
    expect(requests.count()).toBe(calls);
    expect(atEdge.body).toEqual(miss.body);
    expect(atEdge.headers.get('x-cache')).toBe('HIT');
    expect(atEdge.headers.get('x-request-id')).toBe('edge-1');
    expect(atEdge.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
    expect(atEdge.headers.get('content-type')).toBe(hit.headers.get('content-type'));
    // Another caller goes through the pipeline first: the edge only repeats a caller's own answers.
    const other = await gql(stack.gateway.url, query, { headers: await as('u5') });
    expect(other.headers.get('x-cache')).toBe('HIT');
    expect((await counters()).edgeHits).toBe(before.edgeHits! + 1);
  });

  it('repeats at the edge only the exact body it answered, for the same caller and vary headers', async () => {
    const edgeHits = async () => ((await (await fetch(new URL('/admin/cache', stack.gateway.url), { headers: await asAdmin() })).json()) as { counters: { edgeHits: number } }).counters.edgeHits;
    const post = async (body: string, headers: Record<string, string> = {}) => {
      const response = await fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { cache: response.headers.get('x-cache'), body: (await response.json()) as { data?: unknown } };
    };
    const query = 'query P($id: ID!) { product(id: $id) { name } }';
    const compact = JSON.stringify({ query, variables: { id: 'p2' } });
    const spaced = JSON.stringify({ query, variables: { id: 'p2' } }, null, 2);
    const before = await edgeHits();
    expect((await post(compact)).cache).toBe('MISS');
    // Stored, not yet at the edge: asked for again, it is a hit through the pipeline, then at the edge.
    expect((await post(compact)).cache).toBe('HIT');
    expect(await edgeHits()).toBe(before);
    expect((await post(compact)).cache).toBe('HIT');
    expect(await edgeHits()).toBe(before + 1);
    // The same request spelt differently: a hit through the pipeline first, then at the edge.
    const throughPipeline = await post(spaced);
    expect(throughPipeline.cache).toBe('HIT');
    expect(await edgeHits()).toBe(before + 1);
    const atEdge = await post(spaced);
    expect(atEdge.cache).toBe('HIT');
    expect(await edgeHits()).toBe(before + 2);
    expect(atEdge.body).toEqual(throughPipeline.body);
    // Other variables are another answer; another caller goes through the pipeline.
    const other = await post(JSON.stringify({ query, variables: { id: 'p3' } }));
    expect(other.cache).toBe('MISS');
    expect(other.body).not.toEqual(atEdge.body);
    expect((await post(compact, await as('u6'))).cache).toBe('HIT');
    expect(await edgeHits()).toBe(before + 2);
  });

  it('gives every answer of the endpoint it may answer at the edge the request id, refusals included', async () => {
    const post = (body: string, headers: Record<string, string>) =>
      fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const malformed = await post('{"query": ', { 'x-request-id': 'bad-json-1' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-request-id')).toBe('bad-json-1');
    expect(((await malformed.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    const badToken = await post(JSON.stringify({ query: PRODUCT }), { 'x-request-id': 'bad-token-1', authorization: 'Bearer not.a.jwt' });
    expect(badToken.status).toBe(401);
    expect(badToken.headers.get('x-request-id')).toBe('bad-token-1');
    const huge = await post(JSON.stringify({ query: PRODUCT, variables: { pad: 'x'.repeat(2_000_000) } }), { 'x-request-id': 'huge-1' });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('x-request-id')).toBe('huge-1');
    const generated = await post(JSON.stringify({ query: PRODUCT }), {});
    expect(generated.status).toBe(200);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // An edge hit writes its headers in one go: exactly one request id, and the body's length.
    await post(JSON.stringify({ query: PRODUCT }), {});
    const hit = await post(JSON.stringify({ query: PRODUCT }), { 'x-request-id': 'hit-1' });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('x-request-id')).toBe('hit-1');
    const text = await hit.text();
    expect(Number(hit.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual(await generated.json());
  });

  it('never leaks the reserved key fields it adds to the operation', async () => {
    const first = await gql(stack.gateway.url, '{ product(id: "p2") { name reviews { rating } } }');
    expect(JSON.stringify(first.body)).not.toMatch(/__fd_|__typename|"id"/);
    const second = await gql(stack.gateway.url, '{ product(id: "p2") { name reviews { rating } } }');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(JSON.stringify(second.body)).not.toMatch(/__fd_|__typename|"id"/);
    // Nor on a response that is neither served from nor stored in the cache.
    const bypass = await gql(stack.gateway.url, '{ product(id: "p2") { name reviews { rating } } }', { headers: { 'cache-control': 'no-cache' } });
    expect(bypass.headers.get('x-cache')).toBe('BYPASS');
    expect(bypass.body).toEqual(first.body);
    expect(JSON.stringify(bypass.body)).not.toMatch(/__fd_|__typename|"id"/);
  });

  it('keys on variables and on the vary headers', async () => {
    const query = 'query P($id: ID!) { product(id: $id) { name } }';
    expect((await gql(stack.gateway.url, query, { variables: { id: 'p3' } })).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, query, { variables: { id: 'p4' } })).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, query, { variables: { id: 'p3' } })).headers.get('x-cache')).toBe('HIT');
    expect((await gql(stack.gateway.url, query, { variables: { id: 'p3' }, headers: { 'accept-language': 'de' } })).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, query, { variables: { id: 'p3' }, headers: { 'accept-language': 'de' } })).headers.get('x-cache')).toBe('HIT');
  });

  it('neither serves nor stores for a request with Cache-Control: no-cache', async () => {
    const query = '{ product(id: "p5") { name } }';
    const bypass = await gql(stack.gateway.url, query, { headers: { 'cache-control': 'no-cache' } });
    expect(bypass.headers.get('x-cache')).toBe('BYPASS');
    expect(bypass.body.errors).toBeUndefined();
    expect((await gql(stack.gateway.url, query)).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, query)).headers.get('x-cache')).toBe('HIT');
    const again = await gql(stack.gateway.url, query, { headers: { 'cache-control': 'no-cache' } });
    expect(again.headers.get('x-cache')).toBe('BYPASS');
    // Both bypasses and the one miss reached the catalog; the hit did not.
    expect(stack.catalog.stats().byOperation).toEqual({ getProduct: 3 });
  });

  it('does not store a response with errors', async () => {
    const query = '{ product(id: "p999") { name } }';
    for (let i = 0; i < 2; i++) {
      const { body, headers } = await gql(stack.gateway.url, query);
      expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(headers.get('x-cache')).toBe('MISS');
      expect(headers.get('cache-control')).toBe('no-store');
    }
    expect(stack.catalog.stats().total).toBe(2);
  });

  it('does not cache what a subgraph marks uncacheable', async () => {
    // email is hinted maxAge 0: the whole response is uncacheable.
    const headers = await as('u1');
    for (let i = 0; i < 2; i++) {
      const response = await gql(stack.gateway.url, '{ me { email } }', { headers });
      expect(response.body.errors).toBeUndefined();
      expect(response.headers.get('x-cache')).toBe('MISS');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe('private queries', () => {
  it('caches me per user, never for another user or for anonymous callers', async () => {
    const query = '{ me { id name } }';
    const u1 = await as('u1');
    const first = await gql(stack.gateway.url, query, { headers: u1 });
    expect(first.body.data).toEqual({ me: { id: 'u1', name: expect.any(String) } });
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('cache-control')).toMatch(/^max-age=\d+, private$/);
    const hit = await gql(stack.gateway.url, query, { headers: u1 });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.body).toEqual(first.body);

    const u2 = await gql(stack.gateway.url, query, { headers: await as('u2') });
    expect(u2.headers.get('x-cache')).toBe('MISS');
    expect(u2.body.data).toEqual({ me: { id: 'u2', name: expect.any(String) } });

    for (let i = 0; i < 2; i++) {
      const anonymous = await gql(stack.gateway.url, query);
      expect(anonymous.body.data).toEqual({ me: null });
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(anonymous.headers.get('x-cache')).not.toBe('HIT');
    }
    // A fresh token of the same user is the same owner.
    expect((await gql(stack.gateway.url, query, { headers: await as('u1') })).headers.get('x-cache')).toBe('HIT');
  });

  it("keeps one user's orders from another with the same query", async () => {
    const query = '{ me { orders(first: 2) { id status } } }';
    const u1 = await gql(stack.gateway.url, query, { headers: await as('u1', { scopes: ['orders:read'] }) });
    expect(u1.body.errors).toBeUndefined();
    const u3 = await gql(stack.gateway.url, query, { headers: await as('u3', { scopes: ['orders:read'] }) });
    expect(u3.headers.get('x-cache')).toBe('MISS');
    expect(u3.body).not.toEqual(u1.body);
  });
});

describe('invalidation', () => {
  it('shows a new review at once after addReview on the product', async () => {
    const query = '{ product(id: "p1") { name reviews(first: 100) { body } } }';
    const before = await gql(stack.gateway.url, query);
    expect((await gql(stack.gateway.url, query)).headers.get('x-cache')).toBe('HIT');
    const added = await gql(stack.gateway.url, 'mutation { addReview(input: { productId: "p1", authorId: "u1", rating: 5, body: "Fresh from the cache test" }) { id } }', {
      headers: await as('u1'),
    });
    expect(added.body.errors).toBeUndefined();
    expect(added.headers.get('x-cache')).toBe('BYPASS');
    expect(JSON.stringify(added.body)).not.toMatch(/__fd_/);
    const after = await gql(stack.gateway.url, query);
    expect(after.headers.get('x-cache')).toBe('MISS');
    const bodies = (after.body.data!.product as { reviews: { body: string }[] }).reviews.map((r) => r.body);
    expect(bodies).toContain('Fresh from the cache test');
    expect(bodies.length).toBe((before.body.data!.product as { reviews: unknown[] }).reviews.length + 1);
  });

  it('leaves entries of other entities alone', async () => {
    const other = '{ product(id: "p9") { name } }';
    await gql(stack.gateway.url, other);
    await gql(stack.gateway.url, 'mutation { addReview(input: { productId: "p8", authorId: "u1", rating: 4, body: "Another one" }) { id } }', { headers: await as('u1') });
    expect((await gql(stack.gateway.url, other)).headers.get('x-cache')).toBe('HIT');
  });
});

describe('the admin endpoint', () => {
  it('purges by entity and by type', async () => {
    const p1 = '{ product(id: "p1") { name } }';
    const p2 = '{ product(id: "p2") { name } }';
    const user = '{ user(id: "u4") { name } }';
    for (const query of [p1, p2, user]) await gql(stack.gateway.url, query);
    const byEntity = await purge({ entities: [{ type: 'Product', key: { id: 'p1' } }] }, await asAdmin());
    expect(byEntity.status).toBe(200);
    expect(await byEntity.json()).toEqual({ purged: ['Product:p1'] });
    expect((await gql(stack.gateway.url, p1)).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, p2)).headers.get('x-cache')).toBe('HIT');
    expect((await purge({ types: ['Product'] }, await as('ops', { scopes: ['cache:purge'] }))).status).toBe(200);
    expect((await gql(stack.gateway.url, p2)).headers.get('x-cache')).toBe('MISS');
    expect((await gql(stack.gateway.url, user)).headers.get('x-cache')).toBe('HIT');
  });

  it('shows its counters to operators', async () => {
    await gql(stack.gateway.url, '{ product(id: "p6") { name } }');
    await gql(stack.gateway.url, '{ product(id: "p6") { name } }');
    const response = await fetch(new URL('/admin/cache', stack.gateway.url), { headers: await asAdmin() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { store: string; counters: Record<string, number> };
    expect(body.store).toBe('memory');
    expect(body.counters.hits).toBeGreaterThan(0);
    expect(body.counters.misses).toBeGreaterThan(0);
  });

  it.each([
    ['no credentials', {}, { all: true }, undefined, 401, 'UNAUTHENTICATED'],
    ['a caller without the role', 'user', { all: true }, undefined, 403, 'FORBIDDEN'],
    ['a bad token', { authorization: 'Bearer not.a.jwt' }, { all: true }, undefined, 401, 'UNAUTHENTICATED'],
    ['malformed JSON', 'admin', undefined, '{"all": tru', 400, 'BAD_REQUEST'],
    ['an unknown field', 'admin', { everything: true }, undefined, 400, 'BAD_USER_INPUT'],
    ['a wrong type', 'admin', { types: 'Product' }, undefined, 400, 'BAD_USER_INPUT'],
    ['an unknown type', 'admin', { types: ['Nope'] }, undefined, 400, 'BAD_USER_INPUT'],
    ['a wrong key', 'admin', { entities: [{ type: 'Product', key: { sku: 'x' } }] }, undefined, 400, 'BAD_USER_INPUT'],
    ['nothing to purge', 'admin', {}, undefined, 400, 'BAD_USER_INPUT'],
  ] as const)('refuses %s with a coded error', async (_name, who, body, raw, status, code) => {
    const headers = who === 'admin' ? await asAdmin() : who === 'user' ? await as('u1') : who;
    const response = await purge(body, headers, raw);
    expect(response.status).toBe(status);
    const answer = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(answer.errors[0]!.extensions.code).toBe(code);
    expect(JSON.stringify(answer)).not.toMatch(/at .*\.ts|stack/);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const response = await fetch(new URL('/admin/cache/purge', stack.gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...(await asAdmin()) },
      body: 'all',
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers other methods with 405 and a huge body with 413', async () => {
    const get = await fetch(new URL('/admin/cache/purge', stack.gateway.url), { headers: await asAdmin() });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const huge = await purge(undefined, await asAdmin(), JSON.stringify({ types: ['x'.repeat(2_000_000)] }));
    expect(huge.status).toBe(413);
  });
});
