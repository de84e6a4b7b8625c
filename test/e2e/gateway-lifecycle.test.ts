import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { createEdgeHandler } from '../../gateway/src/core/http.js';
import { createLogger } from '../../gateway/src/core/logger.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { composeToFile, eventually, gql, startTestGateway, tempDir } from '../support/servers.js';

// A fixture subgraph (echo) behind gateways on temporary supergraph files, over real HTTP.
let echo: RunningSubgraph;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  echo = await startEcho();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});
afterAll(async () => {
  await echo?.stop();
});

function echoSupergraph(options: { withAdded: boolean; url?: string }): string {
  const path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'echo', url: options.url ?? echo.url, sdl: echoSdl(options) }]);
  return path;
}

async function gateway(path: string, extra: Parameters<typeof startTestGateway>[0] = {}, production = false) {
  const running = await startTestGateway({ ...extra, supergraph: { path, ...extra.supergraph } }, { production });
  gateways.push(running);
  return running;
}

describe('subgraph requests', () => {
  it('forwards the request id to the subgraph', async () => {
    const g = await gateway(echoSupergraph({ withAdded: false }));
    const { body, headers } = await gql(g.url, '{ requestId }', { headers: { 'x-request-id': 'trace-42' } });
    expect(body.data).toEqual({ requestId: 'trace-42' });
    expect(headers.get('x-request-id')).toBe('trace-42');
    const generated = await gql(g.url, '{ requestId }');
    expect(generated.body.data!.requestId).toBe(generated.headers.get('x-request-id'));
  });

  it('propagates the configured client headers and no others', async () => {
    const g = await gateway(echoSupergraph({ withAdded: false }), { headers: { propagate: ['accept-language', 'x-tenant'] } });
    const { body } = await gql(g.url, '{ lang: header(name: "accept-language") tenant: header(name: "x-tenant") secret: header(name: "x-secret") }', {
      headers: { 'accept-language': 'fr-CH', 'x-tenant': 't1', 'x-secret': 'nope' },
    });
    expect(body.data).toEqual({ lang: 'fr-CH', tenant: 't1', secret: null });
  });

  it('routes to the URL configured for the subgraph, not the composed one', async () => {
    const path = echoSupergraph({ withAdded: false, url: 'http://127.0.0.1:9/graphql' });
    const g = await gateway(path, { subgraphs: { echo: { url: echo.url } } });
    expect((await gql(g.url, '{ requestId }')).body.data).toEqual({ requestId: expect.any(String) });
  });

  it('answers UPSTREAM_UNAVAILABLE without the host when a subgraph is down', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const g = await gateway(echoSupergraph({ withAdded: false, url: `http://127.0.0.1:${port}/graphql` }));
    const { status, body } = await gql(g.url, '{ requestId }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ requestId: null });
    expect(body.errors![0]).toMatchObject({ message: 'Subgraph "echo" is unavailable', extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
    expect(JSON.stringify(body)).not.toContain(String(port));
    expect(JSON.stringify(body)).not.toContain('127.0.0.1');
  });

  it('answers BAD_UPSTREAM_RESPONSE when a subgraph sends garbage', async () => {
    const garbage: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"data": {"requestId": ');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}/graphql`;
      const g = await gateway(echoSupergraph({ withAdded: false, url }));
      const { body } = await gql(g.url, '{ requestId }');
      expect(body.errors![0]!.extensions!.code).toBe('BAD_UPSTREAM_RESPONSE');
      expect(JSON.stringify(body)).not.toContain(url);
    } finally {
      garbage.close();
    }
  });

  it('maps a subgraph HTTP 503 to UPSTREAM_UNAVAILABLE and hides its body', async () => {
    const failing: Server = createServer((_req, res) => {
      res.statusCode = 503;
      res.end('backend pool exhausted at 10.1.2.3');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const g = await gateway(echoSupergraph({ withAdded: false, url: `http://127.0.0.1:${(failing.address() as AddressInfo).port}/graphql` }));
      const { body } = await gql(g.url, '{ requestId }');
      expect(body.errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(JSON.stringify(body)).not.toMatch(/10\.1\.2\.3|pool exhausted/);
    } finally {
      failing.close();
    }
  });
});

describe('hot reload', () => {
  it('serves a field added in a new supergraph file, and keeps serving when a broken file is written', async () => {
    const path = echoSupergraph({ withAdded: false });
    const g = await gateway(path);
    const before = await gql(g.url, '{ added }');
    expect(before.status).toBe(400);
    expect(before.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');

    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    await eventually(async () => (await gql(g.url, '{ added }')).status === 200);
    expect((await gql(g.url, '{ added }')).body).toEqual({ data: { added: 'the new field' } });
    const goodHash = g.supergraph().hash;

    writeFileSync(path, 'schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query }\ntype Query {');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(g.supergraph().hash).toBe(goodHash);
    expect((await gql(g.url, '{ added requestId }')).body.data).toMatchObject({ added: 'the new field' });

    // A file that parses but is not a supergraph is rejected the same way.
    writeFileSync(path, 'type Query { hello: String }\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(g.supergraph().hash).toBe(goodHash);
    expect((await gql(g.url, '{ added }')).status).toBe(200);
  });

  it('starts on the last good copy of a broken supergraph file, says so, and leaves it when the file is fixed', async () => {
    const path = echoSupergraph({ withAdded: true });
    const good = readFileSync(path, 'utf8');
    const first = await gateway(path);
    expect(readFileSync(`${path}.last-good`, 'utf8')).toBe(good);
    await first.stop();

    writeFileSync(path, 'type Query {');
    const g = await gateway(path);
    expect((await gql(g.url, '{ added }')).body).toEqual({ data: { added: 'the new field' } });
    const base = g.url.replace('/graphql', '');
    const health = (await (await fetch(`${base}/health`)).json()) as { status: string; degraded?: string[] };
    expect(health.status).toBe('ok');
    expect(health.degraded?.[0]).toMatch(/^Invalid supergraph .*supergraph\.graphql: .*; serving the last good copy .*supergraph\.graphql\.last-good$/);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { degraded?: string[] }).degraded).toHaveLength(1);
    // The broken file never replaces the copy.
    expect(readFileSync(`${path}.last-good`, 'utf8')).toBe(good);

    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: false }) }]);
    await eventually(async () => ((await (await fetch(`${base}/health`)).json()) as { degraded?: string[] }).degraded === undefined);
    expect((await gql(g.url, '{ added }')).status).toBe(400);
    expect(readFileSync(`${path}.last-good`, 'utf8')).toBe(readFileSync(path, 'utf8'));
  });

  it('does not start on a broken file without a last good copy, nor with keepLastGood off', async () => {
    const path = join(tempDir(), 'supergraph.graphql');
    writeFileSync(path, 'type Query {');
    await expect(startTestGateway({ supergraph: { path } })).rejects.toThrow(/Invalid supergraph/);
    const withCopy = echoSupergraph({ withAdded: false });
    await (await gateway(withCopy)).stop();
    writeFileSync(withCopy, 'type Query {');
    await expect(startTestGateway({ supergraph: { path: withCopy, keepLastGood: false } })).rejects.toThrow(/Invalid supergraph/);
  });

  it('lets a request that started on the old supergraph finish after a swap', async () => {
    const path = echoSupergraph({ withAdded: false });
    const g = await gateway(path);
    const inFlight = gql(g.url, '{ slow(ms: 800) }');
    await new Promise((resolve) => setTimeout(resolve, 100));
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    await eventually(async () => (await gql(g.url, '{ added }')).status === 200);
    const result = await inFlight;
    expect(result.body).toEqual({ data: { slow: 'slept 800ms' } });
  });
});

describe('supergraphs with security features', () => {
  it('loads a supergraph whose @authenticated link is for: SECURITY, keeping the original SDL', async () => {
    const path = join(tempDir(), 'supergraph.graphql');
    const secured = echoSdl({ withAdded: false })
      .replace('import: ["@key"]', 'import: ["@key", "@authenticated"]')
      .replace('  requestId: String', '  requestId: String @authenticated');
    const sdl = composeToFile(path, [{ name: 'echo', url: echo.url, sdl: secured }]);
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/authenticated\/v0\.1", for: SECURITY\)/);
    const g = await gateway(path);
    expect((await gql(g.url, '{ slow(ms: 1) }')).body).toEqual({ data: { slow: 'slept 1ms' } });
    expect(g.supergraph().originalSdl).toContain('for: SECURITY');
    expect(g.supergraph().sdl).not.toContain('for: SECURITY');
  });
});

describe('readiness and graceful shutdown', () => {
  it('answers /ready 503 and GraphQL 503 NOT_READY before a supergraph is loaded', async () => {
    const state = { ready: false, draining: false };
    const apollo = new ApolloServer({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } } });
    await apollo.start();
    const server = createServer(
      createEdgeHandler({
        apollo,
        state,
        logger: createLogger('silent'),
        graphqlPath: '/graphql',
        bodyLimitBytes: 1024,
        context: () => ({}),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'starting' });
      const early = await gql(`${base}/graphql`, '{ ok }');
      expect(early.status).toBe(503);
      expect(early.body.errors![0]!.extensions!.code).toBe('NOT_READY');
      state.ready = true;
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      expect((await gql(`${base}/graphql`, '{ ok }')).body).toEqual({ data: { ok: true } });
    } finally {
      server.close();
      await apollo.stop();
    }
  });

  it('completes a slow in-flight request, goes unready, then refuses new connections', async () => {
    const g = await startTestGateway({ supergraph: { path: echoSupergraph({ withAdded: false }) } });
    const inFlight = gql(g.url, '{ slow(ms: 700) }');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const stopped = g.stop();
    expect(g.isReady()).toBe(false);
    const result = await inFlight;
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ data: { slow: 'slept 700ms' } });
    await stopped;
    await expect(fetch(new URL('/health', g.url))).rejects.toThrow();
  });

  it('cuts requests that outlive the drain timeout', async () => {
    const g = await startTestGateway({
      supergraph: { path: echoSupergraph({ withAdded: false }) },
      server: { drainTimeoutMs: 200 },
    });
    const inFlight = gql(g.url, '{ slow(ms: 3000) }').then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await g.stop();
    expect(await inFlight).toBe('cut');
  });
});

describe('production mode', () => {
  it('hides stack traces and internal messages, and turns introspection and Sandbox off', async () => {
    const g = await gateway(echoSupergraph({ withAdded: false }), {}, true);
    const { body } = await gql(g.url, '{ boom requestId }');
    expect(body.data).toMatchObject({ boom: null, requestId: expect.any(String) });
    const error = body.errors![0]!;
    expect(error.message).toBe('Internal server error');
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', serviceName: 'echo' });
    expect(JSON.stringify(body)).not.toMatch(/stacktrace|db-internal|ECONNREFUSED|\.ts:\d|\.js:\d/);

    const introspection = await gql(g.url, '{ __schema { types { name } } }');
    expect(introspection.status).toBe(400);
    expect(introspection.body.errors![0]!.message).toMatch(/[Ii]ntrospection/);

    const page = await fetch(new URL('/', g.url), { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/embeddable-sandbox/);
  });

  it('lets the config turn introspection and Sandbox back on', async () => {
    const g = await gateway(echoSupergraph({ withAdded: false }), { graphql: { introspection: true, landingPage: true } }, true);
    expect((await gql(g.url, '{ __schema { queryType { name } } }')).body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    const page = await fetch(new URL('/', g.url), { headers: { accept: 'text/html' } });
    expect(await page.text()).toMatch(/embeddable-sandbox/);
  });

  it('keeps stack traces for developers outside production', async () => {
    const g = await gateway(echoSupergraph({ withAdded: false }));
    const { body } = await gql(g.url, '{ boom }');
    expect(body.errors![0]!.message).toMatch(/ECONNREFUSED/);
    expect(body.errors![0]!.extensions!.stacktrace).toBeDefined();
  });
});
