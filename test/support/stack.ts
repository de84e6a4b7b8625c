import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import type { Identity } from '../../gateway/src/core/context.js';
import { IdentitySigner, type IdentityVerifierOptions } from '../../gateway/src/plugins/auth/index.js';
import { startGrpcAdapter, type RunningGrpcAdapter } from '../../adapters/grpc/adapter.js';
import { startRestAdapter, type RunningRestAdapter } from '../../adapters/rest/adapter.js';
import { startSoapAdapter, type RunningSoapAdapter } from '../../adapters/soap/adapter.js';
import { startCatalog, type RunningCatalog } from '../../legacy/catalog/server.js';
import { startErp, type RunningErp } from '../../legacy/erp/server.js';
import { startWarehouse, type RunningWarehouse } from '../../legacy/warehouse/server.js';
import { startAccounts } from '../../subgraphs/accounts/server.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { startReviews } from '../../subgraphs/reviews/server.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { freePort, startProcess } from '../../bench/harness.js';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import type { TracingOptions } from '../../gateway/src/core/tracing.js';
import type { Logger } from '../../gateway/src/core/logger.js';
import { COMMITTED_SUPERGRAPH, startTestGateway, tempDir } from './servers.js';

export const PRODUCTS_MAPPING = projectPath('adapters', 'services', 'products', 'products.rest.yaml');
export const INVENTORY_MAPPING = projectPath('adapters', 'services', 'inventory', 'inventory.grpc.yaml');
export const ORDERS_MAPPING = projectPath('adapters', 'services', 'orders', 'orders.soap.yaml');
export const ERP_CREDENTIALS = { ERP_USERNAME: 'test-user', ERP_PASSWORD: 'test-secret' };
export const CATALOG_ADMIN_TOKEN = 'test-admin-token';

/** The test stack's token issuer: HS256 with this secret (the gateway's auth.jwt). */
export const TEST_JWT_SECRET = 'the-test-stack-jwt-secret-of-32-chars';
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
export const STACK_AUTH = {
  jwt: { algorithms: ['HS256' as const], hmacSecret: TEST_JWT_SECRET },
  identity: { privateKeyPem: IDENTITY_KEY },
};
export const GATEWAY_PERMISSIONS = projectPath('schema', 'permissions.yaml');
const SIGNER = new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: IDENTITY_KEY });

/** How the stack's subgraphs verify the gateway's identity token. */
export async function stackIdentity(): Promise<IdentityVerifierOptions> {
  return { jwks: await SIGNER.jwks };
}

/** An identity token as the stack's gateway would sign it, for calling a subgraph directly. */
export function identityToken(identity: Identity): Promise<string> {
  return SIGNER.token(identity);
}

/** A gateway on the committed supergraph over these subgraphs, secured like the stack's, plus `extra` settings (e.g. responseCache). */
export function startStackGateway(subgraphs: NonNullable<FrontdeskConfigInput['subgraphs']>, extra: FrontdeskConfigInput = {}, options: { logger?: Logger } = {}): Promise<RunningGateway> {
  return startTestGateway(
    {
      supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
      subgraphs,
      auth: STACK_AUTH,
      authorization: { permissionsFile: GATEWAY_PERMISSIONS },
      ...extra,
    },
    options,
  );
}

export interface Caller {
  roles?: string[];
  scopes?: string[];
  tenant?: string;
  plan?: string;
}

/** A bearer token from the test issuer for `sub`. */
export function testToken(sub: string, caller: Caller = {}): Promise<string> {
  const claims: Record<string, unknown> = { roles: caller.roles ?? [], scope: (caller.scopes ?? []).join(' ') };
  if (caller.tenant) claims.tenant = caller.tenant;
  if (caller.plan) claims.plan = caller.plan;
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

/** Request headers that sign in as `sub`. */
export async function as(sub: string, caller: Caller = {}): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await testToken(sub, caller)}` };
}

/** An operator who may read and write everything (role admin). */
export const asAdmin = (): Promise<Record<string, string>> => as('admin-1', { roles: ['admin'] });

const SUBGRAPHS = ['accounts', 'reviews', 'products', 'inventory', 'orders'] as const;
type SubgraphName = (typeof SUBGRAPHS)[number];

/** The gateway's subgraph URLs: the stack's own, or a replacement where one is given. */
export function subgraphUrls(running: Record<SubgraphName, { url: string }>, replaced: Partial<Record<SubgraphName, { url: string }>> = {}): Record<string, { url: string }> {
  return Object.fromEntries(SUBGRAPHS.map((name) => [name, { url: (replaced[name] ?? running[name]).url }]));
}

/** A second gateway over the stack's subgraphs, with some replaced (e.g. by an adapter whose service is down). */
export function startStackGatewayWith(stack: Stack, replaced: Partial<Record<SubgraphName, { url: string }>>, extra: FrontdeskConfigInput = {}, options: { logger?: Logger } = {}): Promise<RunningGateway> {
  return startStackGateway(subgraphUrls(stack, replaced), extra, options);
}

/**
 * Another gateway over the stack's subgraphs as its own process (the built CLI, as an operator
 * runs a replica), configured like the stack's gateway plus `extra`. Needs `npm run build`.
 */
export async function startStackGatewayProcess(stack: Stack, extra: FrontdeskConfigInput = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const file = join(tempDir(), 'frontdesk.config.json');
  const config = {
    server: { host: '127.0.0.1' },
    supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
    subgraphs: subgraphUrls(stack),
    auth: STACK_AUTH,
    authorization: { permissionsFile: GATEWAY_PERMISSIONS },
    ...extra,
  };
  writeFileSync(file, JSON.stringify(config));
  const port = await freePort();
  const gateway = await startProcess('dist/gateway/src/main.js', ['--config', file, '--port', String(port)], {}, `http://127.0.0.1:${port}/ready`);
  return { url: `http://127.0.0.1:${port}/graphql`, stop: () => gateway.stop() };
}

/** Counts the HTTP requests the stack's subgraph servers receive (the gateway's subgraph fetches). */
export function subgraphRequests(stack: Stack): { count(): number; reset(): void } {
  let count = 0;
  for (const name of SUBGRAPHS) stack[name].server.on('request', () => (count += 1));
  return { count: () => count, reset: () => (count = 0) };
}

/** Calls of every legacy stand-in together (catalog REST, warehouse gRPC, ERP SOAP). */
export function legacyCalls(stack: Stack): number {
  return stack.catalog.stats().total + stack.warehouse.stats().total + stack.erp.stats().total;
}

export interface Stack {
  catalog: RunningCatalog;
  warehouse: RunningWarehouse;
  inventory: RunningGrpcAdapter;
  erp: RunningErp;
  orders: RunningSoapAdapter;
  accounts: RunningSubgraph;
  reviews: RunningSubgraph;
  products: RunningRestAdapter;
  gateway: RunningGateway;
  stop(): Promise<void>;
}

/**
 * The committed supergraph with every service on port 0: legacy stand-ins, subgraphs, adapters,
 * gateway; secured as in production: the gateway verifies tokens of the test issuer and applies
 * schema/permissions.yaml, every subgraph verifies the gateway's identity token and applies its
 * own permissions.
 */
export async function startStack(options: { gateway?: FrontdeskConfigInput; tracing?: TracingOptions } = {}): Promise<Stack> {
  const identity = await stackIdentity();
  // Traces from every subgraph and adapter when asked; none otherwise (whatever the environment says).
  const tracing = options.tracing ?? false;
  const [catalog, warehouse, erp] = await Promise.all([
    startCatalog({ logLevel: 'silent', adminToken: CATALOG_ADMIN_TOKEN }),
    startWarehouse({ logLevel: 'silent' }),
    startErp({ logLevel: 'silent', username: ERP_CREDENTIALS.ERP_USERNAME, password: ERP_CREDENTIALS.ERP_PASSWORD }),
  ]);
  const [accounts, reviews, products, inventory, orders] = await Promise.all([
    startAccounts({ logLevel: 'silent', identity, tracing: tracing && { ...tracing, serviceName: 'accounts' } }),
    startReviews({ logLevel: 'silent', identity, tracing: tracing && { ...tracing, serviceName: 'reviews' } }),
    startRestAdapter({
      mappingPath: PRODUCTS_MAPPING,
      targetUrl: catalog.url,
      logLevel: 'silent',
      env: { CATALOG_ADMIN_TOKEN },
      identity,
      tracing: tracing && { ...tracing, serviceName: 'products' },
    }),
    startGrpcAdapter({ mappingPath: INVENTORY_MAPPING, address: warehouse.address, logLevel: 'silent', env: {}, identity, tracing: tracing && { ...tracing, serviceName: 'inventory' } }),
    startSoapAdapter({ mappingPath: ORDERS_MAPPING, endpoint: erp.endpoint, logLevel: 'silent', env: ERP_CREDENTIALS, identity, tracing: tracing && { ...tracing, serviceName: 'orders' } }),
  ]);
  const gateway = await startStackGateway(subgraphUrls({ accounts, reviews, products, inventory, orders }), { ...(options.tracing ? { tracing: options.tracing } : {}), ...options.gateway });
  return {
    catalog,
    warehouse,
    inventory,
    erp,
    orders,
    accounts,
    reviews,
    products,
    gateway,
    async stop() {
      await gateway.stop();
      await Promise.all([accounts.stop(), reviews.stop(), products.stop(), inventory.stop(), orders.stop()]);
      await Promise.all([catalog.stop(), warehouse.stop(), erp.stop()]);
    },
  };
}
