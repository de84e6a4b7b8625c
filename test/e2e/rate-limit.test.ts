import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { loadConfig } from '../../gateway/src/core/config.js';
import { createGateway } from '../../gateway/src/core/create-gateway.js';
import { createLogger } from '../../gateway/src/core/logger.js';
import { COMMITTED_SUPERGRAPH, tempDir } from '../support/servers.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { hashApiKey } from '../../gateway/src/plugins/auth/api-keys.js';
import { SHARED_REDIS_URL, deleteKeys, startOwnRedis, type OwnRedis } from '../support/redis.js';
import { STACK_AUTH, startStack, startStackGatewayProcess, startStackGatewayWith, subgraphUrls, testToken, type Stack } from '../support/stack.js';

/** Rate limits and quotas on the real Redis (and one of the tests' own, stopped and started). */
let stack: Stack;
let redis: Redis;
const prefix = `frontdesk-test-rl:${randomBytes(4).toString('hex')}`;
const gateways: RunningGateway[] = [];
const processes: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(SHARED_REDIS_URL);
}, 30_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all(processes.map((p) => p.stop()));
  await deleteKeys(SHARED_REDIS_URL, prefix);
  redis?.disconnect();
  await stack?.stop();
});

async function gateway(extra: FrontdeskConfigInput): Promise<RunningGateway> {
  const started = await startStackGatewayWith(stack, {}, extra);
  gateways.push(started);
  return started;
}

const QUERY = '{ user(id: "u1") { name } }';

async function post(url: string, query = QUERY, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

describe('rate limits shared by replicas', () => {
  it('two gateway processes on one Redis let exactly the limit through, the rest 429 with headers', async () => {
    const keyPrefix = `${prefix}:shared`;
    const config: FrontdeskConfigInput = { redis: { url: SHARED_REDIS_URL }, rateLimits: { keyPrefix, weight: 'requests', all: { rate: { limit: 100, windowSeconds: 120 } } } };
    const [a, b] = await Promise.all([startStackGatewayProcess(stack, config), startStackGatewayProcess(stack, config)]);
    processes.push(a, b);
    const answers = await Promise.all(Array.from({ length: 160 }, (_, i) => post(i % 2 === 0 ? a.url : b.url)));
    const ok = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(ok).toHaveLength(100);
    expect(refused).toHaveLength(60);
    expect(ok.every((r) => r.body.data !== undefined && r.headers.get('ratelimit-policy') === '"rate";q=100;w=120')).toBe(true);
    const remaining = ok.map((r) => Number(/r=(\d+)/.exec(r.headers.get('ratelimit') ?? '')?.[1])).sort((x, y) => x - y);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const one = refused[0]!;
    expect(one.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', rateLimit: { policy: 'rate', limit: 100, windowSeconds: 120 } });
    expect(Number(one.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(one.headers.get('ratelimit')).toMatch(/^"rate";r=0;t=\d+$/);
  }, 60_000);
});

describe('usage plans', () => {
  it('limits a free API key, not a pro one; moving a key to pro takes effect at once', async () => {
    const keyPrefix = `${prefix}:plans`;
    const apiKeyPrefix = `${prefix}:apikey:`;
    const free = `free-${randomBytes(8).toString('hex')}`;
    const pro = `pro-${randomBytes(8).toString('hex')}`;
    await redis.set(`${apiKeyPrefix}${hashApiKey(free)}`, JSON.stringify({ clientId: 'free-client', plan: 'free', scopes: [] }));
    await redis.set(`${apiKeyPrefix}${hashApiKey(pro)}`, JSON.stringify({ clientId: 'pro-client', plan: 'pro', scopes: [] }));
    const url = (
      await gateway({
        redis: { url: SHARED_REDIS_URL },
        auth: { ...STACK_AUTH, apiKeys: { redis: { prefix: apiKeyPrefix, cacheTtlMs: 0 } } },
        rateLimits: { keyPrefix, weight: 'requests', plans: { free: { rate: { limit: 3, windowSeconds: 120 } }, pro: { rate: { limit: 1000, windowSeconds: 120 } } } },
      })
    ).url;
    const statuses = async (key: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i += 1) out.push((await post(url, QUERY, { 'x-api-key': key })).status);
      return out;
    };
    expect(await statuses(free, 5)).toEqual([200, 200, 200, 429, 429]);
    expect(await statuses(pro, 5)).toEqual([200, 200, 200, 200, 200]);
    const refused = await post(url, QUERY, { 'x-api-key': free });
    expect(refused.body.errors?.[0]).toMatchObject({ message: expect.stringContaining('Rate limit of plan "free" reached (3 requests per 120 s)'), extensions: { code: 'RATE_LIMITED' } });
    await redis.set(`${apiKeyPrefix}${hashApiKey(free)}`, JSON.stringify({ clientId: 'free-client', plan: 'pro', scopes: [] }));
    expect(await statuses(free, 3)).toEqual([200, 200, 200]);
  });

  it('a tenant rate is shared by the clients of one tenant, beside each client\'s own', async () => {
    const url = (
      await gateway({ rateLimits: { keyPrefix: `${prefix}:tenant`, weight: 'requests', all: { rate: { limit: 100, windowSeconds: 120 }, tenant: { limit: 3, windowSeconds: 120 } } } })
    ).url;
    const as = async (sub: string, tenant: string) => ({ authorization: `Bearer ${await testToken(sub, { tenant })}` });
    const [a1, a2, b1] = [await as('t-user-1', 'acme'), await as('t-user-2', 'acme'), await as('t-user-3', 'globex')];
    const statuses = [];
    for (const headers of [a1, a2, a1, a2, b1]) statuses.push((await post(url, QUERY, headers)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 200]);
  });

  it('a root field has a rate of its own per client; other fields are not held by it', async () => {
    const url = (await gateway({ rateLimits: { keyPrefix: `${prefix}:field`, weight: 'requests', all: { rootFields: { review: { limit: 2, windowSeconds: 120 } } } } })).url;
    const statuses = async (query: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i += 1) out.push((await post(url, query)).status);
      return out;
    };
    expect(await statuses('{ review(id: "r1") { rating } }', 3)).toEqual([200, 200, 429]);
    expect(await statuses('query Q { first: user(id: "u1") { name } }', 3)).toEqual([200, 200, 200]);
    expect(await statuses('query Q { user(id: "u1") { name } again: review(id: "r2") { rating } }', 1)).toEqual([429]);
  });

  it('a plan may list the operations it runs and cap the cost of one', async () => {
    const url = (
      await gateway({ limits: {}, rateLimits: { keyPrefix: `${prefix}:plan-admission`, plans: { anonymous: { allowedOperations: ['Cheap', 'Costly'], maxCost: 20 } } } })
    ).url;
    const named = async (query: string, operationName?: string) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, operationName }) });
      return { status: response.status, body: (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] } };
    };
    expect((await named('query Cheap { user(id: "u1") { name } }')).status).toBe(200);
    const other = await named('query Other { user(id: "u1") { name } }');
    expect(other.status).toBe(400);
    expect(other.body.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_ALLOWED');
    const costly = await named('query Costly { products(first: 10) { name reviews(first: 5) { rating } } }');
    expect(costly.status).toBe(400);
    expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limits: { limit: 'cost', max: 20, plan: 'anonymous' } });
  });

  it('a request weighs its estimated cost: an expensive query takes its cost, a cheap one 1', async () => {
    const url = (await gateway({ limits: {}, rateLimits: { keyPrefix: `${prefix}:cost`, all: { rate: { limit: 100, windowSeconds: 120 } } } })).url;
    const cheap = await post(url, '{ __typename }');
    expect(cheap.headers.get('ratelimit')).toMatch(/^"rate";r=99;t=\d+$/);
    const costly = await post(url, '{ products(first: 10) { name reviews(first: 5) { rating } } }');
    expect(costly.status).toBe(200);
    const spent = 99 - Number(/r=(\d+)/.exec(costly.headers.get('ratelimit') ?? '')?.[1]);
    const estimated = await post(url, '{ __typename }');
    expect(spent).toBeGreaterThan(10);
    expect(Number(/r=(\d+)/.exec(estimated.headers.get('ratelimit') ?? '')?.[1])).toBe(99 - spent - 1);
  });

  it('a quota used up answers 429 QUOTA_EXCEEDED until the end of its period', async () => {
    const url = (await gateway({ rateLimits: { keyPrefix: `${prefix}:quota`, weight: 'requests', plans: { anonymous: { daily: { requests: 2 } } } } })).url;
    expect((await post(url)).status).toBe(200);
    expect((await post(url)).status).toBe(200);
    const refused = await post(url);
    expect(refused.status).toBe(429);
    const now = new Date();
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
    expect(refused.body.errors?.[0]).toMatchObject({ extensions: { code: 'QUOTA_EXCEEDED', quota: { period: 'daily', limit: 2, unit: 'requests', resetAt: midnight, plan: 'anonymous' } } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-policy')).toBe('"daily-requests";q=2;w=86400');
  });
});

describe('when Redis fails', () => {
  let own: OwnRedis;
  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('fail open counts in memory meanwhile, fail closed refuses with 503; both exact again once Redis is back', async () => {
    const limits = (onStoreFailure: 'open' | 'closed') => ({
      redis: { url: own.url },
      rateLimits: { keyPrefix: `${prefix}:${onStoreFailure}`, weight: 'requests' as const, onStoreFailure, all: { rate: { limit: 5, windowSeconds: 120 } } },
    });
    const open = (await gateway(limits('open'))).url;
    const closed = (await gateway(limits('closed'))).url;
    // Under load: eight clients on each gateway while Redis is stopped under them.
    const load = async (url: string, ms: number) => {
      const statuses: number[] = [];
      const end = Date.now() + ms;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < end) statuses.push((await post(url)).status);
        }),
      );
      return statuses;
    };
    const during = Promise.all([load(open, 1500), load(closed, 1500)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await own.stop();
    const [openStatuses, closedStatuses] = await during;
    // Open: every answer is served or refused by a limit (counted in memory meanwhile), never an error.
    expect([...new Set(openStatuses)].sort()).toEqual([200, 429]);
    // Closed: once Redis is gone, 503 and nothing unchecked; never a 500.
    expect(closedStatuses.every((status) => status === 200 || status === 429 || status === 503)).toBe(true);
    expect(closedStatuses.at(-1)).toBe(503);
    const refused = await post(closed);
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.headers.get('retry-after')).toBe('1');
    // Open still limits, in this replica's memory: its 5 are spent.
    expect((await post(open)).status).toBe(429);
    await own.start();
    // Back: a fresh Redis (its data was not saved) counts again for both, exactly.
    const after = async (url: string) => {
      const out: number[] = [];
      for (let i = 0; i < 7; i += 1) out.push((await post(url)).status);
      return out;
    };
    let back: number[] = [];
    for (let tries = 0; tries < 50; tries += 1) {
      const probe = await post(closed);
      if (probe.status !== 503) {
        back = [probe.status, ...(await after(closed)).slice(0, 6)];
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(back).toEqual([200, 200, 200, 200, 200, 429, 429]);
    // Open counts in Redis again too: its memory count is spent, the fresh Redis one is not.
    let openBack: number[] = [];
    for (let tries = 0; tries < 50; tries += 1) {
      const probe = await post(open);
      if (probe.status === 200) {
        openBack = [probe.status, ...(await after(open)).slice(0, 5)];
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(openBack).toEqual([200, 200, 200, 200, 200, 429]);
  }, 30_000);
});

describe('abuse blocking', () => {
  it('blocks an address hammering with bad tokens, for a period that doubles; an operator lists and lifts blocks', async () => {
    const url = (await gateway({ rateLimits: { keyPrefix: `${prefix}:abuse`, abuse: { refusals: 5, windowSeconds: 60, blockSeconds: 1, maxBlockSeconds: 60 } } })).url;
    const admin = { authorization: `Bearer ${await testToken('admin-1', { roles: ['admin'] })}` };
    const good = { authorization: `Bearer ${await testToken('u1')}` };
    const bad = { authorization: 'Bearer not-a-token' };
    const hammer = async () => {
      const out: number[] = [];
      for (let i = 0; i < 5; i += 1) out.push((await post(url, QUERY, bad)).status);
      return out;
    };
    expect(await hammer()).toEqual([401, 401, 401, 401, 401]);
    // Blocked: even a good token from that address is refused, before authentication.
    const blocked = await post(url, QUERY, good);
    expect(blocked.status).toBe(429);
    expect(blocked.body.errors?.[0]?.extensions?.code).toBe('CLIENT_BLOCKED');
    expect(Number(blocked.headers.get('retry-after'))).toBe(1);
    const listed = (await (await fetch(url.replace('/graphql', '/admin/blocks'), { headers: admin })).json()) as { blocks: { key: string; times: number }[] };
    expect(listed.blocks).toEqual([expect.objectContaining({ key: 'ip:127.0.0.1', times: 1 })]);
    // The block ends by itself after 1 s.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await post(url, QUERY, good)).status).toBe(200);
    // Again: blocked for 2 s this time; the operator lifts it at once.
    await hammer();
    const again = await post(url, QUERY, good);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBe(2);
    const lifted = await fetch(url.replace('/graphql', '/admin/blocks'), { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ lift: 'ip:127.0.0.1' }) });
    expect(await lifted.json()).toEqual({ lifted: true });
    expect((await post(url, QUERY, good)).status).toBe(200);
  });
});

describe('plans from the config file', () => {
  it('a plan changed in the file applies without a restart, on the counts already in Redis', async () => {
    const dir = tempDir();
    const file = join(dir, 'frontdesk.config.yaml');
    const write = (limit: number) =>
      writeFileSync(
        file,
        toYaml({
          server: { host: '127.0.0.1', port: 0 },
          supergraph: { path: COMMITTED_SUPERGRAPH, watch: true, watchDebounceMs: 50, keepLastGood: false },
          subgraphs: subgraphUrls(stack),
          redis: { url: SHARED_REDIS_URL },
          rateLimits: { keyPrefix: `${prefix}:reload`, weight: 'requests', plans: { anonymous: { rate: { limit, windowSeconds: 120 } } } },
        }),
      );
    write(2);
    const running = await createGateway(loadConfig({ argv: ['--config', file], env: {} }), { logger: createLogger('silent') });
    gateways.push(running);
    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i += 1) out.push((await post(running.url, '{ __typename }')).status);
      return out;
    };
    expect(await statuses(3)).toEqual([200, 200, 429]);
    write(5);
    // The file is watched (50 ms quiet period); a second is plenty.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Three counted so far (the refused one too): two more under the new limit of 5.
    expect(await statuses(3)).toEqual([200, 200, 429]);
    expect((await post(running.url, '{ __typename }')).headers.get('ratelimit-policy')).toBe('"rate";q=5;w=120');
  });
});
