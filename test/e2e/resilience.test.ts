import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { gql } from '../support/servers.js';
import { as, startStack, startStackGateway, subgraphUrls, type Stack } from '../support/stack.js';

/**
 * A proxy in front of a real subgraph that fails on purpose: `failFirst` answers 503 to the first
 * attempt of each fetch (same request id and body) and passes the second on; `failAll` answers
 * every request 503. It counts what reaches it.
 */
class FlakyProxy {
  mode: 'failFirst' | 'failAll' | 'pass' = 'failFirst';
  readonly seen = new Set<string>();
  requests: { body: string }[] = [];
  private server!: Server;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  private async handle(req: IncomingMessage, body: string, res: import('node:http').ServerResponse): Promise<void> {
    this.requests.push({ body });
    const key = `${String(req.headers['x-request-id'])}\u0000${body}`;
    if (this.mode === 'failAll' || (this.mode === 'failFirst' && !this.seen.has(key))) {
      this.seen.add(key);
      res.writeHead(503, { 'content-type': 'text/plain' }).end('try again');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
    const answer = await fetch(this.target, { method: 'POST', headers, body });
    res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': answer.headers.get('cache-control') ?? 'no-store' }).end(await answer.text());
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let stack: Stack;
let accounts: FlakyProxy;
let reviews: FlakyProxy;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  stack = await startStack();
  accounts = new FlakyProxy(stack.accounts.url);
  reviews = new FlakyProxy(stack.reviews.url);
  await Promise.all([accounts.start(), reviews.start()]);
}, 30_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all([accounts?.stop(), reviews?.stop()]);
  await stack?.stop();
});

async function gatewayWith(extra: Parameters<typeof startStackGateway>[1]): Promise<RunningGateway> {
  const gateway = await startStackGateway({ ...subgraphUrls(stack), accounts: { url: accounts.url }, reviews: { url: reviews.url } }, extra);
  gateways.push(gateway);
  return gateway;
}

describe('retries', () => {
  it('a subgraph that fails the first attempt of each query answers every query', async () => {
    accounts.mode = 'failFirst';
    const bare = await gatewayWith({});
    const unretried = await gql(bare.url, '{ user(id: "u1") { name } }');
    expect(unretried.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');

    const gateway = await gatewayWith({ resilience: { all: { retry: { maxRetries: 1, initialDelayMs: 5 }, circuitBreaker: { enabled: false } } } });
    accounts.requests = [];
    for (let i = 0; i < 20; i += 1) {
      const { body } = await gql(gateway.url, `{ user(id: "u${(i % 5) + 1}") { id } }`);
      expect(body).toEqual({ data: { user: { id: `u${(i % 5) + 1}` } } });
    }
    expect(accounts.requests).toHaveLength(40);
  });

  it('never sends a mutation twice', async () => {
    reviews.mode = 'failFirst';
    const gateway = await gatewayWith({ resilience: { all: { retry: { maxRetries: 3, initialDelayMs: 5 }, circuitBreaker: { enabled: false } } } });
    reviews.requests = [];
    const { body } = await gql(gateway.url, 'mutation { addReview(input: { productId: "p1", authorId: "u1", rating: 5, body: "Sturdy." }) { id } }', {
      headers: await as('u1', { scopes: ['reviews:write'] }),
    });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(reviews.requests.filter((r) => r.body.includes('mutation'))).toHaveLength(1);
  });

  it('keeps retries within the budget when everything fails', async () => {
    accounts.mode = 'failAll';
    try {
      const gateway = await gatewayWith({
        resilience: { all: { retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 5 }, circuitBreaker: { enabled: false } }, retryBudget: { percent: 0, minPerSecond: 1 } },
      });
      accounts.requests = [];
      for (let i = 0; i < 30; i += 1) await gql(gateway.url, `{ user(id: "u${i}") { id } }`);
      const retries = accounts.requests.length - 30;
      // 1 per second over the 10 s window at most: without the budget, 90.
      expect(retries).toBeGreaterThanOrEqual(1);
      expect(retries).toBeLessThanOrEqual(10);
    } finally {
      accounts.mode = 'failFirst';
    }
  });
});

describe('circuit breaker', () => {
  it('opens on failures: the subgraph\'s fields are CIRCUIT_OPEN and nothing reaches it; a probe closes it again', async () => {
    reviews.mode = 'failAll';
    accounts.mode = 'pass';
    try {
      const gateway = await gatewayWith({
        resilience: { all: { retry: { maxRetries: 0 }, circuitBreaker: { failureRatePercent: 50, windowMs: 2000, minimumPerSecond: 1, halfOpenAfterMs: 400 } } },
      });
      const query = '{ user(id: "u1") { name } review(id: "r1") { rating } }';
      const codes: string[] = [];
      for (let i = 0; i < 8; i += 1) {
        const { body } = await gql(gateway.url, query);
        expect(body.data).toEqual({ user: { name: 'Ada McCarthy' }, review: null });
        codes.push(String(body.errors?.[0]?.extensions?.code));
      }
      expect(codes[0]).toBe('UPSTREAM_UNAVAILABLE');
      expect(codes.at(-1)).toBe('CIRCUIT_OPEN');
      // Open: nothing reaches the subgraph.
      const before = reviews.requests.length;
      for (let i = 0; i < 5; i += 1) {
        const { body } = await gql(gateway.url, query);
        expect(body.data).toEqual({ user: { name: 'Ada McCarthy' }, review: null });
        expect(body.errors?.[0]).toMatchObject({ message: 'Subgraph "reviews" is unavailable (circuit open)', extensions: { code: 'CIRCUIT_OPEN' } });
      }
      expect(reviews.requests.length).toBe(before);
      const admin = await fetch(gateway.url.replace('/graphql', '/admin/resilience'), { headers: await as('admin-1', { roles: ['admin'] }) });
      expect(((await admin.json()) as { subgraphs: Record<string, { circuit: string }> }).subgraphs.reviews?.circuit).toBe('open');
      // The subgraph recovers: after halfOpenAfterMs one probe goes through and closes the circuit.
      reviews.mode = 'pass';
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { body } = await gql(gateway.url, query);
      expect(body.errors).toBeUndefined();
      expect(body.data?.review).toMatchObject({ rating: expect.any(Number) });
    } finally {
      reviews.mode = 'failFirst';
      accounts.mode = 'failFirst';
    }
  });
});

describe('bulkhead', () => {
  it('sheds fetches past the concurrent and queued bound at once, and serves the rest', async () => {
    const gateway = await gatewayWith({ resilience: { subgraphs: { products: { bulkhead: { maxConcurrent: 1, maxQueued: 1 } } } } });
    stack.catalog.setFaults({ latencyMs: 300 });
    try {
      const started = Date.now();
      const answers = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => gql(gateway.url, `{ product(id: "${id}") { id } }`)));
      const served = answers.filter((a) => a.body.data?.product);
      const shed = answers.filter((a) => a.body.errors?.[0]?.message === 'Subgraph "products" is overloaded: too many fetches in flight');
      expect(served).toHaveLength(2);
      expect(shed).toHaveLength(3);
      expect(shed.every((a) => a.body.errors?.[0]?.extensions?.code === 'UPSTREAM_UNAVAILABLE')).toBe(true);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      stack.catalog.setFaults({ latencyMs: 0 });
    }
  });
});
