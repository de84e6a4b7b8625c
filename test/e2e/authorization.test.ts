import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoCalls, echoSdl, startEcho } from '../support/echo.js';
import { composeToFile, eventually, gql, startTestGateway, tempDir, testConfig } from '../support/servers.js';
import { as, asAdmin, startStack, type Stack } from '../support/stack.js';
import { startFixture, type RunningFixture } from '../support/federation.js';
import { CASES } from '../fixtures/federation/cases.js';

// Authorization before planning: supergraph directives and the permissions file, over real HTTP.
const SECRET = 'an-authorization-test-secret-32-chars!';
const keys = { free: 'key-free-1', pro: 'key-pro-1', partner: 'key-partner-1' };
let echo: RunningSubgraph;
let path: string;
let gateway: RunningGateway;

const sha = (value: string) => createHash('sha256').update(value).digest('hex');
const bearer = async (sub: string, claims: Record<string, unknown> = {}) => ({
  authorization: `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))}`,
});
const auth = {
  jwt: { algorithms: ['HS256' as const], hmacSecret: SECRET },
  apiKeys: { keys: Object.entries(keys).map(([plan, key]) => ({ sha256: sha(key), clientId: `client-${plan}`, plan })) },
};

beforeAll(async () => {
  echo = await startEcho();
  path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
  gateway = await startTestGateway({
    supergraph: { path, watch: false },
    auth,
    authorization: { permissionsFile: projectPath('test', 'fixtures', 'permissions', 'echo.yaml') },
  });
});
afterAll(async () => {
  await gateway?.stop();
  await echo?.stop();
});

describe('@authenticated', () => {
  it('answers null with UNAUTHENTICATED at the path for anonymous callers, serves the rest, and never asks the subgraph', async () => {
    const before = echoCalls.secret;
    const { status, body } = await gql(gateway.url, '{ secret requestId }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ secret: null, requestId: expect.any(String) });
    expect(body.errors).toEqual([{ message: 'Query.secret requires authentication', path: ['secret'], extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(echoCalls.secret).toBe(before);
  });

  it('serves the field to a signed-in caller', async () => {
    const { body } = await gql(gateway.url, '{ secret }', { headers: await bearer('u1') });
    expect(body).toEqual({ data: { secret: 'the secret' } });
  });

  it('finds denied fields inside fragments and inline fragments, under aliases', async () => {
    const { body } = await gql(gateway.url, '{ ...F ... on Query { hidden: secret } requestId } fragment F on Query { secret }');
    expect(body.data).toEqual({ secret: null, hidden: null, requestId: expect.any(String) });
    expect(body.errors!.map((e) => e.path)).toEqual([['secret'], ['hidden']]);
  });

  it('nulls the parent of a denied non-null field', async () => {
    const { body } = await gql(gateway.url, '{ strict requestId }');
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([expect.objectContaining({ path: ['strict'], extensions: { code: 'UNAUTHENTICATED' } })]);
  });
});

describe('@requiresScopes', () => {
  it.each([
    [['a', 'b'], true],
    [['c'], true],
    [['a', 'b', 'c'], true],
    [['a'], false],
    [['b', 'x'], false],
  ])('with scopes %j the field is served: %s', async (scopes, allowed) => {
    const { body } = await gql(gateway.url, '{ scoped }', { headers: await bearer('u1', { scope: scopes.join(' ') }) });
    if (allowed) expect(body).toEqual({ data: { scoped: 'scoped value' } });
    else expect(body).toEqual({ data: { scoped: null }, errors: [{ message: 'Not authorized to access Query.scoped', path: ['scoped'], extensions: { code: 'FORBIDDEN' } }] });
  });

  it('is UNAUTHENTICATED, not FORBIDDEN, for anonymous callers', async () => {
    const { body } = await gql(gateway.url, '{ scoped }');
    expect(body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });
});

describe('the permissions file', () => {
  it.each([
    ['free', false],
    ['pro', true],
    ['partner', true],
  ])('lets an API key of plan %s call the plan-restricted field: %s', async (plan, allowed) => {
    const { body } = await gql(gateway.url, '{ slow(ms: 1) }', { headers: { 'x-api-key': keys[plan as keyof typeof keys] } });
    if (allowed) expect(body).toEqual({ data: { slow: 'slept 1ms' } });
    else expect(body.errors![0]).toMatchObject({ path: ['slow'], extensions: { code: 'FORBIDDEN' } });
  });

  it('evaluates rules on arguments and roles', async () => {
    const self = await gql(gateway.url, '{ header(name: "u5") }', { headers: await bearer('u5') });
    expect(self.body.errors).toBeUndefined();
    const other = await gql(gateway.url, '{ header(name: "u6") }', { headers: await bearer('u5') });
    expect(other.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const admin = await gql(gateway.url, '{ header(name: "u6") }', { headers: await bearer('u1', { roles: ['admin'] }) });
    expect(admin.body.errors).toBeUndefined();
    const denied = await gql(gateway.url, '{ boom }', { headers: await bearer('u1', { roles: ['admin'] }) });
    expect(denied.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
  });

  it('starts with a warning for a rule naming a field the supergraph lacks, and refuses to start when strict', async () => {
    const file = join(tempDir(), 'typo.yaml');
    writeFileSync(file, 'types:\n  Query:\n    secrett: deny\n    secret: deny\n  Nope:\n    "*": deny\n');
    const lines: { msg?: string; unknown?: string[] }[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
    const lenient = await createGateway(testConfig({ supergraph: { path, watch: false }, auth, authorization: { permissionsFile: file } }), { logger: pino({ level: 'warn' }, sink) });
    try {
      expect(lines.find((l) => l.unknown)).toMatchObject({ unknown: ['Query.secrett', 'Nope.*'] });
      // The rules for fields that exist still apply.
      const { body } = await gql(lenient.url, '{ secret requestId }', { headers: await bearer('u1') });
      expect(body.errors?.[0]).toMatchObject({ path: ['secret'], extensions: { code: 'FORBIDDEN' } });
    } finally {
      await lenient.stop();
    }
    await expect(startTestGateway({ supergraph: { path, watch: false }, auth, authorization: { permissionsFile: file, strict: true } })).rejects.toThrow(
      `Permissions ${file}: not in the supergraph: Query.secrett, Nope.*`,
    );
  });

  it('rejects a reload that drops a field a strict rule names, and keeps serving the last good supergraph', async () => {
    const dir = tempDir();
    const watched = join(dir, 'supergraph.graphql');
    composeToFile(watched, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    const file = join(dir, 'added.yaml');
    writeFileSync(file, 'types:\n  Query:\n    added: authenticated\n');
    const lines: { msg?: string }[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
    const g = await createGateway(testConfig({ supergraph: { path: watched, watch: true }, auth, authorization: { permissionsFile: file, strict: true } }), { logger: pino({ level: 'error' }, sink) });
    try {
      const before = g.supergraph().hash;
      composeToFile(watched, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: false }) }]);
      await eventually(async () => lines.some((l) => /supergraph reload rejected.*Query\.added/.test(l.msg ?? '')));
      expect(g.supergraph().hash).toBe(before);
      const { body } = await gql(g.url, '{ added }', { headers: await bearer('u1') });
      expect(body).toEqual({ data: { added: 'the new field' } });
    } finally {
      await g.stop();
    }
  });

  it('refuses an owner rule at the gateway, which has no data before planning', async () => {
    const file = join(tempDir(), 'owner.yaml');
    writeFileSync(file, 'types:\n  Query:\n    header:\n      owner: id\n');
    await expect(startTestGateway({ supergraph: { path, watch: false }, auth, authorization: { permissionsFile: file } })).rejects.toThrow(
      `Invalid permissions ${file}: types.Query.header uses owner, which needs the data: put it in the subgraph`,
    );
  });
});

describe('reject mode', () => {
  it('refuses the whole operation with the status of the first denial', async () => {
    const strict = await startTestGateway({ supergraph: { path, watch: false }, auth, authorization: { mode: 'reject' } });
    try {
      const anonymous = await gql(strict.url, '{ secret requestId }');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual({ errors: [{ message: 'Query.secret requires authentication', extensions: { code: 'UNAUTHENTICATED' } }] });
      const forbidden = await gql(strict.url, '{ scoped }', { headers: await bearer('u1', { scope: 'a' }) });
      expect(forbidden.status).toBe(403);
      expect((await gql(strict.url, '{ requestId }')).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });
});

describe('entities reached through another subgraph', () => {
  // The stack's gateway applies schema/permissions.yaml; its subgraphs apply their own rules.
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('applies User.orders the same from a root field, through reviews, and in a fragment, before the ERP is called', async () => {
    stack.erp.reset();
    const query = `{ user(id: "u1") { name orders(first: 1) { id } }
      review(id: "r1") { author { ...A } } }
      fragment A on User { id name orders(first: 1) { id } }`;
    const anonymous = await gql(stack.gateway.url, query);
    expect(anonymous.body.data).toMatchObject({ user: { name: expect.any(String), orders: null }, review: { author: { name: expect.any(String), orders: null } } });
    expect(anonymous.body.errors!.map((e) => [e.path, e.extensions!.code])).toEqual([
      [['user', 'orders'], 'UNAUTHENTICATED'],
      [['review', 'author', 'orders'], 'UNAUTHENTICATED'],
    ]);
    const noScope = await gql(stack.gateway.url, query, { headers: await as('u1') });
    expect(noScope.body.errors!.map((e) => e.extensions!.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(stack.erp.stats().total).toBe(0);
    const admin = await gql(stack.gateway.url, query, { headers: await asAdmin() });
    expect(admin.body.errors).toBeUndefined();
    expect(stack.erp.stats().total).toBeGreaterThan(0);
  });

  it('lets the orders subgraph refuse another user\'s orders that the gateway let through', async () => {
    const author = ((await gql(stack.gateway.url, '{ review(id: "r1") { author { id } } }')).body.data!.review as { author: { id: string } }).author.id;
    const other = author === 'u1' ? 'u2' : 'u1';
    const { body } = await gql(stack.gateway.url, `{ review(id: "r1") { author { id orders(first: 1) { id } } } user(id: "${other}") { orders(first: 1) { id } } }`, {
      headers: await as(author, { scopes: ['orders:read'] }),
    });
    expect(body.data).toEqual({ review: { author: { id: author, orders: [{ id: expect.any(String) }] } }, user: { orders: null } });
    expect(body.errors).toEqual([expect.objectContaining({ path: ['user', 'orders'], extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
  });

  it('keeps email and me to signed-in callers (@authenticated from the accounts subgraph)', async () => {
    const { body } = await gql(stack.gateway.url, '{ me { name } user(id: "u2") { name email } }');
    expect(body.data).toEqual({ me: null, user: { name: expect.any(String), email: null } });
    expect(body.errors!.map((e) => e.path)).toEqual([['me'], ['user', 'email']]);
  });

  it('allows createProduct only with the catalog:write scope', async () => {
    const mutation = 'mutation { createProduct(input: { sku: "X-1", name: "Lamp", category: LAMPS, price: { amount: "9.00", currency: EUR }, weightKg: 1, dimensions: { widthCm: 1, depthCm: 1, heightCm: 1 } }) { id } }';
    const denied = await gql(stack.gateway.url, mutation, { headers: await as('u1', { scopes: ['catalog:read'] }) });
    expect(denied.body.errors![0]).toMatchObject({ path: ['createProduct'], extensions: { code: 'FORBIDDEN' } });
    const allowed = await gql(stack.gateway.url, mutation, { headers: await as('u1', { scopes: ['catalog:write'] }) });
    expect(allowed.body.errors).toBeUndefined();
  });
});

describe('abstract types, variables and fragments', () => {
  let media: RunningFixture;
  let g: RunningGateway;
  beforeAll(async () => {
    media = await startFixture(CASES.find((c) => c.name === 'media')!.subgraphs);
    const file = join(tempDir(), 'media.yaml');
    writeFileSync(file, 'types:\n  Movie:\n    title: authenticated\n  Book:\n    author: { scope: books }\n  Query:\n    search: { or: [authenticated, allow] }\n');
    g = await startTestGateway({ supergraph: { path: media.path, watch: false }, auth, authorization: { permissionsFile: file, strict: true } });
  });
  afterAll(async () => {
    await g?.stop();
    await media?.stop();
  });

  it('checks a field selected through an interface against the rules of every type that can answer it', async () => {
    const anonymous = await gql(g.url, '{ media { id title } }');
    expect(anonymous.status).toBe(200);
    // title and the list are non-null: the null goes up to data.
    expect(anonymous.body.data).toBeNull();
    expect(anonymous.body.errors).toEqual([{ message: 'Media.title requires authentication', path: ['media', 'title'], extensions: { code: 'UNAUTHENTICATED' } }]);
    // Through the type that has no rule, the field is served.
    const book = await gql(g.url, '{ media { id ... on Book { title } } }');
    expect(book.body).toEqual({ data: { media: [{ id: 'm1', title: 'Dune' }, { id: 'm2' }, { id: 'm3', title: 'Emma' }] } });
    const signed = await gql(g.url, '{ media { title } }', { headers: await bearer('u1') });
    expect(signed.body).toEqual({ data: { media: [{ title: 'Dune' }, { title: 'Alien' }, { title: 'Emma' }] } });
    const scoped = await gql(g.url, '{ search(term: "e") { ... on Book { author } } }', { headers: await bearer('u1') });
    expect(scoped.body.errors?.[0]).toMatchObject({ path: ['search', 'author'], extensions: { code: 'FORBIDDEN' } });
  });

  it('reads arguments with the variable defaults applied, non-null arguments included', async () => {
    const file = join(tempDir(), 'args.yaml');
    writeFileSync(file, 'types:\n  Query:\n    search: { sameUser: term }\n');
    const strict = await startTestGateway({ supergraph: { path: media.path, watch: false }, auth, authorization: { permissionsFile: file } });
    try {
      const query = 'query S($term: String = "u1") { search(term: $term) { __typename } }';
      const own = await gql(strict.url, query, { headers: await bearer('u1') });
      expect(own.status).toBe(200);
      expect(own.body).toEqual({ data: { search: [] } });
      const other = await gql(strict.url, query, { headers: await bearer('u2') });
      expect(other.status).toBe(200);
      expect(other.body.errors?.[0]).toMatchObject({ path: ['search'], extensions: { code: 'FORBIDDEN' } });
      // Variables that do not coerce are the executor's 400, before any fetch.
      const wrong = await gql(strict.url, 'query S($term: String!) { search(term: $term) { __typename } }', { variables: { term: 5 }, headers: await bearer('u1') });
      expect(wrong.status).toBe(400);
      expect(wrong.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await strict.stop();
    }
  });

  it('walks each fragment once: a chain that doubles at every step is filtered in linear time', async () => {
    const chain = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Media { ...F${i + 1} ...F${i + 1} }`).join('\n');
    const query = `{ media { ...F0 } } ${chain} fragment F30 on Media { id title }`;
    const started = Date.now();
    const { status, body } = await gql(g.url, query);
    expect(status).toBe(200);
    expect(body.errors).toEqual([{ message: 'Media.title requires authentication', path: ['media', 'title'], extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(body.data).toBeNull();
    // 2^30 spreads would never finish; a linear walk answers at once (a generous bound, not a benchmark).
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
