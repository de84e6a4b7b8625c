import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { eventually, tempDir } from '../support/servers.js';
import { startStack, startStackGateway, subgraphUrls, type Stack } from '../support/stack.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  serial?: string;
}

function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Raw> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: options.method ?? 'POST', headers: { 'content-type': 'application/json', ...options.headers }, agent: false, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        const serial = target.protocol === 'https:' ? (res.socket as TLSSocket).getPeerCertificate().serialNumber : undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks), ...(serial ? { serial } : {}) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (r: Raw) => JSON.parse(r.bytes.toString('utf8')) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] };
const BIG = JSON.stringify({ query: '{ products(first: 50) { id name description price { amount currency } } }' });

let stack: Stack;
const gateways: RunningGateway[] = [];
async function gatewayWith(extra: FrontdeskConfigInput): Promise<RunningGateway> {
  const gateway = await startStackGateway(subgraphUrls(stack), extra);
  gateways.push(gateway);
  return gateway;
}

beforeAll(async () => {
  stack = await startStack();
}, 30_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await stack?.stop();
});

describe('compression', () => {
  it('answers gzip and brotli clients compressed, decoding to the same JSON as uncompressed', async () => {
    const gateway = await gatewayWith({ server: { compression: { enabled: true, thresholdBytes: 1024 } } });
    const plain = await raw(gateway.url, { body: BIG });
    expect(plain.status).toBe(200);
    expect(plain.bytes.length).toBeGreaterThan(1024);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('accept-encoding');
    const gzip = await raw(gateway.url, { body: BIG, headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(Number(gzip.headers['content-length'])).toBe(gzip.bytes.length);
    expect(gzip.bytes.length).toBeLessThan(plain.bytes.length / 2);
    expect(JSON.parse(gunzipSync(gzip.bytes).toString('utf8'))).toEqual(JSON.parse(plain.bytes.toString('utf8')));
    const br = await raw(gateway.url, { body: BIG, headers: { 'accept-encoding': 'gzip;q=0.5, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.bytes).toString('utf8'))).toEqual(JSON.parse(plain.bytes.toString('utf8')));
    // Small answers and clients that refuse an encoding get identity.
    const small = await raw(gateway.url, { body: JSON.stringify({ query: '{ __typename }' }), headers: { 'accept-encoding': 'br, gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
    const refused = await raw(gateway.url, { body: BIG, headers: { 'accept-encoding': 'br;q=0, gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('compresses answers the response cache writes at the edge too', async () => {
    const gateway = await gatewayWith({ responseCache: { defaultMaxAgeSeconds: 60 } });
    const body = JSON.stringify({ query: '{ products(first: 40) { id name description } }' });
    const first = await raw(gateway.url, { body, headers: { 'accept-encoding': 'br' } });
    let hit = first;
    for (let i = 0; i < 3 && hit.headers['x-cache'] !== 'HIT'; i += 1) hit = await raw(gateway.url, { body, headers: { 'accept-encoding': 'br' } });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(hit.bytes).toString('utf8'))).toEqual(JSON.parse(brotliDecompressSync(first.bytes).toString('utf8')));
  });
});

describe('batched requests', () => {
  it('answers a batch of three operations with three answers in order, and refuses one over the limit', async () => {
    const gateway = await gatewayWith({ server: { batching: { enabled: true, maxOperations: 3 } } });
    const three = await raw(gateway.url, {
      body: JSON.stringify([
        { query: '{ user(id: "u1") { name } }' },
        { query: 'query P($id: ID!) { product(id: $id) { name } }', variables: { id: 'p2' } },
        { query: '{ __typename }' },
      ]),
    });
    expect(three.status).toBe(200);
    expect(JSON.parse(three.bytes.toString('utf8'))).toEqual([
      { data: { user: { name: 'Ada McCarthy' } } },
      { data: { product: { name: 'Gdańsk armchair' } } },
      { data: { __typename: 'Query' } },
    ]);
    const four = await raw(gateway.url, { body: JSON.stringify(Array.from({ length: 4 }, () => ({ query: '{ __typename }' }))) });
    expect(four.status).toBe(400);
    expect(json(four).errors?.[0]?.extensions?.code).toBe('BATCH_TOO_LARGE');
    const off = await gatewayWith({ server: { batching: { enabled: false } } });
    const refused = await raw(off.url, { body: JSON.stringify([{ query: '{ __typename }' }]) });
    expect(refused.status).toBe(400);
    expect(json(refused).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });
});

describe('CORS', () => {
  it('answers the preflight of an allowed origin and refuses another one', async () => {
    const gateway = await gatewayWith({ server: { cors: { origins: ['http://localhost:*', 'https://*.example.com'], credentials: true } } });
    const preflight = (origin: string) =>
      raw(gateway.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    expect(allowed.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(String(allowed.headers['access-control-allow-headers'])).toContain('authorization');
    const subdomain = await preflight('https://shop.example.com');
    expect(subdomain.status).toBe(204);
    const refused = await preflight('https://evil.example.net');
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(json(refused).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Lookalikes of an allowed origin are refused too.
    expect((await preflight('https://example.com.evil.net')).status).toBe(403);
    expect((await preflight('http://localhost.evil.net')).status).toBe(403);
  });

  it('allows development origins outside production only', async () => {
    const cors = { origins: ['https://app.example.com'], developmentOrigins: ['http://localhost:*'] };
    const preflight = (url: string, origin: string) => raw(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const development = await gatewayWith({ server: { cors } });
    expect((await preflight(development.url, 'http://localhost:3000')).status).toBe(204);
    const { startTestGateway, COMMITTED_SUPERGRAPH } = await import('../support/servers.js');
    const production = await startTestGateway({ supergraph: { path: COMMITTED_SUPERGRAPH, watch: false }, subgraphs: subgraphUrls(stack), server: { cors } }, { production: true });
    gateways.push(production);
    expect((await preflight(production.url, 'http://localhost:3000')).status).toBe(403);
    expect((await preflight(production.url, 'https://app.example.com')).status).toBe(204);
  });

  it('marks answers to an allowed origin and leaves a refused origin\'s without CORS headers', async () => {
    const gateway = await gatewayWith({ server: { cors: { origins: ['http://localhost:3000'] } } });
    const body = JSON.stringify({ query: '{ __typename }' });
    const allowed = await raw(gateway.url, { body, headers: { origin: 'http://localhost:3000' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(allowed.headers['access-control-expose-headers']).toContain('x-request-id');
    const other = await raw(gateway.url, { body, headers: { origin: 'http://localhost:3001' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // An error answer is readable by an allowed page too.
    const refused = await raw(gateway.url, { body: '{', headers: { origin: 'http://localhost:3000' } });
    expect(refused.status).toBe(400);
    expect(refused.headers['access-control-allow-origin']).toBe('http://localhost:3000');
  });
});

describe('client addresses', () => {
  const body = JSON.stringify({ query: '{ __typename }' });

  it('refuses a denied CIDR with 403 and keeps answering probes', async () => {
    const gateway = await gatewayWith({ server: { ipDeny: ['127.0.0.0/8'] } });
    const denied = await raw(gateway.url, { body });
    expect(denied.status).toBe(403);
    expect(json(denied).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await raw(gateway.url.replace('/graphql', '/health'), { method: 'GET' })).status).toBe(200);
  });

  it('serves only an allow list when one is set', async () => {
    const elsewhere = await gatewayWith({ server: { ipAllow: ['10.0.0.0/8'] } });
    expect((await raw(elsewhere.url, { body })).status).toBe(403);
    const here = await gatewayWith({ server: { ipAllow: ['10.0.0.0/8', '127.0.0.1'] } });
    expect((await raw(here.url, { body })).status).toBe(200);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    const behindProxy = await gatewayWith({ server: { trustedProxies: ['127.0.0.1/32'], ipDeny: ['203.0.113.0/24'] } });
    expect((await raw(behindProxy.url, { body, headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(403);
    expect((await raw(behindProxy.url, { body, headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(200);
    // The rightmost untrusted address counts: a client cannot prepend its way past the proxy.
    expect((await raw(behindProxy.url, { body, headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' } })).status).toBe(403);
    const direct = await gatewayWith({ server: { ipDeny: ['203.0.113.0/24'] } });
    expect((await raw(direct.url, { body, headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(200);
  });
});

describe('deadlines and bounds', () => {
  it('answers a request past its deadline with 504 DEADLINE_EXCEEDED, and keeps serving', async () => {
    const gateway = await gatewayWith({ server: { requestDeadlineMs: 300 } });
    stack.catalog.setFaults({ latencyMs: 2_000 });
    try {
      const started = Date.now();
      const slow = await raw(gateway.url, { body: JSON.stringify({ query: '{ product(id: "p1") { name } }' }) });
      expect(slow.status).toBe(504);
      expect(json(slow).errors?.[0]?.extensions?.code).toBe('DEADLINE_EXCEEDED');
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      stack.catalog.setFaults({ latencyMs: 0 });
    }
    const fast = await raw(gateway.url, { body: JSON.stringify({ query: '{ user(id: "u1") { name } }' }) });
    expect(json(fast)).toEqual({ data: { user: { name: 'Ada McCarthy' } } });
  });

  it('cuts a subgraph answer over the response bound and keeps the rest of the answer', async () => {
    const gateway = await gatewayWith({ subgraphRequests: { maxResponseBytes: 2_000 } });
    const answer = await raw(gateway.url, { body: JSON.stringify({ query: '{ user(id: "u1") { name } products(first: 50) { id name description } }' }) });
    expect(answer.status).toBe(200);
    const result = json(answer);
    expect(result.data?.user).toEqual({ name: 'Ada McCarthy' });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_UPSTREAM_RESPONSE');
    expect(result.errors?.[0]?.message).toBe('Subgraph "products" answered more than 2000 bytes');
  });

  it('answers a hung subgraph with UPSTREAM_TIMEOUT at its own deadline while the others are served', async () => {
    // A subgraph that accepts connections and never answers (a process stopped with SIGSTOP looks the same).
    const hung = createNetServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const urls = subgraphUrls(stack);
      const hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}/graphql`;
      const gateway = await gatewayWith({ subgraphs: { ...urls, reviews: { url: hungUrl, deadlineMs: 400 } }, subgraphRequests: { timeoutMs: 30_000, deadlineMs: 30_000 } });
      const started = Date.now();
      const answer = await raw(gateway.url, { body: JSON.stringify({ query: '{ user(id: "u1") { name } review(id: "r1") { rating } }' }) });
      const elapsed = Date.now() - started;
      const result = json(answer);
      expect(result.data).toEqual({ user: { name: 'Ada McCarthy' }, review: null });
      expect(result.errors?.[0]).toMatchObject({ message: 'Subgraph "reviews" did not answer in time', extensions: { code: 'UPSTREAM_TIMEOUT' } });
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      hung.close();
    }
  });

  it('bounds each subgraph fetch by its total deadline', async () => {
    const gateway = await gatewayWith({ subgraphRequests: { deadlineMs: 300 } });
    stack.catalog.setFaults({ latencyMs: 1_500 });
    try {
      const answer = await raw(gateway.url, { body: JSON.stringify({ query: '{ user(id: "u1") { name } product(id: "p1") { name } }' }) });
      const result = json(answer);
      expect(result.data?.user).toEqual({ name: 'Ada McCarthy' });
      expect(result.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    } finally {
      stack.catalog.setFaults({ latencyMs: 0 });
    }
  });
});

describe('production messages', () => {
  it('leaves graphql-js\'s suggestions (schema names) out of validation errors in production', async () => {
    const { startTestGateway, COMMITTED_SUPERGRAPH } = await import('../support/servers.js');
    const production = await startTestGateway({ supergraph: { path: COMMITTED_SUPERGRAPH, watch: false }, subgraphs: subgraphUrls(stack) }, { production: true });
    gateways.push(production);
    const development = await gatewayWith({});
    const body = JSON.stringify({ query: '{ user(id: "u1") { nme } }' });
    const dev = json(await raw(development.url, { body }));
    expect(dev.errors?.[0]?.message).toBe('Cannot query field "nme" on type "User". Did you mean "name"?');
    const prod = await raw(production.url, { body });
    expect(prod.status).toBe(400);
    expect(json(prod).errors?.[0]).toMatchObject({ message: 'Cannot query field "nme" on type "User".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  });
});

describe('TLS', () => {
  function certificate(dir: string, name: string): { cert: string; key: string } {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], {
      stdio: 'ignore',
    });
    return { cert, key };
  }

  it('serves HTTPS with a certificate generated here, and a certificate swapped on disk without a restart', async () => {
    const dir = tempDir();
    const first = certificate(dir, 'first');
    const second = certificate(dir, 'second');
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    writeFileSync(certFile, readFileSync(first.cert));
    writeFileSync(keyFile, readFileSync(first.key));
    const gateway = await gatewayWith({ server: { tls: { certFile, keyFile, reloadIntervalMs: 100 } } });
    expect(gateway.url).toMatch(/^https:\/\//);
    const before = await raw(gateway.url, { body: JSON.stringify({ query: '{ __typename }' }) });
    expect(json(before)).toEqual({ data: { __typename: 'Query' } });
    const firstSerial = before.serial;
    expect(firstSerial).toBeTruthy();
    // Rotate as operators do: write beside, rename over (key first, then the certificate).
    writeFileSync(`${keyFile}.new`, readFileSync(second.key));
    writeFileSync(`${certFile}.new`, readFileSync(second.cert));
    renameSync(`${keyFile}.new`, keyFile);
    renameSync(`${certFile}.new`, certFile);
    let after = before;
    await eventually(async () => {
      after = await raw(gateway.url, { body: JSON.stringify({ query: '{ __typename }' }) });
      return after.serial !== firstSerial;
    }, 5_000, 100);
    expect(json(after)).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses clients below the minimum TLS version', async () => {
    const dir = tempDir();
    const { cert, key } = certificate(dir, 'min');
    const gateway = await gatewayWith({ server: { tls: { certFile: cert, keyFile: key, minVersion: 'TLSv1.3' } } });
    const old = new Promise<unknown>((resolve, reject) => {
      const req = httpsRequest(gateway.url, { method: 'POST', rejectUnauthorized: false, agent: false, maxVersion: 'TLSv1.2' }, resolve);
      req.on('error', reject);
      req.end('{}');
    });
    await expect(old).rejects.toThrow(/version|protocol/i);
  });
});
