import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcAdapter } from '../../adapters/grpc/adapter.js';
import { startRestAdapter, type RunningRestAdapter } from '../../adapters/rest/adapter.js';
import { startSoapAdapter } from '../../adapters/soap/adapter.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { freePort, startProcess, type Proc } from '../../bench/harness.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { gql } from '../support/servers.js';
import { as, asAdmin, CATALOG_ADMIN_TOKEN, ERP_CREDENTIALS, INVENTORY_MAPPING, ORDERS_MAPPING, PRODUCTS_MAPPING, stackIdentity, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

/**
 * The REST adapter toward the legacy catalog through the gateway's resilience module: several
 * catalog URLs, a hung catalog process (SIGSTOP), retries of queries only.
 */
let stack: Stack;
let catalog: Proc;
let catalogUrl: string;
const adapters: (RunningRestAdapter | RunningSubgraph)[] = [];
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  stack = await startStack();
  const port = await freePort();
  catalogUrl = `http://127.0.0.1:${port}`;
  catalog = await startProcess('dist/legacy/catalog/main.js', [], { PORT: String(port), HOST: '127.0.0.1', CATALOG_ADMIN_TOKEN }, `${catalogUrl}/ready`);
}, 60_000);
afterAll(async () => {
  catalog?.child.kill('SIGCONT');
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all(adapters.map((a) => a.stop()));
  await catalog?.stop();
  await stack?.stop();
});

/** A gateway whose products subgraph is a new adapter over these catalog URLs (comma separated, as TARGET_URL takes them). */
async function gatewayOverCatalog(targetUrl: string): Promise<RunningGateway> {
  const adapter = await startRestAdapter({ mappingPath: PRODUCTS_MAPPING, targetUrl, logLevel: 'silent', env: { CATALOG_ADMIN_TOKEN }, identity: await stackIdentity() });
  adapters.push(adapter);
  const gateway = await startStackGatewayWith(stack, { products: adapter });
  gateways.push(gateway);
  return gateway;
}

const QUERY = (id: string) => `{ product(id: "${id}") { name } user(id: "u1") { name } }`;

describe('an adapter over several catalog URLs', () => {
  it('one of them down: every query is answered by the other', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const gateway = await gatewayOverCatalog(`${dead},${stack.catalog.url}`);
    stack.catalog.reset();
    for (let i = 0; i < 20; i += 1) {
      const { body } = await gql(gateway.url, QUERY('p1'));
      expect(body.errors).toBeUndefined();
      expect(body.data?.product).toEqual({ name: expect.any(String) });
    }
    expect(stack.catalog.stats().byOperation.getProduct).toBe(20);
  });
});

describe('SOAP and gRPC adapters over several instances', () => {
  it('one ERP endpoint and one warehouse address down: every query is answered by the other', async () => {
    const deadPort = await freePort();
    const identity = await stackIdentity();
    const orders = await startSoapAdapter({ mappingPath: ORDERS_MAPPING, endpoint: `http://127.0.0.1:${deadPort}/soap/orders,${stack.erp.endpoint}`, logLevel: 'silent', env: ERP_CREDENTIALS, identity });
    const inventory = await startGrpcAdapter({ mappingPath: INVENTORY_MAPPING, address: `127.0.0.1:${deadPort},${stack.warehouse.address}`, logLevel: 'silent', env: {}, identity });
    adapters.push(orders, inventory);
    const gateway = await startStackGatewayWith(stack, { orders, inventory });
    gateways.push(gateway);
    const headers = await asAdmin();
    for (let i = 0; i < 10; i += 1) {
      const { body } = await gql(gateway.url, '{ order(id: "o1") { id } product(id: "p1") { stock } }', { headers });
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ order: { id: 'o1' }, product: { stock: expect.any(Number) } });
    }
  });
});

describe('a hung catalog (SIGSTOP)', () => {
  it('answers UPSTREAM_TIMEOUT at the adapter deadline while other fields are served, then the breaker opens: CIRCUIT_OPEN at once', async () => {
    const gateway = await gatewayOverCatalog(catalogUrl);
    expect((await gql(gateway.url, QUERY('p1'))).body.errors).toBeUndefined();
    catalog.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      const { body } = await gql(gateway.url, QUERY('p1'));
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(body.data).toEqual({ product: null, user: { name: 'Ada McCarthy' } });
      expect(body.errors?.[0]).toMatchObject({ message: 'catalog did not answer in time', path: ['product'], extensions: { code: 'UPSTREAM_TIMEOUT' } });
      // Enough timeouts within the breaker's window (20 over 10 s at the default minimum volume)...
      await Promise.all(Array.from({ length: 24 }, (_, i) => gql(gateway.url, QUERY(`p${i + 2}`))));
      // ...open it: the next call fails at once without waiting for the hung catalog.
      const open = Date.now();
      const after = await gql(gateway.url, QUERY('p1'));
      expect(after.body.data).toEqual({ product: null, user: { name: 'Ada McCarthy' } });
      expect(after.body.errors?.[0]).toMatchObject({ message: 'catalog is unavailable (circuit open)', path: ['product'], extensions: { code: 'CIRCUIT_OPEN' } });
      expect(Date.now() - open).toBeLessThan(1_500);
    } finally {
      catalog.child.kill('SIGCONT');
    }
  }, 30_000);
});

describe('retries toward the catalog', () => {
  it('retries a query on 503, never a mutation', async () => {
    const gateway = await gatewayOverCatalog(stack.catalog.url);
    stack.catalog.reset();
    stack.catalog.setFaults({ errorRate: 1 });
    try {
      const { body } = await gql(gateway.url, '{ product(id: "p1") { name } }');
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(stack.catalog.stats().byOperation.getProduct).toBe(2);
      const input = {
        sku: 'SOF-77777',
        name: 'Retry sofa',
        category: 'SOFAS',
        price: { amount: '999.00', currency: 'EUR' },
        weightKg: 50,
        dimensions: { widthCm: 200, depthCm: 90, heightCm: 80 },
      };
      const created = await gql(gateway.url, 'mutation($input: NewProductInput!) { createProduct(input: $input) { id } }', {
        variables: { input },
        headers: await as('merchant-1', { scopes: ['catalog:write'] }),
      });
      expect(created.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(stack.catalog.stats().byOperation.createProduct).toBe(1);
    } finally {
      stack.catalog.setFaults({ errorRate: 0 });
    }
  });
});
