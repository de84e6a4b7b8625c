import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startProcess, type Proc } from '../../bench/harness.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { loadConfig } from '../../gateway/src/core/config.js';
import { createGateway } from '../../gateway/src/core/create-gateway.js';
import { createLogger } from '../../gateway/src/core/logger.js';
import { startDnsServer } from '../support/dns.js';
import { COMMITTED_SUPERGRAPH, eventually, gql, tempDir } from '../support/servers.js';
import { asAdmin, startStack, startStackGateway, subgraphUrls, type Stack } from '../support/stack.js';

/**
 * Several instances of reviews as their own processes (the built subgraph, `npm run build`):
 * killed with SIGKILL, stopped with SIGSTOP, restarted on the same port.
 */
interface ReviewsInstance {
  port: number;
  url: string;
  proc?: Proc;
}

async function startReviewsInstance(instance: ReviewsInstance): Promise<void> {
  instance.proc = await startProcess('dist/subgraphs/reviews/main.js', [], { PORT: String(instance.port), HOST: '127.0.0.1' }, `http://127.0.0.1:${instance.port}/ready`);
}

async function newInstance(): Promise<ReviewsInstance> {
  const port = await freePort();
  const instance = { port, url: `http://127.0.0.1:${port}/graphql` };
  await startReviewsInstance(instance);
  return instance;
}

function kill(instance: ReviewsInstance): void {
  instance.proc?.child.kill('SIGKILL');
}

/** GraphQL operations the instance was asked since it started (its own counter). */
async function operationsOf(instance: ReviewsInstance): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${instance.port}/_stats`);
  return ((await response.json()) as { operations: number }).operations;
}

interface InstanceState {
  url: string;
  circuit: string;
  healthy: boolean;
  ejected: boolean;
  sent: number;
}

async function reviewsInstances(gateway: RunningGateway): Promise<InstanceState[]> {
  const response = await fetch(gateway.url.replace('/graphql', '/admin/resilience'), { headers: await asAdmin() });
  const body = (await response.json()) as { subgraphs: Record<string, { instances: InstanceState[] }> };
  return body.subgraphs.reviews?.instances ?? [];
}

const QUERY = '{ review(id: "r1") { rating body } user(id: "u1") { name } }';

let stack: Stack;
const instances: ReviewsInstance[] = [];
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  stack = await startStack();
  instances.push(await newInstance(), await newInstance());
}, 60_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  for (const instance of instances) {
    instance.proc?.child.kill('SIGCONT');
    await instance.proc?.stop();
  }
  await stack?.stop();
});

async function gatewayOver(reviews: NonNullable<FrontdeskConfigInput['subgraphs']>[string], resilience: FrontdeskConfigInput['resilience'], extra: FrontdeskConfigInput = {}): Promise<RunningGateway> {
  const gateway = await startStackGateway({ ...subgraphUrls(stack), reviews }, { ...(resilience ? { resilience } : {}), ...extra });
  gateways.push(gateway);
  return gateway;
}

describe('two instances of reviews', () => {
  it('under load, one killed: no client request fails or misses review data; it is ejected, and back after a restart', async () => {
    const [a, b] = instances as [ReviewsInstance, ReviewsInstance];
    const gateway = await gatewayOver({ urls: [a.url, b.url] }, { all: { healthCheck: { intervalMs: 100 }, outlierEjection: { baseMs: 1000 }, circuitBreaker: { halfOpenAfterMs: 500 } } });
    const expected = (await gql(gateway.url, QUERY)).body;
    expect(expected.errors).toBeUndefined();
    expect(expected.data?.review).toMatchObject({ rating: expect.any(Number) });

    let running = true;
    let answered = 0;
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      while (running) {
        try {
          const { status, body } = await gql(gateway.url, QUERY);
          answered += 1;
          if (status !== 200 || JSON.stringify(body) !== JSON.stringify(expected)) failures.push(body);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    await new Promise((resolve) => setTimeout(resolve, 700));
    const beforeKill = answered;
    kill(a);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    running = false;
    await load;
    expect(failures).toEqual([]);
    expect(beforeKill).toBeGreaterThan(20);
    expect(answered - beforeKill).toBeGreaterThan(20);

    const down = (await reviewsInstances(gateway)).find((i) => i.url === a.url)!;
    expect(down.ejected || !down.healthy).toBe(true);

    await startReviewsInstance(a);
    await eventually(async () => {
      const state = (await reviewsInstances(gateway)).find((i) => i.url === a.url)!;
      return state.healthy && !state.ejected;
    }, 10_000);
    // Back in rotation: the restarted instance is asked again.
    await eventually(async () => {
      for (let i = 0; i < 10; i += 1) expect((await gql(gateway.url, QUERY)).body).toEqual(expected);
      return (await operationsOf(a)) > 0;
    }, 10_000);
  }, 60_000);

  it('every instance dead: only review fields fail, CIRCUIT_OPEN once the breakers open, nothing is sent while open, closed after restart', async () => {
    const [a, b] = instances as [ReviewsInstance, ReviewsInstance];
    const gateway = await gatewayOver(
      { urls: [a.url, b.url] },
      { all: { retry: { maxRetries: 0 }, healthCheck: { intervalMs: 200 }, circuitBreaker: { windowMs: 2000, minimumPerSecond: 1, halfOpenAfterMs: 6000 } } },
    );
    expect((await gql(gateway.url, QUERY)).body.errors).toBeUndefined();
    kill(a);
    kill(b);
    await Promise.all([a.proc?.stop(), b.proc?.stop()]);
    const codes: string[] = [];
    let opened = 0;
    for (let i = 0; i < 40 && !opened; i += 1) {
      const { body } = await gql(gateway.url, QUERY);
      expect(body.data).toEqual({ review: null, user: { name: 'Ada McCarthy' } });
      expect(body.errors).toHaveLength(1);
      const code = String(body.errors?.[0]?.extensions?.code);
      codes.push(code);
      if (code === 'CIRCUIT_OPEN') opened = Date.now();
    }
    expect(codes[0]).toBe('UPSTREAM_UNAVAILABLE');
    expect(codes.at(-1)).toBe('CIRCUIT_OPEN');
    expect((await reviewsInstances(gateway)).map((i) => i.circuit)).toEqual(['open', 'open']);

    // Both come back while the breakers are still open: nothing reaches them until the half-open probe.
    await Promise.all([startReviewsInstance(a), startReviewsInstance(b)]);
    for (let i = 0; i < 5; i += 1) {
      const { body } = await gql(gateway.url, QUERY);
      expect(body.errors?.[0]).toMatchObject({ message: 'Subgraph "reviews" is unavailable (circuit open)', extensions: { code: 'CIRCUIT_OPEN' }, path: ['review'] });
    }
    expect(Date.now() - opened).toBeLessThan(6000);
    expect((await operationsOf(a)) + (await operationsOf(b))).toBe(0);

    await eventually(async () => (await gql(gateway.url, QUERY)).body.errors === undefined, 15_000, 250);
    await eventually(async () => {
      await gql(gateway.url, QUERY);
      return (await reviewsInstances(gateway)).every((i) => i.circuit === 'closed');
    }, 15_000, 250);
  }, 60_000);
});

describe('a hung subgraph', () => {
  it('stopped with SIGSTOP: its fields answer UPSTREAM_TIMEOUT at its own deadline, the others are served', async () => {
    const [a] = instances as [ReviewsInstance];
    const gateway = await gatewayOver({ url: a.url, deadlineMs: 800 }, { all: { circuitBreaker: { enabled: false } } });
    expect((await gql(gateway.url, QUERY)).body.errors).toBeUndefined();
    a.proc!.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      const { body } = await gql(gateway.url, QUERY);
      const took = Date.now() - started;
      expect(body.data).toEqual({ review: null, user: { name: 'Ada McCarthy' } });
      expect(body.errors?.[0]).toMatchObject({ message: 'Subgraph "reviews" did not answer in time', extensions: { code: 'UPSTREAM_TIMEOUT' }, path: ['review'] });
      // Its own 0.8 s deadline, not subgraphRequests' 30 s (timeouts are not retried).
      expect(took).toBeLessThan(5_000);
    } finally {
      a.proc!.child.kill('SIGCONT');
    }
  }, 30_000);
});

describe('a gateway started with a subgraph down', () => {
  it('starts, is ready, and serves the other subgraphs; the down one fails with a code', async () => {
    const port = await freePort();
    const gateway = await gatewayOver({ url: `http://127.0.0.1:${port}/graphql` }, undefined);
    expect((await fetch(gateway.url.replace('/graphql', '/ready'))).status).toBe(200);
    const { body } = await gql(gateway.url, QUERY);
    expect(body.data).toEqual({ review: null, user: { name: 'Ada McCarthy' } });
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'UPSTREAM_UNAVAILABLE' }, path: ['review'] });
    // An entity fetch: the error sits at the entity's field, the product's own fields are served.
    const entity = await gql(gateway.url, '{ product(id: "p1") { name averageRating } }');
    expect(entity.body.data).toEqual({ product: { name: expect.any(String), averageRating: null } });
    expect(entity.body.errors).toEqual([expect.objectContaining({ message: 'Subgraph "reviews" is unavailable', path: ['product', 'averageRating'], extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE' }) })]);
  });
});

describe('where the instances come from', () => {
  it('DNS SRV records: both instances are called; a record removed takes its instance out after the TTL', async () => {
    const [a, b] = instances as [ReviewsInstance, ReviewsInstance];
    const dns = await startDnsServer({
      A: { 'a.frontdesk.test': ['127.0.0.1'], 'b.frontdesk.test': ['127.0.0.1'] },
      SRV: { '_graphql._tcp.reviews.frontdesk.test': [{ target: 'a.frontdesk.test', port: a.port }, { target: 'b.frontdesk.test', port: b.port }] },
    });
    try {
      const gateway = await gatewayOver({ discovery: { name: '_graphql._tcp.reviews.frontdesk.test', record: 'SRV', servers: [dns.server], minRefreshMs: 100 } }, {});
      const [fromA, fromB] = [await operationsOf(a), await operationsOf(b)];
      for (let i = 0; i < 30; i += 1) expect((await gql(gateway.url, QUERY)).body.errors).toBeUndefined();
      expect(await operationsOf(a)).toBeGreaterThan(fromA);
      expect(await operationsOf(b)).toBeGreaterThan(fromB);
      expect((await reviewsInstances(gateway)).map((i) => i.url).sort()).toEqual([a.url, b.url].sort());

      dns.records.SRV!['_graphql._tcp.reviews.frontdesk.test'] = [{ target: 'b.frontdesk.test', port: b.port }];
      await eventually(async () => {
        await gql(gateway.url, QUERY);
        return (await reviewsInstances(gateway)).length === 1;
      }, 5_000, 100);
      const onlyB = await operationsOf(a);
      for (let i = 0; i < 10; i += 1) expect((await gql(gateway.url, QUERY)).body.errors).toBeUndefined();
      expect(await operationsOf(a)).toBe(onlyB);
    } finally {
      await dns.stop();
    }
  });

  it('the config file: a changed instance list is taken without a restart', async () => {
    const [a, b] = instances as [ReviewsInstance, ReviewsInstance];
    const dir = tempDir();
    const file = join(dir, 'frontdesk.config.yaml');
    const write = (urls: string[]) =>
      writeFileSync(
        file,
        toYaml({
          server: { host: '127.0.0.1', port: 0 },
          supergraph: { path: COMMITTED_SUPERGRAPH, watch: true, watchDebounceMs: 50, keepLastGood: false },
          subgraphs: { ...subgraphUrls(stack), reviews: { urls } },
          resilience: {},
        }),
      );
    write([a.url]);
    const gateway = await createGateway(loadConfig({ argv: ['--config', file], env: {} }), { logger: createLogger('silent') });
    gateways.push(gateway);
    const REVIEW = '{ review(id: "r1") { rating } }';
    const fromB = await operationsOf(b);
    for (let i = 0; i < 5; i += 1) expect((await gql(gateway.url, REVIEW)).body.errors).toBeUndefined();
    expect(await operationsOf(b)).toBe(fromB);
    write([b.url]);
    await eventually(async () => {
      expect((await gql(gateway.url, REVIEW)).body.errors).toBeUndefined();
      return (await operationsOf(b)) > fromB;
    }, 5_000, 100);
    const fromA = await operationsOf(a);
    for (let i = 0; i < 5; i += 1) await gql(gateway.url, REVIEW);
    expect(await operationsOf(a)).toBe(fromA);
  });
});
