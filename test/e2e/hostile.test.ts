import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { legacyCalls, startStack, startStackGateway, subgraphUrls, type Stack } from '../support/stack.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';

/**
 * Hostile input against the real stack, configured with the edge, persisted-document and limit
 * settings of the shipped frontdesk.config.yaml: every request gets a 4xx with its code, no legacy
 * system is called, and the gateway (and the subgraph or adapter sent to directly) stays up.
 */

/** The sections of the shipped config this suite runs with (its auth is the test stack's). */
function shipped(): FrontdeskConfigInput {
  const config = loadConfig({ cwd: projectPath(), env: {}, argv: ['--config', projectPath('frontdesk.config.yaml')] });
  const { cors, compression, batching, requestDeadlineMs } = config.server;
  return {
    server: { cors, compression, batching, requestDeadlineMs },
    limits: config.limits,
    persistedDocuments: config.persistedDocuments,
  };
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } | unknown[] | undefined;
}

/** A raw HTTP request (bytes as given, any content type), for what fetch would tidy up. */
function raw(url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Raw['json'];
        try {
          json = JSON.parse(text) as Raw['json'];
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (url: string, payload: unknown, headers?: Record<string, string>) => raw(url, JSON.stringify(payload), { 'content-type': 'application/json', ...headers });
const codeOf = (r: Raw) => (r.json as { errors?: { extensions?: { code?: string } }[] } | undefined)?.errors?.[0]?.extensions?.code;
const limitOf = (r: Raw) => ((r.json as { errors?: { extensions?: { limits?: { limit?: string } } }[] }).errors?.[0]?.extensions?.limits ?? {}).limit;

function nested(levels: number, leaf = 'id'): string {
  let inner = leaf;
  for (let i = 0; i < levels; i += 1) inner = `reviews { author { ${inner} } }`;
  return inner;
}

/** The query: a user's reviews' authors' reviews..., 13 levels below user. */
const NESTED = `{ user(id: "u1") { ${nested(6)} } }`;

function fragmentChain(links: number): string {
  const fragments = [];
  for (let i = 0; i < links; i += 1) fragments.push(`fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`);
  fragments.push(`fragment F${links} on User { name }`);
  return `{ user(id: "u1") { ...F0 } } ${fragments.join(' ')}`;
}

/** Hostile bodies and what each must get: status and code (and the limit for QUERY_TOO_COMPLEX). */
function hostileCases(): { name: string; body: string | Buffer; headers?: Record<string, string>; status: number; code: string; limit?: string[] }[] {
  const json = (payload: unknown) => JSON.stringify(payload);
  return [
    { name: 'deep nesting', body: json({ query: NESTED }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['depth'] },
    { name: 'nesting within depth but too costly', body: json({ query: `{ user(id: "u1") { ${nested(5)} } }` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['cost'] },
    {
      name: 'alias flood',
      body: json({ query: `{ ${Array.from({ length: 5000 }, (_, i) => `a${i}: product(id: "p1") { name }`).join(' ')} }` }),
      status: 400,
      code: 'QUERY_TOO_COMPLEX',
      limit: ['tokens', 'aliases'],
    },
    { name: 'a few aliases over the limit', body: json({ query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['aliases'] },
    { name: 'duplicate field flood', body: json({ query: `{ ${'__typename '.repeat(20_000)}}` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['tokens'] },
    { name: 'duplicate fields under the token limit', body: json({ query: `{ user(id: "u1") { ${'name '.repeat(1600)}} }` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['fields'] },
    { name: 'fragment chain doubling 40 times', body: json({ query: fragmentChain(40) }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['depth', 'fields'] },
    { name: 'token flood', body: json({ query: `{ ${'a '.repeat(100_000)}}` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['tokens'] },
    { name: 'directive flood', body: json({ query: `{ __typename ${'@skip(if: false) '.repeat(60)}}` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['directives'] },
    { name: 'many root fields', body: json({ query: `{ ${Array.from({ length: 21 }, (_, i) => `r${i}: product(id: "p${i}") { name }`).join(' ')} }` }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['rootFields', 'aliases'] },
    { name: 'introspection nested past its lists', body: json({ query: '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }' }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['introspectionLists'] },
    { name: 'huge list argument', body: json({ query: '{ products(first: 100000) { name reviews { rating } } }' }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['cost'] },
    { name: 'huge list size through a variable', body: json({ query: 'query($n: Int) { products(first: $n) { name reviews { rating } } }', variables: { n: 1e9 } }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['cost'] },
    { name: 'many operations', body: json({ query: Array.from({ length: 3000 }, (_, i) => `query Q${i} { __typename }`).join(' '), operationName: 'Q1' }), status: 400, code: 'QUERY_TOO_COMPLEX', limit: ['tokens'] },
    { name: 'huge body', body: json({ query: '{ __typename }', variables: { blob: 'x'.repeat(2 * 1024 * 1024) } }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
    { name: 'deeply nested JSON', body: `{"query":"{ __typename }","variables":{"v":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`, status: 400, code: 'BAD_REQUEST' },
    { name: 'batch over the limit', body: json(Array.from({ length: 11 }, () => ({ query: '{ __typename }' }))), status: 400, code: 'BATCH_TOO_LARGE' },
    { name: 'empty batch', body: '[]', status: 400, code: 'BAD_REQUEST' },
    { name: 'unknown operationName', body: json({ query: 'query A { __typename }', operationName: 'B' }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
    { name: 'several operations and no name', body: json({ query: 'query A { __typename } query B { __typename }' }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
    { name: 'non-JSON body', body: '{"query": "{ __typename }"', status: 400, code: 'BAD_REQUEST' },
    { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"query":"{ __typename }","variables":{"x":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]), status: 400, code: 'BAD_REQUEST' },
    { name: 'JSON that is not an object', body: '"{ __typename }"', status: 400, code: 'BAD_REQUEST' },
    { name: 'query of the wrong type', body: json({ query: 42 }), status: 400, code: 'BAD_REQUEST' },
    { name: 'variables of the wrong type', body: json({ query: '{ __typename }', variables: 'x' }), status: 400, code: 'BAD_REQUEST' },
    { name: 'no query at all', body: json({ variables: {} }), status: 400, code: 'BAD_REQUEST' },
    { name: 'syntax error', body: json({ query: '{ user(id: "u1") { name }' }), status: 400, code: 'GRAPHQL_PARSE_FAILED' },
    { name: 'NUL in the document', body: json({ query: '{ __typename \u0000 }' }), status: 400, code: 'GRAPHQL_PARSE_FAILED' },
    { name: 'unknown field', body: json({ query: '{ user(id: "u1") { password } }' }), status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
    { name: 'variable of the wrong type', body: json({ query: 'query($id: ID!) { user(id: $id) { name } }', variables: { id: { $gt: '' } } }), status: 400, code: 'BAD_USER_INPUT' },
    { name: 'unknown persisted query hash', body: json({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }), status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
    { name: 'persisted query hash that does not match', body: json({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }), status: 400, code: 'BAD_REQUEST' },
    { name: 'unknown Relay document id', body: json({ doc_id: 'nope', variables: {} }), status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
    { name: 'bad bearer token', body: json({ query: '{ __typename }' }), headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.token' }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'form post (CSRF)', body: 'query=%7B__typename%7D', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 400, code: 'BAD_REQUEST' },
  ];
}

describe('hostile input', () => {
  let stack: Stack;
  let url: string;
  let health: string;

  beforeAll(async () => {
    stack = await startStack({ gateway: shipped() });
    url = stack.gateway.url;
    health = url.replace('/graphql', '/health');
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(hostileCases())('refuses $name with $status $code, calls no legacy system and stays up', async ({ body, headers, status, code, limit }) => {
    const before = legacyCalls(stack);
    const answer = await raw(url, body, headers);
    expect(answer.status, answer.text.slice(0, 300)).toBe(status);
    expect(codeOf(answer)).toBe(code);
    if (limit) expect(limit).toContain(limitOf(answer));
    expect(answer.text).not.toMatch(/stacktrace|at .*\.js:\d+/);
    expect(legacyCalls(stack)).toBe(before);
    expect((await fetch(health)).status).toBe(200);
  });

  it('names the limit, what was measured and the maximum of the caller\'s plan', async () => {
    const answer = await post(url, { query: NESTED });
    const error = (answer.json as { errors: { message: string; extensions: Record<string, unknown> }[] }).errors[0]!;
    expect(error.message).toBe('The operation exceeds the depth limit: 14, at most 12 allowed.');
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limits: { limit: 'depth', measured: 14, max: 12, plan: 'anonymous' } });
  });

  it('answers a GET with the same limits as a POST', async () => {
    const answer = await raw(`${url}?query=${encodeURIComponent(NESTED)}`, '', { 'apollo-require-preflight': 'true' }, 'GET');
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('QUERY_TOO_COMPLEX');
  });

  it('answers a batch of operations item by item, each admitted on its own', async () => {
    const before = legacyCalls(stack);
    const answer = await post(url, [{ query: '{ user(id: "u1") { name } }' }, { query: NESTED }, 'not an operation', { query: '{ __typename }' }]);
    expect(answer.status).toBe(200);
    const items = answer.json as { data?: unknown; errors?: { extensions: { code: string } }[] }[];
    expect(items).toHaveLength(4);
    expect(items[0]).toEqual({ data: { user: { name: 'Ada McCarthy' } } });
    expect(items[1]!.errors![0]!.extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(items[2]!.errors![0]!.extensions.code).toBe('BAD_REQUEST');
    expect(items[3]).toEqual({ data: { __typename: 'Query' } });
    expect(legacyCalls(stack)).toBe(before);
  });

  it('still serves a well-formed product page after all of it', async () => {
    const query = readFileSync(projectPath('schema', 'operations', 'product.graphql'), 'utf8');
    const page = await post(url, { query, variables: { id: 'p1' } });
    expect(page.status).toBe(200);
    expect(page.json).toMatchObject({ data: { product: { id: 'p1', name: 'Oslo corner sofa', inStock: true } } });
    expect((page.json as { errors?: unknown }).errors).toBeUndefined();
  });

  describe('straight to a subgraph and to an adapter (reachable without the gateway)', () => {
    const entities = (selection: string) => ({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${selection} } } }`,
      variables: { r: [{ __typename: 'User', id: 'u1' }] },
    });

    it('the reviews subgraph refuses the nested query', async () => {
      const answer = await post(stack.reviews.url, entities(nested(6)));
      expect(answer.status).toBe(400);
      expect(codeOf(answer)).toBe('QUERY_TOO_COMPLEX');
      expect((await fetch(stack.reviews.url.replace('/graphql', '/health'))).status).toBe(200);
    });

    it('the reviews subgraph refuses what is within its depth but would exhaust it', async () => {
      const answer = await post(stack.reviews.url, entities(`${nested(5)}`));
      expect(answer.status).toBe(400);
      expect(limitOf(answer)).toBe('cost');
    });

    it.each([
      ['alias flood', JSON.stringify({ query: `{ ${Array.from({ length: 5000 }, (_, i) => `a${i}: __typename`).join(' ')} }` }), 400, 'QUERY_TOO_COMPLEX'],
      ['duplicate fields', JSON.stringify({ query: `{ ${'__typename '.repeat(20_000)}}` }), 400, 'QUERY_TOO_COMPLEX'],
      ['fragment chain', JSON.stringify({ query: fragmentChain(40).replace('user(id: "u1")', '_entities(representations: [{__typename: "User", id: "u1"}]) { ... on User') + ' }' }), 400, 'QUERY_TOO_COMPLEX'],
      ['non-JSON', '{"query":', 400, 'BAD_REQUEST'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), 400, 'BAD_REQUEST'],
      ['a batch', JSON.stringify([{ query: '{ __typename }' }]), 400, 'BAD_REQUEST'],
      ['huge body', JSON.stringify({ query: '{ __typename }', variables: { v: 'x'.repeat(2 * 1024 * 1024) } }), 413, 'PAYLOAD_TOO_LARGE'],
    ] as const)('the reviews subgraph and the products adapter refuse %s', async (_name, body, status, code) => {
      const before = legacyCalls(stack);
      for (const target of [stack.reviews.url, stack.products.url]) {
        const answer = await raw(target, body);
        expect(answer.status, `${target}: ${answer.text.slice(0, 200)}`).toBe(status);
        expect(codeOf(answer)).toBe(code);
        expect((await fetch(target.replace('/graphql', '/health'))).status).toBe(200);
      }
      expect(legacyCalls(stack)).toBe(before);
    });

    it('the products adapter refuses a list too large to ask its legacy system for', async () => {
      const before = legacyCalls(stack);
      const answer = await post(stack.products.url, { query: '{ products(first: 1000000) { id name } }' });
      expect(answer.status).toBe(400);
      expect(limitOf(answer)).toBe('cost');
      expect(legacyCalls(stack)).toBe(before);
    });
  });
});

describe('analysis without limits stays linear', () => {
  let stack: Stack;
  let bare: RunningGateway;

  beforeAll(async () => {
    stack = await startStack();
    bare = await startStackGateway(subgraphUrls(stack));
  }, 30_000);

  afterAll(async () => {
    await bare?.stop();
    await stack?.stop();
  });

  it('a fragment chain that doubles 30 times is answered (authorization and the cache visit each fragment once)', async () => {
    // 2^30 expansions if a walk followed each spread; the subgraphs refuse the fetch (their own limits).
    const answer = await post(bare.url, { query: fragmentChain(30) });
    expect(answer.status).toBeLessThan(500);
    expect((await fetch(bare.url.replace('/graphql', '/health'))).status).toBe(200);
  });
});
