import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { createGateway, type RunningGateway } from '../../gateway/src/core/create-gateway.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { composeToFile, gql, startTestGateway, tempDir, testConfig } from '../support/servers.js';

// Cache policy from subgraph hints, over echo and over a plain GraphQL service that sends no
// Cache-Control at all (echo behind a proxy that drops the header).
const SECRET = 'the-hints-test-hmac-secret-of-32-chars';
let echo: RunningSubgraph;
let plain: Server;
let plainUrl: string;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  echo = await startEcho();
  plain = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const name of ['x-request-id', 'authorization']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
      const upstream = await fetch(echo.url, { method: 'POST', headers, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    });
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/graphql`;
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});
afterAll(async () => {
  await echo?.stop();
  await new Promise((resolve) => plain?.close(resolve));
});

async function gateway(url: string, extra: FrontdeskConfigInput): Promise<RunningGateway> {
  const path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'echo', url, sdl: echoSdl({ withAdded: true }) }]);
  const running = await startTestGateway({ ...extra, supergraph: { path, watch: false } });
  gateways.push(running);
  return running;
}

const ask = (g: RunningGateway, id: string, headers: Record<string, string> = {}) => gql(g.url, '{ requestId }', { headers: { 'x-request-id': id, ...headers } });
const bearer = async (sub: string) => ({
  authorization: `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))}`,
});

describe('cache hints', () => {
  it('gives a response without Cache-Control the configured default', async () => {
    const g = await gateway(plainUrl, { responseCache: { defaultMaxAgeSeconds: 30 } });
    const first = await ask(g, 'first');
    expect(first.body.data).toEqual({ requestId: 'first' });
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('cache-control')).toBe('max-age=30, public');
    const second = await ask(g, 'second');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body.data).toEqual({ requestId: 'first' });
  });

  it('treats such responses as uncacheable by default', async () => {
    const g = await gateway(plainUrl, { responseCache: {} });
    await ask(g, 'first');
    const second = await ask(g, 'second');
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect(second.body.data).toEqual({ requestId: 'second' });
    expect(second.headers.get('cache-control')).toBe('no-store');
  });

  it("lets a subgraph's no-store win over the default", async () => {
    // echo itself answers with Cache-Control: no-store (its fields carry no hints).
    const g = await gateway(echo.url, { responseCache: { defaultMaxAgeSeconds: 30 } });
    await ask(g, 'first');
    expect((await ask(g, 'second')).body.data).toEqual({ requestId: 'second' });
  });

  it('stores PRIVATE responses per caller and never for anonymous callers', async () => {
    const g = await gateway(plainUrl, {
      auth: { jwt: { algorithms: ['HS256'], hmacSecret: SECRET } },
      responseCache: { defaultMaxAgeSeconds: 30, defaultScope: 'PRIVATE' },
    });
    await ask(g, 'anon-1');
    const anonymous = await ask(g, 'anon-2');
    expect(anonymous.headers.get('x-cache')).toBe('MISS');
    expect(anonymous.body.data).toEqual({ requestId: 'anon-2' });
    const mine = await ask(g, 'u1-first', await bearer('u1'));
    expect(mine.headers.get('cache-control')).toBe('max-age=30, private');
    expect((await ask(g, 'u1-second', await bearer('u1'))).body.data).toEqual({ requestId: 'u1-first' });
    const theirs = await ask(g, 'u2-first', await bearer('u2'));
    expect(theirs.headers.get('x-cache')).toBe('MISS');
    expect(theirs.body.data).toEqual({ requestId: 'u2-first' });
    expect((await ask(g, 'anon-3')).body.data).toEqual({ requestId: 'anon-3' });
  });

  it.each([false, true])('logs a hit answered at the edge in the access log, with its request id (includeQuery %s)', async (includeQuery) => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const path = join(tempDir(), 'supergraph.graphql');
    composeToFile(path, [{ name: 'echo', url: plainUrl, sdl: echoSdl({ withAdded: true }) }]);
    const g = await createGateway(testConfig({ supergraph: { path, watch: false }, accessLog: { includeQuery }, responseCache: { defaultMaxAgeSeconds: 30 } }), { logger: pino({ level: 'info' }, sink) });
    gateways.push(g);
    for (const id of ['a-1', 'a-2', 'a-3']) await gql(g.url, 'query Who { requestId }', { headers: { 'x-request-id': id } });
    const third = lines.find((line) => line.requestId === 'a-3' && line.msg === 'graphql request');
    expect(third).toMatchObject({ operationName: 'Who', operationType: 'query', status: 200, cache: 'HIT' });
    expect(third!.durationMs).toBeTypeOf('number');
    expect(third!.query).toBe(includeQuery ? 'query Who { requestId }' : undefined);
  });

  it('answers an operation that uses the reserved alias prefix as sent, and never stores it', async () => {
    const g = await gateway(plainUrl, { responseCache: { defaultMaxAgeSeconds: 30 } });
    for (let i = 0; i < 2; i++) {
      const { body, headers } = await gql(g.url, '{ __fd_t: requestId __fd_k_Query_x: header(name: "x-request-id") }', { headers: { 'x-request-id': `r${i}` } });
      expect(body).toEqual({ data: { __fd_t: `r${i}`, __fd_k_Query_x: `r${i}` } });
      expect(headers.get('x-cache')).toBe('MISS');
    }
  });

  it.each([
    ['a header the cache does not key on', 'X-Branch', 'private'],
    ['Vary: *', '*', 'no-store'],
    ['only the headers every fetch carries alike', 'Accept, Accept-Encoding', 'public'],
  ])('reads a subgraph Vary naming %s', async (_name, vary, expected) => {
    const varying = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60', vary }).end('{"data":{"requestId":"same"}}'));
    });
    await new Promise<void>((resolve) => varying.listen(0, '127.0.0.1', resolve));
    try {
      const g = await gateway(`http://127.0.0.1:${(varying.address() as AddressInfo).port}/graphql`, { auth: { jwt: { algorithms: ['HS256'], hmacSecret: SECRET } }, responseCache: {} });
      const anonymous = [await ask(g, 'v1'), await ask(g, 'v2')];
      expect(anonymous.map((r) => r.headers.get('x-cache'))).toEqual(['MISS', expected === 'public' ? 'HIT' : 'MISS']);
      expect(anonymous[0]!.headers.get('cache-control')).toContain(expected);
      if (expected === 'private') {
        // Kept for the signed-in caller alone.
        const u1 = await bearer('u1');
        expect([(await ask(g, 'v3', u1)).headers.get('x-cache'), (await ask(g, 'v4', u1)).headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
        expect((await ask(g, 'v5', await bearer('u2'))).headers.get('x-cache')).toBe('MISS');
      }
    } finally {
      await new Promise((resolve) => varying.close(resolve));
    }
  });

  it('stores an operation again once its answers turn cacheable', async () => {
    let cacheControl = 'no-store';
    const turning = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheControl }).end('{"data":{"requestId":"same"}}'));
    });
    await new Promise<void>((resolve) => turning.listen(0, '127.0.0.1', resolve));
    try {
      const g = await gateway(`http://127.0.0.1:${(turning.address() as AddressInfo).port}/graphql`, { responseCache: {} });
      expect((await ask(g, 't1')).headers.get('cache-control')).toBe('no-store');
      cacheControl = 'public, max-age=60';
      // The first cacheable answer of an operation last seen uncacheable is not stored (it was not read for tags)...
      const turned = await ask(g, 't2');
      expect(turned.headers.get('cache-control')).toBe('max-age=60, public');
      expect(turned.headers.get('x-cache')).toBe('MISS');
      // ...the next one is, and then served.
      expect((await ask(g, 't3')).headers.get('x-cache')).toBe('MISS');
      expect((await ask(g, 't4')).headers.get('x-cache')).toBe('HIT');
    } finally {
      await new Promise((resolve) => turning.close(resolve));
    }
  });
});
