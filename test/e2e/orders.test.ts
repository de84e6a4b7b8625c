import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSoapAdapter } from '../../adapters/soap/adapter.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { seedProducts } from '../../legacy/catalog/data.js';
import { gql } from '../support/servers.js';
import { as, asAdmin, ERP_CREDENTIALS, identityToken, ORDERS_MAPPING, stackIdentity, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

// The legacy ERP (SOAP) through the generated orders subgraph, joined to every other subgraph.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterEach(() => {
  for (const standIn of [stack.erp, stack.catalog, stack.warehouse]) standIn.reset();
});
afterAll(async () => {
  await stack?.stop();
});

type Body = Awaited<ReturnType<typeof gql>>['body'];
const codes = (body: Body) => [...new Set((body.errors ?? []).map((e) => e.extensions?.code))];
const PRICES = new Map(seedProducts().map((p) => [p.id, p.price.amount]));
const cents = (amount: string) => BigInt(amount.replace('.', ''));

const DEMO = `{ user(id: "u1") { name orders(first: 5) { status total { amount currency } lines { quantity product { name inStock reviews(first: 2) { rating } } } } } }`;

describe('orders from the legacy ERP', () => {
  it('answers the demo query with data from all five subgraphs in one request', async () => {
    const { body } = await gql(stack.gateway.url, DEMO, { headers: { 'x-request-id': 'demo-1', ...(await as('u1', { scopes: ['orders:read'] })) } });
    expect(body.errors).toBeUndefined();
    const user = body.data!.user as {
      name: string;
      orders: { status: string; total: { amount: string; currency: string }; lines: { quantity: number; product: { name: string; inStock: boolean; reviews: { rating: number }[] } }[] }[];
    };
    expect(user.name.length).toBeGreaterThan(0); // accounts
    expect(user.orders).toHaveLength(3); // orders (SOAP): three seeded per user
    for (const order of user.orders) {
      expect(['PENDING', 'PAID', 'SHIPPED', 'DELIVERED']).toContain(order.status);
      expect(order.total).toMatchObject({ amount: expect.stringMatching(/^\d+\.\d{2}$/), currency: 'EUR' });
      for (const line of order.lines) {
        expect(line.quantity).toBeGreaterThan(0);
        expect(line.product.name.length).toBeGreaterThan(0); // products (REST)
        expect(typeof line.product.inStock).toBe('boolean'); // inventory (gRPC)
        expect(line.product.reviews.length).toBeLessThanOrEqual(2); // reviews
      }
    }
    // One call per legacy system, all carrying the request id.
    expect(stack.erp.stats().byOperation).toEqual({ ListOrdersByCustomer: 1 });
    expect(stack.catalog.stats().byOperation).toEqual({ listProducts: 1 });
    expect(stack.warehouse.stats().byOperation).toEqual({ BatchGetStock: 1 });
    for (const s of [stack.erp, stack.catalog, stack.warehouse]) expect(s.stats().recent.every((r) => r.requestId === 'demo-1')).toBe(true);
  });

  it('keeps totals exact decimals that match the lines', async () => {
    const { body } = await gql(stack.gateway.url, '{ user(id: "u2") { orders(first: 10) { total { amount } lines { productId quantity unitPrice { amount } } } } }', { headers: await as('u2', { scopes: ['orders:read'] }) });
    const orders = (body.data!.user as { orders: { total: { amount: string }; lines: { productId: string; quantity: number; unitPrice: { amount: string } }[] }[] }).orders;
    for (const order of orders) {
      const sum = order.lines.reduce((acc, line) => acc + cents(line.unitPrice.amount) * BigInt(line.quantity), 0n);
      expect(cents(order.total.amount)).toBe(sum);
      for (const line of order.lines) expect(line.unitPrice.amount).toBe(PRICES.get(line.productId));
    }
  });

  it('pages through a user\'s orders with first and after', async () => {
    const u5 = { headers: await as('u5', { scopes: ['orders:read'] }) };
    const first = await gql(stack.gateway.url, '{ user(id: "u5") { orders(first: 2) { id } } }', u5);
    const page1 = (first.body.data!.user as { orders: { id: string }[] }).orders;
    expect(page1).toHaveLength(2);
    const second = await gql(stack.gateway.url, `{ user(id: "u5") { orders(first: 2, after: "${page1[1]!.id}") { id } } }`, u5);
    const page2 = (second.body.data!.user as { orders: { id: string }[] }).orders;
    expect(page2).toHaveLength(1);
    expect(page1.map((o) => o.id)).not.toContain(page2[0]!.id);
  });

  it('resolves an order with its customer, attributes and int64 revision', async () => {
    const { body } = await gql(stack.gateway.url, '{ order(id: "o1") { id status placedAt revision note customer { name } lines { product { id name } } } }', { headers: await asAdmin() });
    expect(body.errors).toBeUndefined();
    expect(body.data!.order).toMatchObject({
      id: 'o1',
      revision: '9007199254740994',
      note: null,
      customer: { name: expect.any(String) },
      placedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const withNote = await gql(stack.gateway.url, '{ order(id: "o5") { note } }', { headers: await asAdmin() });
    expect(withNote.body.data).toEqual({ order: { note: 'Leave at the back door' } });
  });

  it('answers an unknown order with null and NOT_FOUND', async () => {
    const { body } = await gql(stack.gateway.url, '{ order(id: "o999") { id } }', { headers: await asAdmin() });
    expect(body.data).toEqual({ order: null });
    expect(body.errors![0]).toMatchObject({ extensions: { code: 'NOT_FOUND' }, path: ['order'] });
  });
});

describe('placeOrder and cancelOrder', () => {
  const place = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status customer { name } total { amount currency } lines { quantity unitPrice { amount } product { name } } } }';

  it('creates an order with an exact total that the next query returns', async () => {
    const input = { customerId: 'u3', lines: [{ productId: 'p1', quantity: 3 }, { productId: 'p2', quantity: 1 }], note: 'Ring twice' };
    const u3 = await as('u3', { scopes: ['orders:read', 'orders:write'] });
    const { body } = await gql(stack.gateway.url, place, { variables: { input }, headers: u3 });
    expect(body.errors).toBeUndefined();
    const order = body.data!.placeOrder as { id: string; status: string; total: { amount: string } };
    expect(order.status).toBe('PENDING');
    const expected = cents(PRICES.get('p1')!) * 3n + cents(PRICES.get('p2')!);
    expect(cents(order.total.amount)).toBe(expected);
    const again = await gql(stack.gateway.url, `{ order(id: "${order.id}") { id note total { amount } } user(id: "u3") { orders(first: 1) { id } } }`, { headers: u3 });
    expect(again.body.data).toEqual({ order: { id: order.id, note: 'Ring twice', total: { amount: order.total.amount } }, user: { orders: [{ id: order.id }] } });
  });

  it.each([
    [{ customerId: 'u1', lines: [{ productId: 'p999', quantity: 1 }] }, 'unknown product p999'],
    [{ customerId: 'u1', lines: [{ productId: 'p1', quantity: 0 }] }, 'quantity for p1 must be 1..99, got 0'],
    [{ customerId: 'u1', lines: [] }, 'an order needs at least one line'],
    [{ customerId: 'u999', lines: [{ productId: 'p1', quantity: 1 }] }, 'unknown customer u999'],
  ])('answers an invalid order %o with BAD_USER_INPUT naming the problem', async (input, problem) => {
    const { body } = await gql(stack.gateway.url, place, { variables: { input }, headers: await asAdmin() });
    expect(body.data).toEqual({ placeOrder: null });
    expect(body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: `erp rejected the input: ${problem}` });
  });

  it('cancels an order, and refuses to cancel one that has shipped', async () => {
    const u4 = { headers: await as('u4', { scopes: ['orders:read', 'orders:write'] }) };
    const placed = await gql(stack.gateway.url, place, { variables: { input: { customerId: 'u4', lines: [{ productId: 'p3', quantity: 1 }] } }, ...u4 });
    const id = (placed.body.data!.placeOrder as { id: string }).id;
    const cancelled = await gql(stack.gateway.url, `mutation { cancelOrder(id: "${id}") { id status } }`, u4);
    expect(cancelled.body.data).toEqual({ cancelOrder: { id, status: 'CANCELLED' } });
    const u6 = { headers: await as('u6', { scopes: ['orders:read', 'orders:write'] }) };
    const shipped = (await gql(stack.gateway.url, '{ user(id: "u6") { orders(first: 10) { id status } } }', u6)).body.data!.user as { orders: { id: string; status: string }[] };
    const done = shipped.orders.find((o) => o.status === 'SHIPPED' || o.status === 'DELIVERED')!;
    const refused = await gql(stack.gateway.url, `mutation { cancelOrder(id: "${done.id}") { id } }`, u6);
    expect(refused.body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: `erp rejected the input: order ${done.id} has shipped and cannot be cancelled` });
  });
});

describe('ERP failures', () => {
  it('answers ERP 503 with UPSTREAM_UNAVAILABLE on order fields while the rest is served', async () => {
    stack.erp.setFaults({ errorRate: 1 });
    const { body } = await gql(stack.gateway.url, '{ user(id: "u1") { name reviews(first: 1) { rating } orders(first: 2) { id } } }', { headers: await asAdmin() });
    expect(body.data).toMatchObject({ user: { name: expect.any(String), reviews: [{ rating: expect.any(Number) }], orders: null } });
    expect(codes(body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(JSON.stringify(body)).not.toMatch(/erp-db-01|maintenance/);
  });

  it('retries a query call once on 503, never a mutation (placeOrder is sent once)', async () => {
    stack.erp.reset();
    stack.erp.setFaults({ errorRate: 1 });
    const query = await gql(stack.gateway.url, '{ order(id: "o1") { id } }', { headers: await asAdmin() });
    expect(codes(query.body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    const u2 = { headers: await as('u2', { scopes: ['orders:read', 'orders:write'] }) };
    const placed = await gql(stack.gateway.url, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }', { variables: { input: { customerId: 'u2', lines: [{ productId: 'p1', quantity: 1 }] } }, ...u2 });
    expect(codes(placed.body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    const calls = stack.erp.stats().byOperation;
    expect(calls.PlaceOrder).toBe(1);
    expect(Object.entries(calls).filter(([name]) => name !== 'PlaceOrder').reduce((n, [, count]) => n + count, 0)).toBe(2);
  });

  it('answers malformed XML with BAD_UPSTREAM_RESPONSE', async () => {
    stack.erp.setFaults({ malformed: true });
    const { body } = await gql(stack.gateway.url, '{ order(id: "o1") { id } }', { headers: await asAdmin() });
    expect(body.data).toEqual({ order: null });
    expect(codes(body)).toEqual(['BAD_UPSTREAM_RESPONSE']);
  });

  it('answers a slow ERP with UPSTREAM_TIMEOUT at the deadline', async () => {
    stack.erp.setFaults({ latencyMs: 10_000 });
    const started = Date.now();
    const { body } = await gql(stack.gateway.url, '{ order(id: "o2") { id } }', { headers: await asAdmin() });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(codes(body)).toEqual(['UPSTREAM_TIMEOUT']);
  });

  it('answers UPSTREAM_UNAVAILABLE on order fields when the ERP is down', async () => {
    const orphan = await startSoapAdapter({ mappingPath: ORDERS_MAPPING, endpoint: 'http://127.0.0.1:9/soap/orders', logLevel: 'silent', env: ERP_CREDENTIALS, identity: await stackIdentity() });
    let gateway: RunningGateway | undefined;
    try {
      gateway = await startStackGatewayWith(stack, { orders: orphan });
      const { body } = await gql(gateway.url, '{ user(id: "u1") { name orders(first: 1) { id } } product(id: "p1") { name stock } }', { headers: await asAdmin() });
      expect(body.data).toMatchObject({ user: { name: expect.any(String), orders: null }, product: { name: expect.any(String), stock: expect.any(Number) } });
      expect(codes(body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    } finally {
      await gateway?.stop();
      await orphan.stop();
    }
  });

  it('answers UNAUTHENTICATED when the ERP refuses the UsernameToken', async () => {
    const wrong = await startSoapAdapter({
      mappingPath: ORDERS_MAPPING,
      endpoint: stack.erp.endpoint,
      logLevel: 'silent',
      env: { ERP_USERNAME: 'test-user', ERP_PASSWORD: 'wrong' },
      identity: await stackIdentity(),
    });
    try {
      const admin = await identityToken({ kind: 'user', id: 'admin-1', roles: ['admin'], scopes: [] });
      const response = await fetch(wrong.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-frontdesk-identity': admin },
        body: JSON.stringify({ query: '{ order(id: "o1") { id } }' }),
      });
      const body = (await response.json()) as Body;
      expect(codes(body)).toEqual(['UNAUTHENTICATED']);
      // The ERP itself refused the adapter (not a denial by the subgraph's permissions).
      expect(body.errors![0]!.message).toBe('erp requires credentials');
    } finally {
      await wrong.stop();
    }
  });

  it('refuses to start without the credentials its mapping names', async () => {
    await expect(startSoapAdapter({ mappingPath: ORDERS_MAPPING, endpoint: stack.erp.endpoint, logLevel: 'silent', env: {} })).rejects.toThrow(
      'usernameToken.username: ${ERP_USERNAME} needs an environment variable that is not set',
    );
  });
});
