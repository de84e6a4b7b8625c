import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { freePort, startProcess, type Proc } from '../../bench/harness.js';
import { startFixture, type RunningFixture } from '../support/federation.js';
import { deleteKeys, SHARED_REDIS_URL } from '../support/redis.js';
import { composeToFile, eventually, gql, startTestGateway, tempDir } from '../support/servers.js';
import { as, startStack, startStackGatewayProcess, type Stack } from '../support/stack.js';

// A cached answer is only ever served to a caller who could have fetched it: not after their
// rights were reduced, not after a reload added a requirement, on every replica sharing Redis.
const prefix = `frontdesk:test:${randomUUID()}`;
const shared = { redis: { url: SHARED_REDIS_URL }, responseCache: { redis: { prefix } } };
afterAll(async () => {
  await deleteKeys(SHARED_REDIS_URL, prefix);
});

describe('a user whose rights were reduced', () => {
  let stack: Stack;
  let second: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    stack = await startStack({ gateway: shared });
    second = await startStackGatewayProcess(stack, shared);
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  it("gets no admin-only answer from the cache, on either replica", async () => {
    const query = '{ user(id: "u2") { name orders(first: 2) { id status } } }';
    const asAdmin = await as('u1', { roles: ['admin'], scopes: ['orders:read'] });
    const admin = await gql(stack.gateway.url, query, { headers: asAdmin });
    expect(admin.body.errors).toBeUndefined();
    expect((admin.body.data!.user as { orders: unknown[] }).orders).toHaveLength(2);
    expect((await gql(stack.gateway.url, query, { headers: asAdmin })).headers.get('x-cache')).toBe('HIT');
    expect((await gql(second.url, query, { headers: asAdmin })).headers.get('x-cache')).toBe('HIT');

    // The same user, demoted: a new token without the role.
    const demoted = await as('u1', { scopes: ['orders:read'] });
    for (const url of [stack.gateway.url, second.url]) {
      for (let i = 0; i < 2; i++) {
        const answer = await gql(url, query, { headers: demoted });
        expect(answer.headers.get('x-cache')).not.toBe('HIT');
        expect(JSON.stringify(answer.body.data)).not.toContain(JSON.stringify((admin.body.data!.user as { orders: unknown[] }).orders[0]));
        expect(answer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
    }
    // Fewer scopes is another key too.
    const fewer = await gql(stack.gateway.url, query, { headers: await as('u1', { roles: ['admin'] }) });
    expect(fewer.headers.get('x-cache')).not.toBe('HIT');
  });
});

describe('a reload that adds @authenticated', () => {
  const SECRET = 'the-rights-test-secret-of-32-characters';
  let echo: RunningFixture;
  let path: string;
  let first: RunningGateway;
  let second: Proc;
  let secondUrl: string;
  const reloadPrefix = `${prefix}:reload`;
  const config = (supergraph: string) => ({
    supergraph: { path: supergraph, watch: true, watchDebounceMs: 50 },
    auth: { jwt: { algorithms: ['HS256' as const], hmacSecret: SECRET } },
    authorization: {},
    redis: { url: SHARED_REDIS_URL },
    responseCache: { defaultMaxAgeSeconds: 300, redis: { prefix: reloadPrefix } },
  });
  // A subgraph that sends no Cache-Control: the default hint makes its answers cacheable.
  const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@authenticated"])';
  const v1 = `${LINK} type Query { added: String boom: String }`;
  const v2 = `${LINK} type Query { added: String @authenticated }`;

  beforeAll(async () => {
    echo = await startFixture([{ name: 'echo', sdl: v1, resolvers: { Query: { added: () => 'the new field', boom: () => 'boom' } } }]);
    path = echo.path;
    first = await startTestGateway(config(path));
    const file = join(tempDir(), 'second.json');
    writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1' }, ...config(path) }));
    const port = await freePort();
    second = await startProcess('dist/gateway/src/main.js', ['--config', file, '--port', String(port)], {}, `http://127.0.0.1:${port}/ready`);
    secondUrl = `http://127.0.0.1:${port}/graphql`;
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await echo?.stop();
    await deleteKeys(SHARED_REDIS_URL, reloadPrefix);
  });

  it('refuses an anonymous edge hit at once, on both replicas', async () => {
    const query = '{ added }';
    expect((await gql(first.url, query)).headers.get('x-cache')).toBe('MISS');
    expect((await gql(first.url, query)).headers.get('x-cache')).toBe('HIT');
    expect((await gql(secondUrl, query)).headers.get('x-cache')).toBe('HIT');
    // Each replica now answers its next repeat at the edge.
    for (const url of [first.url, secondUrl]) expect((await gql(url, query)).body).toEqual({ data: { added: 'the new field' } });

    const before = first.supergraph().hash;
    composeToFile(path, [{ ...echo.subgraphs[0]!, sdl: v2 }]);
    await eventually(async () => first.supergraph().hash !== before);
    // The second replica has reloaded once boom is gone from its schema.
    await eventually(async () => (await gql(secondUrl, '{ boom }')).status === 400);
    for (const url of [first.url, secondUrl]) {
      const anonymous = await gql(url, query);
      expect(anonymous.headers.get('x-cache')).not.toBe('HIT');
      expect(anonymous.body.data).toEqual({ added: null });
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));
    expect((await gql(secondUrl, query, { headers: { authorization: `Bearer ${token}` } })).body).toEqual({ data: { added: 'the new field' } });
  });
});
