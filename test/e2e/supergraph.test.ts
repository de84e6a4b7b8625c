import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { startAccounts } from '../../subgraphs/accounts/server.js';
import { startReviews } from '../../subgraphs/reviews/server.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { COMMITTED_SUPERGRAPH, gql, startTestGateway } from '../support/servers.js';
import { as, GATEWAY_PERMISSIONS, STACK_AUTH, stackIdentity } from '../support/stack.js';

// The committed supergraph served over real HTTP by the gateway and both native subgraphs.
let accounts: RunningSubgraph;
let reviews: RunningSubgraph;
let gateway: RunningGateway;

beforeAll(async () => {
  const identity = await stackIdentity();
  [accounts, reviews] = await Promise.all([startAccounts({ logLevel: 'silent', identity }), startReviews({ logLevel: 'silent', identity })]);
  gateway = await startTestGateway({
    supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
    subgraphs: { accounts: { url: accounts.url }, reviews: { url: reviews.url } },
    auth: STACK_AUTH,
    authorization: { permissionsFile: GATEWAY_PERMISSIONS },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([accounts?.stop(), reviews?.stop()]);
});

describe('the demo query across accounts and reviews', () => {
  it('returns data from both subgraphs', async () => {
    const { status, body } = await gql(gateway.url, '{ user(id: "u1") { name reviews { rating product { id } } } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const user = body.data!.user as { name: string; reviews: { rating: number; product: { id: string } }[] };
    expect(user.name).toMatch(/^\w+ [\w -]+$/);
    expect(user.reviews.length).toBeGreaterThan(0);
    for (const review of user.reviews) {
      expect(review.rating).toBeGreaterThanOrEqual(1);
      expect(review.rating).toBeLessThanOrEqual(5);
      expect(review.product.id).toMatch(/^p([1-9]\d?|1\d\d|200)$/);
    }
  });

  it('resolves review authors through the accounts subgraph', async () => {
    const { body } = await gql(gateway.url, '{ review(id: "r1") { rating author { id name memberSince } } }');
    expect(body.errors).toBeUndefined();
    const review = body.data!.review as { author: { id: string; name: string; memberSince: string } };
    expect(review.author.id).toMatch(/^u\d+$/);
    expect(review.author.name.length).toBeGreaterThan(3);
    expect(new Date(review.author.memberSince).toISOString()).toBe(review.author.memberSince);
  });

  it('has at least 50 seeded users with cursor pagination', async () => {
    const first = await gql(gateway.url, '{ users(first: 30) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }');
    const page1 = first.body.data!.users as {
      totalCount: number;
      edges: { node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    expect(page1.totalCount).toBeGreaterThanOrEqual(50);
    expect(page1.edges).toHaveLength(30);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await gql(gateway.url, 'query($after: String) { users(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage } } }', {
      variables: { after: page1.pageInfo.endCursor },
    });
    const page2 = second.body.data!.users as { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean } };
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const ids = [...page1.edges, ...page2.edges].map((e) => e.node.id);
    expect(new Set(ids).size).toBe(page1.totalCount);
  });

  it('rejects a bad cursor and an oversized page with BAD_USER_INPUT', async () => {
    const bad = await gql(gateway.url, '{ users(after: "not-a-cursor") { totalCount } }');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.body.errors?.[0]?.message).toMatch(/after/);
    const big = await gql(gateway.url, '{ users(first: 1000) { totalCount } }');
    expect(big.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(big.body.errors?.[0]?.message).toMatch(/first/);
  });

  it('returns null for an unknown user', async () => {
    const { body } = await gql(gateway.url, '{ user(id: "u9999") { name } }');
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ user: null });
  });
});

describe('addReview', () => {
  const mutation = `mutation($input: AddReviewInput!) { addReview(input: $input) { id rating body author { name } product { id } } }`;
  const valid = { productId: 'p7', authorId: 'u3', rating: 4, body: '  Sturdy and comfortable.  ' };

  it.each([
    [{ rating: 0 }, 'input.rating', /rating must be an integer from 1 to 5/],
    [{ rating: 6 }, 'input.rating', /rating/],
    [{ body: '   ' }, 'input.body', /body must not be empty/],
    [{ body: 'x'.repeat(2001) }, 'input.body', /at most 2000/],
    [{ productId: 'p201' }, 'input.productId', /unknown product "p201"/],
    [{ authorId: 'u0' }, 'input.authorId', /unknown user "u0"/],
  ])('rejects %o with BAD_USER_INPUT naming %s', async (change, field, message) => {
    const { body } = await gql(gateway.url, mutation, { variables: { input: { ...valid, ...change } }, headers: await as('admin-1', { roles: ['admin'] }) });
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(body.errors![0]!.message).toMatch(message);
  });

  it('rejects a wrong variable type before any subgraph is called', async () => {
    const { status, body } = await gql(gateway.url, mutation, { variables: { input: { ...valid, rating: 'five' } } });
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('adds a review that the next query returns first', async () => {
    // Reviews are written in the caller's own name (the reviews subgraph's permissions).
    const added = await gql(gateway.url, mutation, { variables: { input: valid }, headers: await as('u3') });
    expect(added.body.errors).toBeUndefined();
    const review = added.body.data!.addReview as { id: string; body: string; author: { name: string }; product: { id: string } };
    expect(review.body).toBe('Sturdy and comfortable.');
    expect(review.product.id).toBe('p7');
    expect(review.author.name.length).toBeGreaterThan(0);
    const { body } = await gql(gateway.url, '{ review(id: "r1") { id } u: user(id: "u3") { reviews(first: 1) { id } } }');
    expect((body.data!.u as { reviews: { id: string }[] }).reviews[0]!.id).toBe(review.id);
  });
});

describe('the edge', () => {
  it('serves /health and /ready as JSON', async () => {
    for (const path of ['/health', '/ready']) {
      const response = await fetch(new URL(path, gateway.url));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expect(await response.json()).toMatchObject({ status: path === '/health' ? 'ok' : 'ready' });
    }
  });

  it('echoes the client request id and makes one when absent', async () => {
    const given = await gql(gateway.url, '{ __typename }', { headers: { 'x-request-id': 'req-abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('req-abc-123');
    const made = await gql(gateway.url, '{ __typename }', { headers: { 'x-request-id': 'bad id; with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers malformed JSON with 400 BAD_REQUEST', async () => {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }"' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0]!.message).toMatch(/^Malformed JSON body/);
    expect(JSON.stringify(body)).not.toMatch(/at JSON\.parse|\.ts:|\.js:/);
  });

  it('answers an unknown field with 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const { status, body } = await gql(gateway.url, '{ user(id: "u1") { name shoeSize } }');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors![0]!.message).toMatch(/shoeSize/);
  });

  it.each([
    ['an unknown operationName', { query: 'query A { __typename } query B { __typename }', operationName: 'C' }, 'Unknown operation named "C".'],
    ['several operations and no name', { query: 'query A { __typename } query B { __typename }' }, 'Must provide operation name if query contains multiple operations.'],
    ['a name for a document without that operation', { query: '{ __typename }', operationName: 'A' }, 'Unknown operation named "A".'],
  ])('answers %s with 400 OPERATION_RESOLUTION_FAILURE and no stack trace', async (_name, request, message) => {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }] });
  });

  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED', async () => {
    const { status, body } = await gql(gateway.url, '{ user(id: "u1") { name ');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('refuses a mutation over GET with 405', async () => {
    const query = encodeURIComponent('mutation { addReview(input: {productId: "p1", authorId: "u1", rating: 5, body: "x"}) { id } }');
    const response = await fetch(`${gateway.url}?query=${query}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('refuses other methods with 405 METHOD_NOT_ALLOWED', async () => {
    const response = await fetch(gateway.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST, OPTIONS');
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
  });

  it('sends no stack trace with bad-input errors, even in development', async () => {
    for (const query of ['{ user(id: "u1") { shoeSize } }', '{ user(', '{ users(first: 1000) { totalCount } }']) {
      const { body } = await gql(gateway.url, query);
      expect(body.errors!.length).toBeGreaterThan(0);
      expect(JSON.stringify(body)).not.toMatch(/stacktrace|node_modules|\.js:\d/);
    }
  });

  it('serves a query over GET with the CSRF header', async () => {
    const query = encodeURIComponent('{ user(id: "u2") { id } }');
    const response = await fetch(`${gateway.url}?query=${query}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { user: { id: 'u2' } } });
  });

  it('answers an over-size body with 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1_100_000)}` });
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: 'Request body exceeds the limit of 1048576 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
    // The gateway is still healthy afterwards.
    expect((await gql(gateway.url, '{ __typename }')).status).toBe(200);
  });

  it('answers a chunked over-size body with 413 too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 40) controller.close();
        else {
          sent += 1;
          controller.enqueue(chunk);
        }
      },
    });
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('refuses a non-JSON content type without the CSRF header with 400', async () => {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toMatch(/Cross-Site Request Forgery/);
    expect(JSON.parse(text)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    expect(text).not.toMatch(/stacktrace/);
  });

  it('answers unknown paths with 404 NOT_FOUND', async () => {
    const response = await fetch(new URL('/nope', gateway.url));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
  });

  it('serves the explorer with the demo query to a browser: Apollo Sandbox when reachable, GraphiQL from the gateway otherwise', async () => {
    for (const path of ['/', '/graphql']) {
      const response = await fetch(new URL(path, gateway.url), { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toMatch(/embeddable-sandbox/);
      expect(html).toContain(JSON.stringify('query Demo {').slice(1, -1));
      expect(html).toContain('"Authorization": "Bearer "'.replace(/"/g, '\\"'));
      expect(html).not.toMatch(/runTelemetry|fonts\.googleapis/);
    }
    // What the fallback loads is the gateway's own.
    for (const asset of ['/explorer/explorer.js', '/explorer/graphiql.min.js', '/explorer/graphiql.min.css', '/explorer/react.production.min.js', '/explorer/react-dom.production.min.js']) {
      const response = await fetch(new URL(asset, gateway.url));
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(1000);
    }
    expect(await (await fetch(new URL('/explorer/explorer.js', gateway.url))).text()).toContain('runTelemetry: false');
  });
});
