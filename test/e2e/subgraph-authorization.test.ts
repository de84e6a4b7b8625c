import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../gateway/src/core/context.js';
import { startSubgraph } from '../../subgraphs/shared/server.js';
import type { Permissions } from '../../subgraphs/shared/permissions.js';
import { gql } from '../support/servers.js';
import { as, asAdmin, identityToken, stackIdentity, startStack, type Stack } from '../support/stack.js';

// The subgraph layer: graphql-shield inside every subgraph and adapter, deny by default, rules
// with the data. Calls go through the gateway and, to prove the layer stands on its own, straight
// to the subgraphs with identity tokens as the gateway signs them.
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
const user = (id: string, extra: Partial<Identity> = {}): Identity => ({ kind: 'user', id, roles: [], scopes: [], ...extra });

/** POSTs to a subgraph directly, as the gateway would for `identity` (anonymous without). */
async function direct(url: string, query: string, identity?: Identity, variables?: Record<string, unknown>): Promise<Body> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (identity) headers['x-frontdesk-identity'] = await identityToken(identity);
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as Body;
}

describe('orders: a user sees only their own orders, admins see everyone\'s', () => {
  it('serves u1 their order o1 and refuses them u2\'s o2 with FORBIDDEN', async () => {
    const own = await direct(stack.orders.url, '{ order(id: "o1") { id customerId status } }', user('u1'));
    expect(own).toEqual({ data: { order: { id: 'o1', customerId: 'u1', status: expect.any(String) } } });
    const other = await direct(stack.orders.url, '{ order(id: "o2") { id status } }', user('u1'));
    expect(other.data).toEqual({ order: null });
    expect(codes(other)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(other)).not.toMatch(/PENDING|PAID|SHIPPED|DELIVERED|CANCELLED|stacktrace/);
  });

  it('serves an admin any order, and refuses anonymous callers before the ERP is called', async () => {
    const admin = await direct(stack.orders.url, '{ order(id: "o2") { id customerId } }', user('ops-1', { roles: ['admin'] }));
    expect(admin).toEqual({ data: { order: { id: 'o2', customerId: 'u2' } } });
    stack.erp.reset();
    const anonymous = await direct(stack.orders.url, '{ order(id: "o2") { id } }');
    expect(anonymous.data).toEqual({ order: null });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    expect(stack.erp.stats().total).toBe(0);
  });

  it('applies the same rule to User.orders reached as an entity (_entities), and allows _service', async () => {
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id orders(first: 1) { id } } } }';
    const variables = { r: [{ __typename: 'User', id: 'u1' }, { __typename: 'User', id: 'u2' }] };
    const body = await direct(stack.orders.url, query, user('u1'), variables);
    expect(body.data).toEqual({ _entities: [{ id: 'u1', orders: [{ id: expect.any(String) }] }, { id: 'u2', orders: null }] });
    expect(body.errors).toEqual([expect.objectContaining({ path: ['_entities', 1, 'orders'], extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
    const sdl = await direct(stack.orders.url, '{ _service { sdl } }');
    expect((sdl.data!._service as { sdl: string }).sdl).toContain('type Order');
  });

  it('shows u1 their orders through the gateway and refuses u2\'s, where the gateway alone could not tell', async () => {
    const { body } = await gql(stack.gateway.url, '{ mine: user(id: "u1") { orders(first: 2) { id } } theirs: user(id: "u2") { orders(first: 2) { id } } }', {
      headers: await as('u1', { scopes: ['orders:read'] }),
    });
    expect(body.data).toEqual({ mine: { orders: [{ id: expect.any(String) }, { id: expect.any(String) }] }, theirs: { orders: null } });
    expect(body.errors!.map((e) => [e.path, e.extensions!.code])).toEqual([[['theirs', 'orders'], 'FORBIDDEN']]);
  });
});

describe('the issue\'s acceptance query', () => {
  it('answers { me { name email orders } } with u1\'s data only, and me null with UNAUTHENTICATED for anonymous callers', async () => {
    const query = '{ me { id name email orders(first: 3) { status customerId } } product(id: "p1") { name } }';
    const { body } = await gql(stack.gateway.url, query, { headers: await as('u1', { scopes: ['orders:read'] }) });
    expect(body.errors).toBeUndefined();
    const me = body.data!.me as { id: string; email: string; orders: { customerId: string }[] };
    expect(me).toMatchObject({ id: 'u1', email: expect.stringMatching(/1@example\.com$/) });
    expect(me.orders).toHaveLength(3);
    expect(me.orders.every((o) => o.customerId === 'u1')).toBe(true);
    const anonymous = await gql(stack.gateway.url, query);
    expect(anonymous.body.data).toEqual({ me: null, product: { name: expect.any(String) } });
    expect(anonymous.body.errors).toEqual([expect.objectContaining({ path: ['me'], extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
  });
});

describe('placeOrder and cancelOrder: only for the customer themselves', () => {
  const place = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id customerId } }';
  const writer = (id: string) => as(id, { scopes: ['orders:read', 'orders:write'] });

  it('refuses u1 placing an order for u2 before the ERP is called, and lets u2 place it', async () => {
    const input = { customerId: 'u2', lines: [{ productId: 'p1', quantity: 1 }] };
    const refused = await gql(stack.gateway.url, place, { variables: { input }, headers: await writer('u1') });
    expect(refused.body.data).toEqual({ placeOrder: null });
    expect(codes(refused.body)).toEqual(['FORBIDDEN']);
    expect(stack.erp.stats().byOperation.PlaceOrder).toBeUndefined();
    const placed = await gql(stack.gateway.url, place, { variables: { input }, headers: await writer('u2') });
    expect(placed.body.data).toEqual({ placeOrder: { id: expect.any(String), customerId: 'u2' } });
  });

  it('lets the ERP refuse cancelling another customer\'s order: the adapter names the caller in a SOAP header', async () => {
    const placed = await gql(stack.gateway.url, place, { variables: { input: { customerId: 'u8', lines: [{ productId: 'p2', quantity: 1 }] } }, headers: await writer('u8') });
    const id = (placed.body.data!.placeOrder as { id: string }).id;
    const refused = await gql(stack.gateway.url, `mutation { cancelOrder(id: "${id}") { id status } }`, { headers: await writer('u9') });
    expect(refused.body.data).toEqual({ cancelOrder: null });
    expect(codes(refused.body)).toEqual(['FORBIDDEN']);
    const still = await gql(stack.gateway.url, `{ order(id: "${id}") { status } }`, { headers: await writer('u8') });
    expect(still.body.data).toEqual({ order: { status: 'PENDING' } });
    expect(stack.erp.stats().recent.filter((r) => r.operation === 'CancelOrder').map((r) => r.caller)).toEqual(['u9']);
    const cancelled = await gql(stack.gateway.url, `mutation { cancelOrder(id: "${id}") { status } }`, { headers: await writer('u8') });
    expect(cancelled.body.data).toEqual({ cancelOrder: { status: 'CANCELLED' } });
  });
});

describe('accounts: a user sees only their own email', () => {
  it('serves u4 their email, refuses them u5\'s, and serves an admin both', async () => {
    const query = '{ a: user(id: "u4") { email } b: user(id: "u5") { name email } }';
    const u4 = await gql(stack.gateway.url, query, { headers: await as('u4') });
    expect(u4.body.data).toEqual({ a: { email: expect.stringMatching(/4@example\.com$/) }, b: { name: expect.any(String), email: null } });
    expect(u4.body.errors!.map((e) => [e.path, e.extensions!.code])).toEqual([[['b', 'email'], 'FORBIDDEN']]);
    const admin = await gql(stack.gateway.url, query, { headers: await asAdmin() });
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data).toEqual({ a: { email: expect.any(String) }, b: { name: expect.any(String), email: expect.stringMatching(/5@example\.com$/) } });
  });

  it('guards the email of users reached through reviews the same way', async () => {
    const author = ((await gql(stack.gateway.url, '{ review(id: "r3") { author { id } } }')).body.data!.review as { author: { id: string } }).author.id;
    const other = author === 'u1' ? 'u2' : 'u1';
    const { body } = await gql(stack.gateway.url, '{ review(id: "r3") { author { email } } }', { headers: await as(other) });
    expect(body.data).toEqual({ review: { author: { email: null } } });
    expect(codes(body)).toEqual(['FORBIDDEN']);
  });
});

describe('products: POST /v1/products only with catalog:write', () => {
  const mutation = 'mutation { createProduct(input: { sku: "LMP-7", name: "Desk lamp", category: LAMPS, price: { amount: "39.00", currency: EUR }, weightKg: 1.2, dimensions: { widthCm: 20, depthCm: 20, heightCm: 45 } }) { id } }';

  it('refuses the adapter call without the scope, even when the gateway is bypassed, and never calls the catalog', async () => {
    const refused = await direct(stack.products.url, mutation, user('u1', { scopes: ['catalog:read'], roles: ['merchant'] }));
    expect(refused.data).toEqual({ createProduct: null });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(stack.catalog.stats().total).toBe(0);
    const allowed = await direct(stack.products.url, mutation, user('u1', { scopes: ['catalog:write'] }));
    expect(allowed.errors).toBeUndefined();
    expect(stack.catalog.stats().recent).toEqual([expect.objectContaining({ operation: 'createProduct', caller: 'u1' })]);
  });
});

describe('identity to the legacy services, as each mapping says', () => {
  it('names the caller to the catalog in a header, to the warehouse in gRPC metadata, and to nobody for anonymous calls', async () => {
    await gql(stack.gateway.url, '{ product(id: "p3") { name stock } }', { headers: await as('u12', { tenant: 'acme' }) });
    expect(stack.catalog.stats().recent.map((r) => r.caller)).toEqual(['u12']);
    expect(stack.warehouse.stats().recent.map((r) => r.caller)).toEqual(['u12']);
    await gql(stack.gateway.url, 'mutation { reserveStock(productId: "p3", quantity: 1) { reservationId } }', { headers: await as('clerk-7', { scopes: ['inventory:write'] }) });
    expect(stack.warehouse.stats().recent.filter((r) => r.operation === 'Reserve').map((r) => r.caller)).toEqual(['clerk-7']);
    stack.catalog.reset();
    // A client cannot pose as someone: the header is the adapter's, never the client's.
    await gql(stack.gateway.url, '{ product(id: "p4") { name } }', { headers: { 'x-catalog-user': 'ceo' } });
    expect(stack.catalog.stats().recent).toEqual([expect.not.objectContaining({ caller: expect.anything() })]);
  });
});

describe('deny by default', () => {
  const sdl = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
    type Query { open: String listed: Thing unlisted: String }
    type Thing @key(fields: "id") { id: ID! name: String }
    type Secret { value: String }`;
  const resolvers = {
    Query: { open: () => 'open', listed: () => ({ id: 't1', name: 'thing' }), unlisted: () => 'leaked' },
    Thing: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `thing ${ref.id}` }) },
  };
  const start = async (permissions: Permissions) =>
    startSubgraph({ name: 'deny-test', sdl, resolvers, permissions: { rules: permissions, source: 'deny-test' }, context: (base) => base, logLevel: 'silent', identity: await stackIdentity() });

  it('refuses every field without a rule with FORBIDDEN (UNAUTHENTICATED when anonymous), federation fields excepted', async () => {
    const subgraph = await start({ rules: {}, types: { Query: { open: 'allow', listed: 'allow' }, Thing: { id: 'allow' } } });
    try {
      const anonymous = await direct(subgraph.url, '{ open unlisted listed { id name } }');
      expect(anonymous.data).toEqual({ open: 'open', unlisted: null, listed: { id: 't1', name: null } });
      expect(anonymous.errors!.map((e) => [e.path, e.extensions!.code])).toEqual([
        [['unlisted'], 'UNAUTHENTICATED'],
        [['listed', 'name'], 'UNAUTHENTICATED'],
      ]);
      const signedIn = await direct(subgraph.url, '{ unlisted }', user('u1'));
      expect(codes(signedIn)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(signedIn)).not.toContain('leaked');
      const entities = await direct(subgraph.url, '{ _entities(representations: [{ __typename: "Thing", id: "t2" }]) { ... on Thing { id } } _service { sdl } }');
      expect(entities.errors).toBeUndefined();
      expect(entities.data!._entities).toEqual([{ id: 't2' }]);
    } finally {
      await subgraph.stop();
    }
  });

  it('refuses to start with a rule for a field the subgraph does not have, an unknown rule or a loop', async () => {
    await expect(start({ rules: {}, types: { Query: { missing: 'allow' } } })).rejects.toThrow('Permissions deny-test: Query.missing is not a field of this subgraph');
    await expect(start({ rules: {}, types: { Query: { open: { rule: 'nope' } } } })).rejects.toThrow('types.Query.open uses unknown rule nope');
    await expect(start({ rules: { loop: { rule: 'loop' } }, types: {} })).rejects.toThrow('rule loop refers to itself');
  });
});
