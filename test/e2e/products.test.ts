import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRestAdapter } from '../../adapters/rest/adapter.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { gql } from '../support/servers.js';
import { as, identityToken, PRODUCTS_MAPPING, stackIdentity, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

// The legacy catalog (REST) through the generated products subgraph, with reviews and accounts.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterEach(() => {
  stack.catalog.reset();
});
afterAll(async () => {
  await stack?.stop();
});

function errorsOf(body: Awaited<ReturnType<typeof gql>>['body']) {
  return (body.errors ?? []).map((e) => ({ code: e.extensions?.code, path: e.path?.join('.'), message: e.message }));
}

describe('products from the legacy catalog', () => {
  it('returns catalog and reviews data together for one product', async () => {
    const { body } = await gql(
      stack.gateway.url,
      '{ product(id: "p1") { name price { amount currency } reviews { rating author { name } } } }',
    );
    expect(body.errors).toBeUndefined();
    const product = body.data!.product as { name: string; price: { amount: string; currency: string }; reviews: { rating: number; author: { name: string } }[] };
    expect(product.name).toMatch(/sofa/);
    expect(product.price.amount).toMatch(/^\d+\.\d{2}$/);
    expect(product.price.currency).toBe('EUR');
    expect(product.reviews.length).toBeGreaterThan(0);
    expect(product.reviews.every((r) => r.author.name.length > 0)).toBe(true);
    expect(stack.catalog.stats().byOperation).toEqual({ getProduct: 1 });
  });

  it('renames snake_case wire fields and converts types', async () => {
    const { body } = await gql(stack.gateway.url, '{ product(id: "p2") { id sku category weightKg dimensions { widthCm depthCm heightCm } updatedAt description } }');
    expect(body.errors).toBeUndefined();
    expect(body.data!.product).toMatchObject({
      id: 'p2',
      category: 'CHAIRS',
      weightKg: expect.any(Number),
      dimensions: { widthCm: expect.any(Number), depthCm: expect.any(Number), heightCm: expect.any(Number) },
    });
    const updated = (body.data!.product as { updatedAt: string }).updatedAt;
    expect(new Date(updated).toISOString()).toBe(updated);
  });

  it("resolves all of a user's reviewed products with one catalog request", async () => {
    const { body } = await gql(stack.gateway.url, '{ user(id: "u1") { reviews { product { id name } } } }');
    expect(body.errors).toBeUndefined();
    const reviews = (body.data!.user as { reviews: { product: { id: string; name: string } }[] }).reviews;
    expect(reviews.length).toBeGreaterThan(3);
    expect(reviews.every((r) => r.product.name.length > 0)).toBe(true);
    const stats = stack.catalog.stats();
    expect(stats.total).toBe(1);
    expect(stats.byOperation).toEqual({ listProducts: 1 });
    // One batch call carrying exactly the reviewed ids, with literal commas (form, explode false).
    const sent = /[?&]ids=([^&]+)/.exec(stats.recent[0]!.detail)![1]!.split(',');
    expect(new Set(sent)).toEqual(new Set(reviews.map((r) => r.product.id)));
  });

  it('pages through products by category with first and after', async () => {
    const first = await gql(stack.gateway.url, '{ products(category: LAMPS, first: 3) { id category } }');
    const page1 = first.body.data!.products as { id: string; category: string }[];
    expect(page1).toHaveLength(3);
    expect(page1.every((p) => p.category === 'LAMPS')).toBe(true);
    const second = await gql(stack.gateway.url, `{ products(category: LAMPS, first: 3, after: "${page1[2]!.id}") { id } }`);
    const page2 = second.body.data!.products as { id: string }[];
    expect(page2).toHaveLength(3);
    expect(page2.map((p) => p.id)).not.toContain(page1[0]!.id);
  });

  it('lists categories with their product counts', async () => {
    const { body } = await gql(stack.gateway.url, '{ categories { id name productCount } }');
    const categories = body.data!.categories as { id: string; productCount: number }[];
    expect(categories.map((c) => c.id)).toEqual(['SOFAS', 'CHAIRS', 'TABLES', 'BEDS', 'LAMPS', 'SHELVES', 'DESKS', 'RUGS']);
    expect(categories.reduce((sum, c) => sum + c.productCount, 0)).toBeGreaterThanOrEqual(200);
  });

  it('sends cache hints from the mapping as Cache-Control', async () => {
    const response = await fetch(stack.products.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ categories { id } }' }),
    });
    expect(response.headers.get('cache-control')).toBe('max-age=300, public');
  });
});

describe('legacy failures', () => {
  it('answers an unknown id with null and NOT_FOUND', async () => {
    const { body } = await gql(stack.gateway.url, '{ product(id: "p999") { name } }');
    expect(body.data).toEqual({ product: null });
    expect(errorsOf(body)).toEqual([{ code: 'NOT_FOUND', path: 'product', message: 'Product "p999" not found' }]);
  });

  it('answers a slow catalog with UPSTREAM_TIMEOUT at the configured deadline', async () => {
    stack.catalog.setFaults({ latencyMs: 10_000 });
    const started = Date.now();
    const { body } = await gql(stack.gateway.url, '{ product(id: "p3") { name } }');
    // The mapping's timeoutMs (2000) cut the call long before the catalog's 10 s latency.
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(body.data).toEqual({ product: null });
    expect(errorsOf(body)).toEqual([{ code: 'UPSTREAM_TIMEOUT', path: 'product', message: 'catalog did not answer in time' }]);
  });

  it('answers malformed catalog JSON with BAD_UPSTREAM_RESPONSE and leaks nothing of the body', async () => {
    stack.catalog.setFaults({ malformed: true });
    const { body } = await gql(stack.gateway.url, '{ product(id: "p4") { name } }');
    expect(errorsOf(body)).toEqual([{ code: 'BAD_UPSTREAM_RESPONSE', path: 'product', message: 'catalog sent an invalid response: the body is not valid JSON' }]);
    expect(JSON.stringify(body)).not.toMatch(/Oslo sofa|127\.0\.0\.1/);
  });

  it('answers catalog 5xx with UPSTREAM_UNAVAILABLE on product fields while reviews are served', async () => {
    stack.catalog.setFaults({ errorRate: 1 });
    const { body } = await gql(stack.gateway.url, '{ user(id: "u2") { name reviews { rating product { name } } } }');
    const user = body.data!.user as { name: string; reviews: { rating: number; product: null }[] };
    expect(user.name.length).toBeGreaterThan(0);
    expect(user.reviews.length).toBeGreaterThan(0);
    expect(user.reviews.every((r) => r.rating >= 1 && r.product === null)).toBe(true);
    expect(new Set(errorsOf(body).map((e) => e.code))).toEqual(new Set(['UPSTREAM_UNAVAILABLE']));
  });

  it('keeps serving after every fault (nothing crashed or wedged)', async () => {
    const { body } = await gql(stack.gateway.url, '{ product(id: "p5") { name } }');
    expect(body.errors).toBeUndefined();
    expect((await fetch(new URL('/ready', stack.products.url))).status).toBe(200);
  });

  it('answers UPSTREAM_UNAVAILABLE on product fields when the catalog is down', async () => {
    // An adapter whose catalog is gone (a closed port), behind its own gateway.
    const orphan = await startRestAdapter({ mappingPath: PRODUCTS_MAPPING, targetUrl: 'http://127.0.0.1:9', logLevel: 'silent', env: {}, identity: await stackIdentity() });
    let gateway: RunningGateway | undefined;
    try {
      gateway = await startStackGatewayWith(stack, { products: orphan });
      const { body } = await gql(gateway.url, '{ review(id: "r2") { rating body product { id name } } product(id: "p1") { name } }');
      expect(body.data).toMatchObject({ review: { rating: expect.any(Number), body: expect.any(String), product: null }, product: null });
      const errors = errorsOf(body);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => e.code === 'UPSTREAM_UNAVAILABLE' && e.message === 'catalog is unavailable')).toBe(true);
    } finally {
      await gateway?.stop();
      await orphan.stop();
    }
  });
});

describe('createProduct', () => {
  const mutation = `mutation($input: NewProductInput!) { createProduct(input: $input) { id name category price { amount } weightKg } }`;
  const input = {
    sku: 'SOF-99999',
    name: 'Visby modular sofa',
    category: 'SOFAS',
    price: { amount: '1899.00', currency: 'EUR' },
    weightKg: 71.5,
    dimensions: { widthCm: 280, depthCm: 100, heightCm: 80 },
  };

  it('creates a product the next query returns, converting names and enums back to the wire', async () => {
    const created = await gql(stack.gateway.url, mutation, { variables: { input }, headers: await as('merchant-1', { scopes: ['catalog:write'] }) });
    expect(created.body.errors).toBeUndefined();
    const product = created.body.data!.createProduct as { id: string; category: string };
    expect(product).toMatchObject({ name: 'Visby modular sofa', category: 'SOFAS', price: { amount: '1899.00' }, weightKg: 71.5 });
    const again = await gql(stack.gateway.url, `{ product(id: "${product.id}") { name } }`);
    expect(again.body.data).toEqual({ product: { name: 'Visby modular sofa' } });
  });

  it('answers input the catalog rejects with BAD_USER_INPUT and no legacy body', async () => {
    const { body } = await gql(stack.gateway.url, mutation, {
      variables: { input: { ...input, price: { amount: '12', currency: 'EUR' } } },
      headers: await as('merchant-1', { scopes: ['catalog:write'] }),
    });
    expect(errorsOf(body)).toEqual([{ code: 'BAD_USER_INPUT', path: 'createProduct', message: 'catalog rejected the input as invalid' }]);
  });

  it('answers UNAUTHENTICATED when the adapter has no catalog credentials', async () => {
    const bare = await startRestAdapter({ mappingPath: PRODUCTS_MAPPING, targetUrl: stack.catalog.url, logLevel: 'silent', env: {}, identity: await stackIdentity() });
    try {
      const merchant = await identityToken({ kind: 'user', id: 'merchant-1', roles: [], scopes: ['catalog:write'] });
      const response = await fetch(bare.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-frontdesk-identity': merchant },
        body: JSON.stringify({ query: mutation, variables: { input } }),
      });
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      // The catalog refused the adapter: the permissions let the merchant through.
      expect(stack.catalog.stats().byOperation).toEqual({ createProduct: 1 });
    } finally {
      await bare.stop();
    }
  });
});
