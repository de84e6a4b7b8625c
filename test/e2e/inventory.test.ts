import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcAdapter } from '../../adapters/grpc/adapter.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { gql } from '../support/servers.js';
import { as, INVENTORY_MAPPING, stackIdentity, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

// The legacy warehouse (gRPC) through the generated inventory subgraph, joined to the catalog.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterEach(() => {
  stack.warehouse.reset();
  stack.catalog.reset();
});
afterAll(async () => {
  await stack?.stop();
});

type Body = Awaited<ReturnType<typeof gql>>['body'];
const codes = (body: Body) => [...new Set((body.errors ?? []).map((e) => e.extensions?.code))];

describe('inventory from the legacy warehouse', () => {
  it('serves catalog and warehouse data together with one BatchGetStock for 20 products', async () => {
    const { body } = await gql(
      stack.gateway.url,
      '{ products(first: 20) { name inStock stock shippingEstimate(destination: "DE") { days price { amount } } } }',
      { headers: { 'x-request-id': 'inv-1' } },
    );
    expect(body.errors).toBeUndefined();
    const products = body.data!.products as { name: string; inStock: boolean; stock: number; shippingEstimate: { days: number; price: { amount: string } } }[];
    expect(products).toHaveLength(20);
    for (const p of products) {
      expect(p.name.length).toBeGreaterThan(0);
      expect(p.inStock).toBe(p.stock > 0);
      expect(p.shippingEstimate.days).toBeGreaterThanOrEqual(2);
      expect(p.shippingEstimate.price.amount).toMatch(/^\d+\.\d{2}$/);
    }
    // Every seventh seeded product is out of stock.
    expect(products.filter((p) => !p.inStock)).toHaveLength(2);
    const stats = stack.warehouse.stats();
    expect(stats.byOperation.BatchGetStock).toBe(1);
    expect(stats.byOperation.GetStock).toBeUndefined();
    const batch = stats.recent.find((r) => r.operation === 'BatchGetStock')!;
    expect(batch.detail.split(',')).toHaveLength(20);
    // gRPC metadata carries the request id.
    expect(stats.recent.every((r) => r.requestId === 'inv-1')).toBe(true);
    // @requires: the estimate used the catalog's weight for each product.
    expect(stats.recent.filter((r) => r.operation === 'Estimate').every((r) => /^\d+(\.\d+)?kg->DE$/.test(r.detail))).toBe(true);
  });

  it('round-trips int64 values exactly', async () => {
    const { body } = await gql(stack.gateway.url, '{ product(id: "p1") { stockVersion stockUpdatedAt } }');
    // The warehouse seeds version 2^53 + 1 + i: a double would round it.
    expect(body.data).toEqual({ product: { stockVersion: '9007199254740994', stockUpdatedAt: '2025-01-01T01:00:00.000Z' } });
    const clerk = { headers: await as('clerk-1', { scopes: ['inventory:write'] }) };
    const reserved = await gql(stack.gateway.url, 'mutation { reserveStock(productId: "p1", quantity: 2) { productId quantity remaining expiresAt } }', clerk);
    expect(reserved.body.errors).toBeUndefined();
    const after = await gql(stack.gateway.url, '{ product(id: "p1") { stockVersion } stockLevel(productId: "p1") { version quantity } }', clerk);
    expect(after.body.data).toMatchObject({ product: { stockVersion: '9007199254740995' }, stockLevel: { version: '9007199254740995' } });
  });

  it('maps short stock (FAILED_PRECONDITION) to BAD_USER_INPUT as the mapping says', async () => {
    const { body } = await gql(stack.gateway.url, 'mutation { reserveStock(productId: "p7", quantity: 1) { reservationId } }', {
      headers: await as('clerk-1', { scopes: ['inventory:write'] }),
    });
    expect(body.data).toEqual({ reserveStock: null });
    expect(body.errors![0]).toMatchObject({ path: ['reserveStock'], extensions: { code: 'BAD_USER_INPUT' }, message: 'warehouse rejected the input as invalid' });
    expect(JSON.stringify(body)).not.toContain('only 0 left');
  });

  it('answers an invalid destination with BAD_USER_INPUT on the estimate only', async () => {
    const { body } = await gql(stack.gateway.url, '{ product(id: "p2") { name stock shippingEstimate(destination: "XX") { days } } }');
    expect(body.data).toMatchObject({ product: { name: expect.any(String), stock: expect.any(Number), shippingEstimate: null } });
    expect(codes(body)).toEqual(['BAD_USER_INPUT']);
    expect(body.errors![0]!.path).toEqual(['product', 'shippingEstimate']);
  });

  it('answers an unknown id with null and NOT_FOUND', async () => {
    const root = await gql(stack.gateway.url, '{ stockLevel(productId: "p999") { quantity } }', { headers: await as('u1') });
    expect(root.body.data).toEqual({ stockLevel: null });
    expect(root.body.errors![0]).toMatchObject({ extensions: { code: 'NOT_FOUND' }, message: 'Not found in warehouse' });
    // A product the catalog has and the warehouse does not.
    const response = await fetch(stack.inventory.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _entities(representations: [{ __typename: "Product", id: "p3" }, { __typename: "Product", id: "p999" }]) { ... on Product { stock } } }' }),
    });
    const direct = (await response.json()) as Body;
    expect(direct.data).toEqual({ _entities: [{ stock: expect.any(Number) }, { stock: null }] });
    expect(direct.errors![0]).toMatchObject({ path: ['_entities', 1, 'stock'], extensions: { code: 'NOT_FOUND' }, message: 'Product "p999" not found' });
  });

  it('answers UNAVAILABLE with UPSTREAM_UNAVAILABLE on stock fields while catalog fields are served', async () => {
    stack.warehouse.setFaults({ errorRate: 1 });
    const { body } = await gql(stack.gateway.url, '{ product(id: "p3") { name price { amount } stock inStock } }');
    expect(body.data).toMatchObject({ product: { name: expect.any(String), price: { amount: expect.any(String) }, stock: null, inStock: null } });
    expect(codes(body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(body.errors!.map((e) => e.path!.join('.')).sort()).toEqual(['product.inStock', 'product.stock']);
  });

  it('retries a query call once on UNAVAILABLE, never a mutation (reserveStock is sent once)', async () => {
    stack.warehouse.reset();
    stack.warehouse.setFaults({ errorRate: 1 });
    const clerk = { headers: await as('clerk-1', { scopes: ['inventory:write'] }) };
    const level = await gql(stack.gateway.url, '{ stockLevel(productId: "p2") { quantity } }', clerk);
    expect(codes(level.body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    const reserved = await gql(stack.gateway.url, 'mutation { reserveStock(productId: "p2", quantity: 1) { reservationId } }', clerk);
    expect(codes(reserved.body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    const calls = stack.warehouse.stats().byOperation;
    expect(calls.Reserve).toBe(1);
    expect(calls.GetStock).toBe(2);
  });

  it('answers a slow warehouse with UPSTREAM_TIMEOUT at the deadline', async () => {
    stack.warehouse.setFaults({ latencyMs: 8_000 });
    const started = Date.now();
    const { body } = await gql(stack.gateway.url, '{ product(id: "p4") { name stock } }');
    // deadlineMs is 1000 in the mapping; the warehouse would have taken 8 s.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(body.data).toMatchObject({ product: { name: expect.any(String), stock: null } });
    expect(codes(body)).toEqual(['UPSTREAM_TIMEOUT']);
  });

  it('answers UPSTREAM_UNAVAILABLE on stock fields only when the warehouse is down', async () => {
    const orphan = await startGrpcAdapter({ mappingPath: INVENTORY_MAPPING, address: '127.0.0.1:9', logLevel: 'silent', env: {}, identity: await stackIdentity() });
    let gateway: RunningGateway | undefined;
    try {
      gateway = await startStackGatewayWith(stack, { inventory: orphan });
      const { body } = await gql(gateway.url, '{ products(first: 3) { name stock reviews(first: 1) { rating } } }');
      const products = body.data!.products as { name: string; stock: null; reviews: unknown[] }[];
      expect(products).toHaveLength(3);
      expect(products.every((p) => p.name.length > 0 && p.stock === null && Array.isArray(p.reviews))).toBe(true);
      expect(codes(body)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(JSON.stringify(body)).not.toContain('127.0.0.1:9');
    } finally {
      await gateway?.stop();
      await orphan.stop();
    }
  });
});
