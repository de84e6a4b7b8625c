import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { freePort } from '../../bench/harness.js';
import { asAdmin, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

/** Prometheus text format: `name{labels} value` lines, by name and sorted label text. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = match[2] ? [...match[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}=${m[2]}`).sort() : [];
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

/** The sample with exactly these labels (0 when absent: a counter never incremented). */
function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const key = `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`;
  return samples.get(key) ?? 0;
}

/** The sum of every sample of a name whose labels include these. */
function total(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    if (key.slice(0, brace) !== name) continue;
    const have = key.slice(brace + 1, -1).split(',');
    if (wanted.every((w) => have.includes(w))) sum += value;
  }
  return sum;
}

let stack: Stack;
let gateway: RunningGateway;
let deadPort: number;

beforeAll(async () => {
  stack = await startStack();
  deadPort = await freePort();
  // Reviews is dead: nothing listens on its port.
  gateway = await startStackGatewayWith(stack, { reviews: { url: `http://127.0.0.1:${deadPort}/graphql` } }, { responseCache: {}, metrics: { topOperations: 3 } });
}, 30_000);
afterAll(async () => {
  await gateway?.stop();
  await stack?.stop();
});

async function post(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { data?: unknown; errors?: { extensions?: { code?: string } }[] } }> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as never };
}

async function scrape(url = gateway.url.replace('/graphql', '/metrics')): Promise<Map<string, number>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

describe('metrics', () => {
  it('counts a known mix exactly: cache hits and misses, errors by code, a dead subgraph, refusals', async () => {
    const product = 'query Product { product(id: "p1") { name } }';
    for (let i = 0; i < 3; i += 1) expect((await post(product)).status).toBe(200); // 1 MISS, 2 HIT
    for (let i = 0; i < 2; i += 1) expect((await post('query Broken { nope }')).status).toBe(400);
    const dead = await post('query Dead { review(id: "r1") { rating } }');
    expect(dead.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect((await post(product, { authorization: 'Bearer not-a-token' })).status).toBe(401);
    for (let i = 0; i < 4; i += 1) await post(`query Op${i} { product(id: "p2") { name } }`, { 'apollographql-client-name': 'web' });

    const samples = await scrape();
    const count = (labels: Record<string, string>) => sample(samples, 'frontdesk_graphql_request_duration_seconds_count', labels);
    expect(count({ operation: 'Product', client: 'anonymous', outcome: 'success' })).toBe(3);
    expect(count({ operation: 'Broken', client: 'anonymous', outcome: 'refused' })).toBe(2);
    expect(count({ operation: 'Dead', client: 'anonymous', outcome: 'partial' })).toBe(1);
    // topOperations 3: Product, Broken and Dead hold the places. The request refused at
    // authentication (before its body was read: no name) and the four Op<i> read "other".
    expect(count({ operation: 'other', client: 'anonymous', outcome: 'refused' })).toBe(1);
    expect(count({ operation: 'other', client: 'web', outcome: 'success' })).toBe(4);
    expect(total(samples, 'frontdesk_graphql_request_duration_seconds_count')).toBe(11);

    expect(sample(samples, 'frontdesk_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(2);
    expect(sample(samples, 'frontdesk_graphql_errors_total', { code: 'UPSTREAM_UNAVAILABLE' })).toBe(1);
    expect(sample(samples, 'frontdesk_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(total(samples, 'frontdesk_graphql_errors_total')).toBe(4);

    // Product: one miss then two hits; Dead and Op0..3 are misses too; Broken (invalid) bypasses.
    expect(sample(samples, 'frontdesk_response_cache_requests_total', { result: 'HIT' })).toBe(2);
    expect(sample(samples, 'frontdesk_response_cache_requests_total', { result: 'MISS' })).toBe(6);
    expect(sample(samples, 'frontdesk_response_cache_requests_total', { result: 'BYPASS' })).toBe(2);
    expect(sample(samples, 'frontdesk_response_cache_requests_total', { result: 'STALE' })).toBe(0);

    const deadInstance = { subgraph: 'reviews', instance: `http://127.0.0.1:${deadPort}` };
    expect(sample(samples, 'frontdesk_subgraph_fetch_errors_total', { ...deadInstance, reason: 'connection' })).toBe(1);
    expect(sample(samples, 'frontdesk_subgraph_fetch_duration_seconds_count', { ...deadInstance, outcome: 'error' })).toBe(1);
    expect(sample(samples, 'frontdesk_subgraph_fetches_in_flight', deadInstance)).toBe(0);
    const products = { subgraph: 'products', instance: new URL(stack.products.url).origin };
    // Product once (then hits) and Op0..3 (identical fetches, one after the other): five fetches.
    expect(sample(samples, 'frontdesk_subgraph_fetch_duration_seconds_count', { ...products, outcome: 'success' })).toBe(5);
    expect(total(samples, 'frontdesk_subgraph_fetch_errors_total', { subgraph: 'products' })).toBe(0);

    // Node's own.
    expect(samples.has('process_cpu_user_seconds_total{}')).toBe(true);
    expect(total(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('serves the status data to an admin only', async () => {
    const url = gateway.url.replace('/graphql', '/admin/status');
    expect((await fetch(url)).status).toBe(401);
    const response = await fetch(url, { headers: await asAdmin() });
    expect(response.status).toBe(200);
    const status = (await response.json()) as { summary: { requests: number }; series: { t: number[] }; subgraphs: { name: string; instances: { errors: number }[] }[]; recentErrors: { codes: string[] }[] };
    expect(status.series.t).toHaveLength(360);
    expect(status.summary.requests).toBeGreaterThanOrEqual(11);
    expect(status.subgraphs.find((s) => s.name === 'reviews')!.instances[0]!.errors).toBe(1);
    expect(status.recentErrors.map((e) => e.codes[0])).toContain('UPSTREAM_UNAVAILABLE');
    expect((await fetch(`${url}?minutes=0`, { headers: await asAdmin() })).status).toBe(400);
  });
});

describe('log level at run time', () => {
  it('is read and changed by an admin only, to a known level', async () => {
    const url = gateway.url.replace('/graphql', '/admin/log-level');
    const admin = { ...(await asAdmin()), 'content-type': 'application/json' };
    expect((await fetch(url)).status).toBe(401);
    const before = (await (await fetch(url, { headers: admin })).json()) as { level: string };
    expect((await fetch(url, { method: 'POST', headers: admin, body: JSON.stringify({ level: 'loud' }) })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', headers: admin, body: JSON.stringify({ level: 'debug', extra: 1 }) })).status).toBe(400);
    const changed = await fetch(url, { method: 'POST', headers: admin, body: JSON.stringify({ level: 'debug' }) });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({ level: 'debug', previous: before.level });
    expect(gateway.logger.level).toBe('debug');
    expect(((await (await fetch(url, { headers: admin })).json()) as { level: string }).level).toBe('debug');
    await fetch(url, { method: 'POST', headers: admin, body: JSON.stringify({ level: before.level }) });
  });
});

describe('metrics on a port of their own', () => {
  it('serves /metrics there and not on the gateway port', async () => {
    const port = await freePort();
    const own = await startStackGatewayWith(stack, {}, { metrics: { port, host: '127.0.0.1', statusPage: false } });
    try {
      expect((await fetch(own.url.replace('/graphql', '/metrics'))).status).toBe(404);
      expect((await fetch(own.url.replace('/graphql', '/status'))).status).toBe(404);
      await fetch(own.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query Own { product(id: "p1") { name } }' }) });
      let samples = new Map<string, number>();
      // The port listens once the plugin is made; give it a moment on a loaded machine.
      for (let i = 0; i < 20 && samples.size === 0; i += 1) {
        try {
          samples = await scrape(`http://127.0.0.1:${port}/metrics`);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      expect(sample(samples, 'frontdesk_graphql_request_duration_seconds_count', { operation: 'Own', client: 'anonymous', outcome: 'success' })).toBe(1);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await own.stop();
    }
    // Stopped with the gateway.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
