import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { print, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { deleteKeys, SHARED_REDIS_URL } from '../support/redis.js';
import { tempDir } from '../support/servers.js';
import { as, legacyCalls, startStack, startStackGateway, startStackGatewayProcess, subgraphUrls, type Stack } from '../support/stack.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: Record<string, unknown> }[]; extensions?: Record<string, unknown> } };
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

describe('operation limits by plan', () => {
  let gateway: RunningGateway;
  // 100 products, each with 41 reviews: 100 × (1 + 41) = 4200.
  const query = '{ products(first: 100) { name reviews(first: 41) { rating } } }';

  beforeAll(async () => {
    gateway = await startStackGateway(subgraphUrls(stack), {
      limits: { all: { cost: 10_000 }, plans: { free: { cost: 3000 }, anonymous: { cost: 2500, depth: 6 } } },
    });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('serves a query within its plan\'s cost and refuses it for a cheaper plan, before any subgraph call', async () => {
    const served = await post(gateway.url, { query }, await as('u1', { plan: 'pro' }));
    expect(served.status).toBe(200);
    expect(served.body.errors).toBeUndefined();
    const before = legacyCalls(stack);
    const refused = await post(gateway.url, { query }, await as('u1', { plan: 'free' }));
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limits: { limit: 'cost', measured: 4200, max: 3000, plan: 'free' } });
    const anonymous = await post(gateway.url, { query });
    expect(anonymous.body.errors?.[0]?.extensions?.limits).toMatchObject({ limit: 'cost', max: 2500, plan: 'anonymous' });
    expect(legacyCalls(stack)).toBe(before);
  });

  it('returns the estimated cost in extensions when the request asks for it', async () => {
    const answer = await post(gateway.url, { query, extensions: { cost: true } }, await as('u1', { plan: 'pro' }));
    expect(answer.status).toBe(200);
    expect(answer.body.extensions?.cost).toEqual({ estimated: 4200, max: 10_000, plan: 'pro' });
    const unasked = await post(gateway.url, { query }, await as('u1', { plan: 'pro' }));
    expect(unasked.body.extensions?.cost).toBeUndefined();
  });

  it('counts a slicing argument given by a variable, and its default when absent', async () => {
    const byVariable = await post(gateway.url, { query: 'query($n: Int) { products(first: $n) { name } }', variables: { n: 7 }, extensions: { cost: true } });
    expect(byVariable.body.extensions?.cost).toMatchObject({ estimated: 7 });
    const byDefault = await post(gateway.url, { query: '{ user(id: "u1") { reviews { rating } } }', extensions: { cost: true } });
    // user 1 + reviews(first: 20 by default) × 1
    expect(byDefault.body.extensions?.cost).toMatchObject({ estimated: 21 });
  });
});

describe('trusted documents in production', () => {
  let gateway: RunningGateway;
  const manifest = JSON.parse(readFileSync(projectPath('schema', 'persisted-query-manifest.json'), 'utf8')) as { operations: { id: string; name: string; body: string }[] };
  const productPage = manifest.operations.find((op) => op.name === 'ProductPage')!;

  beforeAll(async () => {
    const partner = join(tempDir(), 'partner.json');
    writeFileSync(partner, JSON.stringify({ [sha256('query Ping { __typename }')]: 'query Ping { __typename }' }));
    const { startTestGateway } = await import('../support/servers.js');
    const { STACK_AUTH, GATEWAY_PERMISSIONS } = await import('../support/stack.js');
    const { COMMITTED_SUPERGRAPH } = await import('../support/servers.js');
    gateway = await startTestGateway(
      {
        supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
        subgraphs: subgraphUrls(stack),
        auth: STACK_AUTH,
        authorization: { permissionsFile: GATEWAY_PERMISSIONS },
        persistedDocuments: {
          manifests: [
            { name: 'demo', path: projectPath('schema', 'persisted-query-manifest.json') },
            { name: 'partner', path: partner },
          ],
          enforcement: 'enforce',
          safelists: { plans: { anonymous: ['demo'] }, clients: {} },
        },
      },
      { production: true },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('refuses an operation no manifest lists, before any subgraph call', async () => {
    const before = legacyCalls(stack);
    const answer = await post(gateway.url, { query: '{ product(id: "p1") { name } }' });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_ALLOWED');
    expect(legacyCalls(stack)).toBe(before);
  });

  it('runs a listed operation by its id (Apollo) and by its document id (Relay)', async () => {
    const byHash = await post(gateway.url, { variables: { id: 'p1' }, extensions: { persistedQuery: { version: 1, sha256Hash: productPage.id } } });
    expect(byHash.status).toBe(200);
    expect(byHash.body.data?.product).toMatchObject({ id: 'p1', name: 'Oslo corner sofa' });
    const byDocId = await post(gateway.url, { doc_id: productPage.id, variables: { id: 'p2' } });
    expect(byDocId.body.data?.product).toMatchObject({ id: 'p2' });
  });

  it('runs a listed operation sent as full text, in the manifest\'s spelling or another', async () => {
    const exact = await post(gateway.url, { query: productPage.body, variables: { id: 'p1' } });
    expect(exact.status).toBe(200);
    const respelt = print(parse(productPage.body)).replace(/\n\s*/g, ' ');
    const other = await post(gateway.url, { query: `# from the app\n${respelt}`, variables: { id: 'p1' } });
    expect(other.status).toBe(200);
    expect(other.body.data?.product).toMatchObject({ id: 'p1' });
  });

  it('keeps each caller to the manifests of its safelist', async () => {
    const ping = 'query Ping { __typename }';
    const anonymous = await post(gateway.url, { query: ping });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_ALLOWED');
    const signedIn = await post(gateway.url, { query: ping }, await as('u1'));
    expect(signedIn.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('does not let APQ register its way past enforcement', async () => {
    const query = '{ product(id: "p1") { name } }';
    const register = await post(gateway.url, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    expect(register.body.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_ALLOWED');
    const byHash = await post(gateway.url, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    expect(byHash.status).toBe(400);
    // The refused text was never registered.
    expect(byHash.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('automatic persisted queries shared by replicas through Redis', () => {
  const prefix = 'frontdesk:apq:';
  let first: { url: string; stop(): Promise<void> };
  let second: { url: string; stop(): Promise<void> };
  const config = { redis: { url: SHARED_REDIS_URL }, persistedDocuments: { apq: { enabled: true, ttlSeconds: 60 } } };

  beforeAll(async () => {
    [first, second] = await Promise.all([startStackGatewayProcess(stack, config), startStackGatewayProcess(stack, config)]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it('a text registered on one gateway process is run by hash on another', async () => {
    // A text no other run registered.
    const query = `query Apq${randomUUID().replace(/-/g, '')} { product(id: "p3") { name } }`;
    const hash = sha256(query);
    const unknown = await post(second.url, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    const registered = await post(first.url, { query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(registered.status).toBe(200);
    let byHash = await post(second.url, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    for (let i = 0; i < 20 && byHash.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      byHash = await post(second.url, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    }
    expect(byHash.status).toBe(200);
    expect(byHash.body).toEqual(registered.body);
    // Apollo Client sends hashed queries as GETs (CDN-friendly): the same lookup.
    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
    const get = await fetch(`${second.url}?extensions=${extensions}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual(registered.body);
    await deleteKeys(SHARED_REDIS_URL, `${prefix}${hash}`);
  });
});
