import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startProcess, type Proc } from '../../bench/harness.js';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { IdentitySigner } from '../../gateway/src/plugins/auth/index.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { startFixture, type RunningFixture } from '../support/federation.js';
import { deleteKeys, SHARED_REDIS_URL } from '../support/redis.js';
import { composeToFile, eventually, gql, startTestGateway, tempDir } from '../support/servers.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// Three gateway processes sharing Redis behind a round-robin TCP proxy that follows /ready, as a
// Kubernetes Service does. Each is stopped (SIGTERM) and started again in turn while clients keep
// sending: no request may fail, and what replicas share holds across them.
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const prefix = `rolling-${randomUUID()}:`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const LIMITED_KEY = `fd_${randomUUID()}`;
const BUSY_KEY = `fd_${randomUUID()}`;

let echo: RunningSubgraph;
let cached: RunningFixture;
let proxy: TcpProxy;
let configFile: string;
const ports: number[] = [];
const gateways = new Map<number, Proc>();

const start = async (port: number) => {
  gateways.set(port, await startProcess('dist/gateway/src/main.js', ['--config', configFile, '--port', String(port)], { NODE_ENV: 'production' }, `http://127.0.0.1:${port}/ready`));
};

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
  const dir = tempDir();
  const supergraph = join(dir, 'supergraph.graphql');
  composeToFile(supergraph, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }, ...cached.subgraphs]);
  const config: FrontdeskConfigInput = {
    server: { drainDelayMs: 1_000, drainTimeoutMs: 5_000 },
    supergraph: { path: supergraph, watch: false, keepLastGood: false },
    redis: { url: SHARED_REDIS_URL, keyPrefix: prefix },
    auth: {
      apiKeys: {
        keys: [
          { sha256: sha256(LIMITED_KEY), clientId: 'limited', plan: 'metered' },
          { sha256: sha256(BUSY_KEY), clientId: 'busy', plan: 'unlimited' },
        ],
      },
      identity: { privateKeyPem: IDENTITY_KEY },
    },
    rateLimits: { plans: { metered: { rate: { limit: 5, windowSeconds: 300 } } } },
    responseCache: { defaultMaxAgeSeconds: 300 },
    logging: { level: 'warn' },
  };
  configFile = join(dir, 'frontdesk.config.yaml');
  writeFileSync(configFile, stringify(config));
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  await Promise.all(ports.map(start));
  proxy = await startTcpProxy(ports);
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await Promise.all([...gateways.values()].map((g) => g.stop()));
  await echo?.stop();
  await cached?.stop();
  await deleteKeys(SHARED_REDIS_URL, prefix);
});

async function post(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] }; cache: string | null }> {
  const response = await fetch(proxy.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as never, cache: response.headers.get('x-cache') };
}

describe('a rolling restart of three gateways sharing Redis', () => {
  it('completes under load with zero failed requests, and the cache, rate limit and API keys hold across replicas', async () => {
    // Before: a cached answer, and 3 of the limited client's 5 requests spent, spread over replicas.
    const stored = `{ value(key: "${randomUUID()}") }`;
    expect((await post(stored)).cache).toBe('MISS');
    for (let i = 0; i < 3; i++) expect((await post('{ whoami }', { 'x-api-key': LIMITED_KEY })).status).toBe(200);

    let running = true;
    const failures: string[] = [];
    let sent = 0;
    const client = async (n: number) => {
      for (let i = 0; running; i++) {
        const kind = (n + i) % 3;
        const query = kind === 0 ? stored : kind === 1 ? `{ value(key: "${randomUUID()}") }` : '{ whoami }';
        try {
          const { status, body } = await post(query, kind === 2 ? { 'x-api-key': BUSY_KEY } : {});
          sent += 1;
          if (status !== 200 || body.errors) failures.push(`${status} ${JSON.stringify(body).slice(0, 200)}`);
        } catch (error) {
          sent += 1;
          failures.push(`network: ${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}`);
        }
      }
    };
    const clients = Array.from({ length: 12 }, (_, n) => client(n));

    const restarted: number[] = [];
    for (const port of ports) {
      const before = sent;
      await gateways.get(port)!.stop();
      await start(port);
      restarted.push(port);
      // Traffic kept flowing while this one was away.
      expect(sent).toBeGreaterThan(before);
      // The proxy sees it ready again before the next one goes.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    running = false;
    await Promise.all(clients);

    expect(restarted).toEqual(ports);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(300);
    // Every replica served through the proxy, before and after its restart.
    for (const port of ports) expect(proxy.connections.get(port), `connections to ${port}`).toBeGreaterThan(1);

    // After: the answer stored before every replica restarted is still served from Redis.
    expect((await post(stored)).cache).toBe('HIT');
    // The limit counted on every replica, across restarts: 2 of 5 left.
    expect((await post('{ whoami }', { 'x-api-key': LIMITED_KEY })).status).toBe(200);
    expect((await post('{ whoami }', { 'x-api-key': LIMITED_KEY })).status).toBe(200);
    const refused = await post('{ whoami }', { 'x-api-key': LIMITED_KEY });
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // The API key identifies its client on whichever replica answers.
    const who = await post('{ whoami }', { 'x-api-key': BUSY_KEY });
    expect(JSON.parse(who.body.data!.whoami as string)).toMatchObject({ kind: 'client', id: 'busy', plan: 'unlimited' });
  }, 90_000);
});

describe('a supergraph change under load', () => {
  it('is taken up without a failed request: the new field answers, nothing in flight fails', async () => {
    const dir = tempDir();
    const path = join(dir, 'supergraph.graphql');
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: false }) }]);
    const gateway = await startTestGateway({ supergraph: { path, watch: true, watchDebounceMs: 50 }, auth: { identity: { privateKeyPem: IDENTITY_KEY } } });
    try {
      expect((await gql(gateway.url, '{ added }')).status).toBe(400);
      let running = true;
      let sent = 0;
      const failures: string[] = [];
      const client = async () => {
        while (running) {
          try {
            const { status, body } = await gql(gateway.url, '{ requestId }');
            sent += 1;
            if (status !== 200 || body.errors) failures.push(`${status} ${JSON.stringify(body).slice(0, 200)}`);
          } catch (error) {
            failures.push(`network: ${(error as Error).message}`);
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Written beside and renamed over the file, as a deploy tool (or a ConfigMap) swaps it.
      const next = join(dir, 'supergraph.next.graphql');
      composeToFile(next, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
      const { renameSync } = await import('node:fs');
      renameSync(next, path);
      await eventually(async () => (await gql(gateway.url, '{ added }')).status === 200, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      running = false;
      await Promise.all(clients);
      expect(failures).toEqual([]);
      expect(sent).toBeGreaterThan(50);
      expect((await gql(gateway.url, '{ added }')).body).toEqual({ data: { added: 'the new field' } });
    } finally {
      await gateway.stop();
    }
  });
});
