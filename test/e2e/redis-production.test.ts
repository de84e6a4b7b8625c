import { execFile, execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { IdentitySigner } from '../../gateway/src/plugins/auth/index.js';
import { UsageMeter } from '../../gateway/src/plugins/usage/index.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { freePort } from '../../bench/harness.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { startFixture, type RunningFixture } from '../support/federation.js';
import { answers, freeClusterPort, spawnRedis } from '../support/redis.js';
import { composeToFile, eventually, gql, startTestGateway, tempDir } from '../support/servers.js';

// Redis as production runs it: a password and an ACL user held to its environment's keys, TLS,
// Sentinel (through a failover) and Cluster. Every Redis user of the gateway (response cache, API
// keys, rate limits, usage, APQ) and the operators' tools reach it through the same settings.
type RedisSettings = NonNullable<FrontdeskConfigInput['redis']>;
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let echo: RunningSubgraph;
// A subgraph that sends no Cache-Control (echo says no-store): its answers are cached for defaultMaxAgeSeconds.
let cached: RunningFixture;
let supergraph: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const jwks = await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: IDENTITY_KEY }).jwks;
  echo = await startEcho({ identity: { jwks } });
  cached = await startFixture([
    {
      name: 'cached',
      sdl: 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@shareable"])\ntype Query { value(key: String!): String! }',
      resolvers: { Query: { value: (_: unknown, args: { key: string }) => `value of ${args.key}` } },
    },
  ]);
  supergraph = join(tempDir(), 'supergraph.graphql');
  composeToFile(supergraph, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }, ...cached.subgraphs]);
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await echo?.stop();
  await cached?.stop();
});

function gatewayConfig(redis: RedisSettings): FrontdeskConfigInput {
  return {
    supergraph: { path: supergraph, watch: false },
    redis,
    auth: { apiKeys: { redis: { cacheTtlMs: 0, negativeCacheTtlMs: 0 } }, identity: { privateKeyPem: IDENTITY_KEY } },
    rateLimits: { plans: { metered: { rate: { limit: 3, windowSeconds: 120 } } } },
    responseCache: { defaultMaxAgeSeconds: 60 },
    persistedDocuments: { apq: { enabled: true, ttlSeconds: 60 } },
    usage: { flushIntervalMs: 100 },
  };
}

async function twoGateways(redis: RedisSettings): Promise<[RunningGateway, RunningGateway]> {
  const pair = await Promise.all([startTestGateway(gatewayConfig(redis)), startTestGateway(gatewayConfig(redis))]);
  cleanups.push(() => Promise.all(pair.map((g) => g.stop())));
  return pair;
}

/** `npm run api-key -- add`, reaching Redis through a gateway configuration file with these settings. */
async function addApiKey(redis: RedisSettings, plan: string): Promise<{ key: string; clientId: string }> {
  const file = join(tempDir(), 'frontdesk.config.yaml');
  writeFileSync(file, stringify({ redis }));
  const clientId = `client-${randomUUID().slice(0, 8)}`;
  const { stdout } = await promisify(execFile)(process.execPath, [projectPath('dist', 'scripts', 'api-key.js'), 'add', '--client', clientId, '--plan', plan, '--config', file], {
    env: { ...process.env, REDIS_URL: '' },
  });
  return { key: (JSON.parse(stdout) as { key: string }).key, clientId };
}

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions?: { code?: string } }> } };
};

/**
 * What replicas share through Redis, across two gateways: an API key added by the tool, one
 * client's rate limit, a cached answer, an APQ text, and the usage counts, read back with `read`.
 */
async function sharesEverything(redis: RedisSettings, [a, b]: [RunningGateway, RunningGateway], read: () => Promise<Redis | Cluster>): Promise<void> {
  const { key, clientId } = await addApiKey(redis, 'metered');
  const whoami = (url: string) => post(url, { query: '{ whoami }' }, { 'x-api-key': key });
  const first = await whoami(a.url);
  expect(first.status).toBe(200);
  expect(JSON.parse(first.body.data!.whoami as string)).toMatchObject({ kind: 'client', id: clientId, plan: 'metered' });
  // The limit (3 per 2 minutes) counts on both replicas together.
  expect((await whoami(b.url)).status).toBe(200);
  expect((await whoami(a.url)).status).toBe(200);
  const limited = await whoami(b.url);
  expect(limited.status).toBe(429);
  expect(limited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');

  // Stored by one replica, served by the other.
  const query = `{ value(key: "${randomUUID()}") }`;
  expect((await gql(a.url, query)).headers.get('x-cache')).toBe('MISS');
  expect((await gql(b.url, query)).headers.get('x-cache')).toBe('HIT');

  // Registered on one replica, run by hash on the other.
  const text = `query Apq${randomUUID().replace(/-/g, '')} { requestId }`;
  const persisted = { persistedQuery: { version: 1, sha256Hash: sha256(text) } };
  expect((await post(a.url, { query: text, extensions: persisted })).status).toBe(200);
  expect((await post(b.url, { extensions: persisted })).status).toBe(200);

  // Usage counted on both replicas, flushed to Redis and read back as the report does.
  const meter = new UsageMeter({ keyPrefix: 'frontdesk:usage', maxOperations: Infinity, maxRows: Infinity, retentionDays: 1 }, read);
  await eventually(async () => {
    const rows = await meter.report({ from: Date.now() - 3_600_000, to: Date.now() });
    return rows.filter((row) => row.client.includes(clientId)).reduce((sum, row) => sum + row.requests, 0) >= 3;
  }, 10_000);
}

/** Every key in a single Redis, as seen by an admin connection. */
async function everyKey(options: RedisOptions): Promise<string[]> {
  const admin = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  const keys: string[] = [];
  for await (const batch of admin.scanStream({ count: 500 }) as AsyncIterable<string[]>) keys.push(...batch);
  admin.disconnect();
  return keys;
}

describe('Redis with a password and an ACL user', () => {
  it('works with every Redis user when the user may only touch keys under its environment prefix', async () => {
    const port = await freePort();
    const admin = { host: '127.0.0.1', port, password: 'admin-secret' };
    const server = await spawnRedis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', admin.password], () => answers(admin));
    cleanups.push(() => server.stop());
    const setup = new Redis(admin);
    // The gateway's user: every command, but only keys (and channels) under "staging:".
    await setup.call('ACL', 'SETUSER', 'gateway', 'on', '>gateway-secret', 'resetkeys', '~staging:*', 'resetchannels', '&staging:*', '+@all');
    setup.disconnect();
    const redis: RedisSettings = { url: `redis://127.0.0.1:${port}`, username: 'gateway', password: 'gateway-secret', keyPrefix: 'staging:' };
    const pair = await twoGateways(redis);
    const reader = new Redis({ host: '127.0.0.1', port, username: 'gateway', password: 'gateway-secret', keyPrefix: 'staging:' });
    cleanups.push(async () => reader.disconnect());
    await sharesEverything(redis, pair, async () => reader);
    const keys = await everyKey(admin);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith('staging:'))).toEqual([]);
    for (const feature of ['staging:frontdesk:cache', 'staging:frontdesk:apikey:', 'staging:frontdesk:rl', 'staging:frontdesk:usage:', 'staging:frontdesk:apq:']) {
      expect(keys.some((key) => key.startsWith(feature)), feature).toBe(true);
    }
  });

  it('with a wrong password serves every request, bypassing the cache, and writes nothing', async () => {
    const port = await freePort();
    const admin = { host: '127.0.0.1', port, password: 'admin-secret' };
    const server = await spawnRedis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', admin.password], () => answers(admin));
    cleanups.push(() => server.stop());
    const [a] = await twoGateways({ url: `redis://127.0.0.1:${port}`, password: 'not-the-password' });
    const key = randomUUID();
    const query = `{ value(key: "${key}") }`;
    for (let i = 0; i < 2; i++) {
      const answer = await gql(a.url, query);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { value: `value of ${key}` } });
      expect(answer.headers.get('x-cache')).toBe('BYPASS');
    }
    expect(await everyKey(admin)).toEqual([]);
  });
});

describe('Redis over TLS', () => {
  it('works with every Redis user over rediss:// with the CA of the server certificate', async () => {
    const dir = tempDir();
    const cert = join(dir, 'redis.crt');
    const key = join(dir, 'redis.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=redis.test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:redis.test'], { stdio: 'ignore' });
    const port = await freePort();
    const tls = { ca: [readFileSync(cert)], rejectUnauthorized: true };
    const server = await spawnRedis(
      ['--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      () => answers({ host: '127.0.0.1', port, tls }),
    );
    cleanups.push(() => server.stop());
    // Not a plain-text Redis: a redis:// connection gets nowhere.
    expect(await answers({ host: '127.0.0.1', port })).toBe(false);
    const redis: RedisSettings = { url: `rediss://127.0.0.1:${port}`, tls: { caFile: cert }, keyPrefix: 'tls:' };
    const pair = await twoGateways(redis);
    const reader = new Redis({ host: '127.0.0.1', port, tls, keyPrefix: 'tls:' });
    cleanups.push(async () => reader.disconnect());
    await sharesEverything(redis, pair, async () => reader);
    expect((await everyKey({ host: '127.0.0.1', port, tls })).every((k) => k.startsWith('tls:'))).toBe(true);
  });
});

describe('Redis through Sentinel', () => {
  it('finds the master through the sentinels, and follows it through a failover', async () => {
    const password = 'sentinel-test-secret';
    const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
    // Replication writes an RDB file: into a directory of the test's own.
    const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password, '--masterauth', password, '--dir', tempDir()];
    const master = await spawnRedis(['--port', String(masterPort), ...common], () => answers({ host: '127.0.0.1', port: masterPort, password }));
    cleanups.push(() => master.stop());
    const replica = await spawnRedis(['--port', String(replicaPort), ...common, '--replicaof', '127.0.0.1', String(masterPort)], () => answers({ host: '127.0.0.1', port: replicaPort, password }));
    cleanups.push(() => replica.stop());
    const dir = tempDir();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor frontdesk 127.0.0.1 ${masterPort} 1`,
        `sentinel auth-pass frontdesk ${password}`,
        'sentinel down-after-milliseconds frontdesk 1000',
        'sentinel failover-timeout frontdesk 5000',
        '',
      ].join('\n'),
    );
    const sentinel = await spawnRedis([conf, '--sentinel'], () => answers({ host: '127.0.0.1', port: sentinelPort }));
    cleanups.push(() => sentinel.stop());
    // The replica is in sync before the master goes.
    await eventually(async () => {
      const probe = new Redis({ host: '127.0.0.1', port: replicaPort, password, lazyConnect: true });
      await probe.connect();
      const info = await probe.info('replication');
      probe.disconnect();
      return /master_link_status:up/.test(info);
    }, 10_000);

    const redis: RedisSettings = { sentinel: { name: 'frontdesk', nodes: [`127.0.0.1:${sentinelPort}`] }, password, keyPrefix: 'prod:' };
    const pair = await twoGateways(redis);
    const reader = new Redis({ sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'frontdesk', password, keyPrefix: 'prod:' });
    reader.on('error', () => {});
    cleanups.push(async () => reader.disconnect());
    await sharesEverything(redis, pair, async () => reader);
    expect((await everyKey({ host: '127.0.0.1', port: masterPort, password })).some((k) => k.startsWith('prod:frontdesk:cache'))).toBe(true);

    // The master dies: the sentinel promotes the replica, and the gateways follow.
    await master.kill();
    await eventually(async () => {
      const probe = new Redis({ host: '127.0.0.1', port: replicaPort, password, lazyConnect: true });
      await probe.connect();
      const info = await probe.info('replication');
      probe.disconnect();
      return /role:master/.test(info);
    }, 20_000, 200);
    const query = `{ value(key: "${randomUUID()}") }`;
    await eventually(async () => (await gql(pair[0].url, query)).headers.get('x-cache') === 'HIT', 15_000, 200);
    expect((await gql(pair[1].url, query)).headers.get('x-cache')).toBe('HIT');
    expect((await everyKey({ host: '127.0.0.1', port: replicaPort, password })).some((k) => k.startsWith('prod:frontdesk:cache'))).toBe(true);
  }, 60_000);
});

describe('Redis Cluster', () => {
  it('works with every Redis user on a three-master cluster, keys spread over the masters', async () => {
    const dir = tempDir();
    const ports = [await freeClusterPort(), await freeClusterPort(), await freeClusterPort()];
    for (const port of ports) {
      const node = await spawnRedis(
        ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no'],
        () => answers({ host: '127.0.0.1', port }),
      );
      cleanups.push(() => node.stop());
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    await eventually(async () => {
      for (const port of ports) {
        const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
        await probe.connect();
        const info = (await probe.call('CLUSTER', 'INFO')) as string;
        probe.disconnect();
        if (!/cluster_state:ok/.test(info)) return false;
      }
      return true;
    }, 20_000, 200);

    const redis: RedisSettings = { cluster: { nodes: [`127.0.0.1:${ports[0]}`] }, keyPrefix: 'cl:' };
    const pair = await twoGateways(redis);
    const reader = new Cluster([{ host: '127.0.0.1', port: ports[0]! }], { keyPrefix: 'cl:' });
    cleanups.push(async () => reader.disconnect());
    await sharesEverything(redis, pair, async () => reader);
    const perNode = await Promise.all(ports.map((port) => everyKey({ host: '127.0.0.1', port })));
    const all = perNode.flat();
    expect(all.every((k) => k.startsWith('cl:'))).toBe(true);
    // Spread: more than one master holds the gateway's keys.
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
  }, 60_000);
});
