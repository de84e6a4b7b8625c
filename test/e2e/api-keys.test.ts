import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { IdentitySigner } from '../../gateway/src/plugins/auth/index.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { composeToFile, gql, startTestGateway, tempDir } from '../support/servers.js';

// API keys kept in the real Redis, shared by replicas, next to keys from the config.
const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `frontdesk-test:${randomUUID()}:apikey:`;
const CONFIG_KEY = 'fd_config_key_1';
const sha = (value: string) => createHash('sha256').update(value).digest('hex');
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let echo: RunningSubgraph;
let path: string;
let redis: Redis;
const gateways: RunningGateway[] = [];

async function gateway(options: { redisUrl?: string; cacheTtlMs?: number; negativeCacheTtlMs?: number } = {}): Promise<RunningGateway> {
  const started = await startTestGateway({
    supergraph: { path, watch: false },
    redis: { url: options.redisUrl ?? REDIS_URL },
    auth: {
      apiKeys: {
        keys: [{ sha256: sha(CONFIG_KEY), clientId: 'config-client', plan: 'free' }],
        redis: { prefix: PREFIX, cacheTtlMs: options.cacheTtlMs ?? 0, negativeCacheTtlMs: options.negativeCacheTtlMs ?? 0 },
      },
      identity: { privateKeyPem: IDENTITY_KEY },
    },
  });
  gateways.push(started);
  return started;
}

const whoami = async (url: string, key: string) => {
  const { status, headers, body } = await gql(url, '{ whoami }', { headers: { 'x-api-key': key } });
  return { status, headers, body, identity: body.data?.whoami ? JSON.parse(body.data.whoami as string) : undefined };
};

beforeAll(async () => {
  const jwks = await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: IDENTITY_KEY }).jwks;
  echo = await startEcho({ identity: { jwks } });
  path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await echo?.stop();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('API keys in Redis', () => {
  it('accepts a key whose hash is in Redis, with its client, plan, tenant and scopes, on every replica', async () => {
    const key = `fd_${randomUUID()}`;
    await redis.set(`${PREFIX}${sha(key)}`, JSON.stringify({ clientId: 'shop-backend', plan: 'pro', tenant: 'acme', scopes: ['catalog:read'] }));
    const [a, b] = await Promise.all([gateway(), gateway()]);
    for (const replica of [a, b]) {
      const { status, identity } = await whoami(replica.url, key);
      expect(status).toBe(200);
      expect(identity).toEqual({ kind: 'client', id: 'shop-backend', roles: [], scopes: ['catalog:read'], plan: 'pro', tenant: 'acme' });
    }
    // Keys from the config work alongside.
    expect((await whoami(a.url, CONFIG_KEY)).identity).toMatchObject({ id: 'config-client', plan: 'free' });
  });

  it('refuses unknown keys and records that are not valid with 401', async () => {
    const g = await gateway();
    const key = `fd_${randomUUID()}`;
    await redis.set(`${PREFIX}${sha(key)}`, '{"clientId": "x"}');
    for (const attempt of [key, 'fd_never_issued']) {
      const { status, body } = await whoami(g.url, attempt);
      expect(status).toBe(401);
      expect(body.errors![0]).toEqual({ message: 'Invalid API key', extensions: { code: 'UNAUTHENTICATED' } });
    }
  });

  it('remembers keys for cacheTtlMs: a revoked key works until then, and unknown keys are not asked again within negativeCacheTtlMs', async () => {
    const g = await gateway({ cacheTtlMs: 60_000, negativeCacheTtlMs: 60_000 });
    const key = `fd_${randomUUID()}`;
    expect((await whoami(g.url, key)).status).toBe(401);
    await redis.set(`${PREFIX}${sha(key)}`, JSON.stringify({ clientId: 'late', plan: 'free' }));
    expect((await whoami(g.url, key)).status).toBe(401); // remembered as unknown
    const fresh = await gateway({ cacheTtlMs: 60_000 });
    expect((await whoami(fresh.url, key)).status).toBe(200);
    await redis.del(`${PREFIX}${sha(key)}`);
    expect((await whoami(fresh.url, key)).status).toBe(200); // remembered as valid
    const uncached = await gateway();
    expect((await whoami(uncached.url, key)).status).toBe(401); // revoked
  });

  it('answers 503 SERVICE_UNAVAILABLE for keys it cannot check while Redis is away, and keeps config keys working', async () => {
    const g = await gateway({ redisUrl: 'redis://127.0.0.1:9' });
    const down = await whoami(g.url, 'fd_some_key');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(down.body.errors![0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(JSON.stringify(down.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:9|stack/);
    expect((await whoami(g.url, CONFIG_KEY)).status).toBe(200);
    expect((await gql(g.url, '{ requestId }')).status).toBe(200);
  });

  it('refuses to start with Redis keys but no redis.url', async () => {
    await expect(
      startTestGateway({ supergraph: { path, watch: false }, auth: { apiKeys: { redis: {} } } }),
    ).rejects.toThrow('auth.apiKeys.redis needs redis (redis.url, sentinel or cluster; or REDIS_URL)');
  });
});

describe('a gateway that takes no API keys', () => {
  it('refuses an x-api-key with 401 instead of serving the caller as anonymous, with JWTs on or no auth at all', async () => {
    const withJwtOnly = await startTestGateway({ supergraph: { path, watch: false }, auth: { jwt: { algorithms: ['HS256'], hmacSecret: 'x'.repeat(32) }, identity: { privateKeyPem: IDENTITY_KEY } } });
    const withoutAuth = await startTestGateway({ supergraph: { path, watch: false } });
    gateways.push(withJwtOnly, withoutAuth);
    for (const g of [withJwtOnly, withoutAuth]) {
      const refused = await whoami(g.url, CONFIG_KEY);
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]).toMatchObject({ message: 'API keys are not accepted by this gateway', extensions: { code: 'UNAUTHENTICATED' } });
      expect(refused.body.data).toBeUndefined();
      // Without a key the same request is anonymous and served.
      const anonymous = await gql(g.url, '{ whoami }');
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.data).toEqual({ whoami: null });
    }
  });
});

describe('npm run api-key', () => {
  const script = projectPath('dist', 'scripts', 'api-key.js');
  const run = (args: string[]) => promisify(execFile)(process.execPath, [script, ...args, '--prefix', PREFIX], { env: { ...process.env, REDIS_URL } });

  it('adds a key that the gateway accepts, stores only its hash, and revokes it', async () => {
    const { stdout } = await run(['add', '--client', 'partner-7', '--plan', 'partner', '--scopes', 'catalog:read,orders:read']);
    const added = JSON.parse(stdout) as { key: string; sha256: string };
    expect(added).toMatchObject({ clientId: 'partner-7', plan: 'partner', scopes: ['catalog:read', 'orders:read'], sha256: sha(added.key) });
    expect(await redis.get(`${PREFIX}${added.key}`)).toBeNull();
    expect(JSON.parse((await redis.get(`${PREFIX}${added.sha256}`))!)).toEqual({ clientId: 'partner-7', plan: 'partner', scopes: ['catalog:read', 'orders:read'] });
    const g = await gateway();
    expect((await whoami(g.url, added.key)).identity).toMatchObject({ id: 'partner-7', plan: 'partner' });
    expect((await run(['revoke', '--key', added.key])).stdout).toBe(`revoked ${added.sha256}\n`);
    expect((await whoami(g.url, added.key)).status).toBe(401);
  });

  it('refuses an add without a plan, naming the problem', async () => {
    await expect(run(['add', '--client', 'x'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('plan:') });
  });
});
