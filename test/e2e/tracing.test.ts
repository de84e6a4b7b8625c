import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_QUERY } from '../../gateway/src/core/config.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp.js';
import { createLogger } from '../../gateway/src/core/logger.js';
import { as, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

let receiver: OtlpReceiver;
let stack: Stack;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // Sampling 0: only what a client's sampled traceparent asks for, and answers with errors.
  stack = await startStack({ tracing: { endpoint: receiver.url, sampleRatio: 0, alwaysOnError: true, headers: {}, exportTimeoutMs: 5000, maxQueueSize: 2048, traceIdInResponse: 'asked' } });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

/** Waits for the batch exporters (a second's delay) until `done` holds. */
async function until(done: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('tracing', () => {
  it('follows one traced request through the gateway, all five subgraphs and the three legacy systems', async () => {
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, ...(await as('u1', { scopes: ['orders:read'] })) },
      body: JSON.stringify({ query: DEMO_QUERY, extensions: { trace: true } }),
    });
    const body = (await response.json()) as { data?: { user?: { orders?: unknown[] } }; errors?: unknown[]; extensions?: { traceId?: string } };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data?.user?.orders?.length).toBeGreaterThan(0);
    expect(body.extensions?.traceId).toBe(traceId);

    const services = ['frontdesk-gateway', 'accounts', 'reviews', 'products', 'inventory', 'orders'];
    const ofTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    await until(() => services.every((service) => ofTrace().some((s) => s.service === service && s.kind === 2)) && ['catalog', 'warehouse', 'erp'].every((system) => ofTrace().some((s) => s.name.startsWith(`legacy ${system}`))));
    const spans = ofTrace();
    const names = (service: string) => spans.filter((s) => s.service === service).map((s) => s.name);
    // The gateway: its request, parse, validate, Apollo's plan and fetches, a client span per subgraph exchange.
    expect(names('frontdesk-gateway')).toEqual(expect.arrayContaining(['POST /graphql', 'graphql.parse', 'graphql.validate', 'gateway.plan', 'gateway.fetch', 'subgraph accounts', 'subgraph orders', 'subgraph products', 'subgraph inventory', 'subgraph reviews']));
    // Every subgraph and adapter: a server span, child of a gateway span of the same trace.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const service of services.slice(1)) {
      const server = spans.find((s) => s.service === service && s.kind === 2);
      expect(server, service).toBeDefined();
      expect(byId.get(server!.parentSpanId)?.service, `${service}'s parent`).toBe('frontdesk-gateway');
    }
    // Each adapter's legacy call: a client span under the adapter's server span.
    const legacy = (prefix: string): ReceivedSpan => spans.find((s) => s.name.startsWith(prefix))!;
    expect(legacy('legacy catalog').service).toBe('products');
    expect(legacy('legacy warehouse').service).toBe('inventory');
    expect(legacy('legacy erp').service).toBe('orders');
    for (const prefix of ['legacy catalog', 'legacy warehouse', 'legacy erp']) expect(legacy(prefix).kind).toBe(3);
    // The stand-ins received the same trace id: HTTP header (catalog), gRPC metadata (warehouse), SOAP header (ERP).
    for (const system of [stack.catalog, stack.warehouse, stack.erp]) expect(system.stats().recent.map((r) => r.traceId)).toContain(traceId);
    // The root is the client's: the gateway's request span has the client's span as parent, and nothing else is a root.
    expect(spans.filter((s) => !byId.has(s.parentSpanId)).map((s) => s.name)).toEqual(['POST /graphql']);
  });

  it('samples nothing at ratio 0 without a traceparent, but exports the request span of an answer with errors', async () => {
    const before = receiver.spans.length;
    const ok = await fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ product(id: "p1") { name } }', extensions: { trace: true } }) });
    const okBody = (await ok.json()) as { extensions?: { traceId?: string } };
    const okTrace = okBody.extensions?.traceId;
    expect(okTrace).toMatch(/^[\da-f]{32}$/);
    const failed = await fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query Missing { product(id: "p1") { name } me { id } }', extensions: { trace: true } }) });
    const failedBody = (await failed.json()) as { errors?: { extensions?: { code?: string } }[]; extensions?: { traceId?: string } };
    expect(failed.status).toBe(200);
    expect(failedBody.errors?.length).toBeGreaterThan(0);
    const failedTrace = failedBody.extensions!.traceId!;
    await until(() => receiver.spans.some((s) => s.traceId === failedTrace));
    const exported = receiver.spans.slice(before);
    expect(exported.filter((s) => s.traceId === okTrace)).toEqual([]);
    const errorSpans = exported.filter((s) => s.traceId === failedTrace);
    expect(errorSpans.map((s) => `${s.service} ${s.name}`)).toEqual(['frontdesk-gateway POST /graphql']);
    expect(errorSpans[0]!.status).toBe(2);
    expect(errorSpans[0]!.attributes['graphql.operation.name']).toBe('Missing');
    expect(errorSpans[0]!.attributes['frontdesk.error_codes']).toEqual(failedBody.errors!.map((e) => e.extensions?.code).filter((c, i, all) => all.indexOf(c) === i));
  });
});

describe('trace ids in logs', () => {
  it('puts the trace id on every log line of a request, sampled or not', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', {}, { destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const tracing = { endpoint: receiver.url, sampleRatio: 0, alwaysOnError: true, headers: {}, exportTimeoutMs: 5000, maxQueueSize: 2048, traceIdInResponse: 'always' as const };
    const gateway = await startStackGatewayWith(stack, {}, { tracing, accessLog: {} }, { logger });
    try {
      const sampledId = randomBytes(16).toString('hex');
      const send = async (query: string, headers: Record<string, string> = {}) => {
        const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
        return ((await response.json()) as { extensions?: { traceId?: string } }).extensions?.traceId;
      };
      const unsampled = await send('query Unsampled { me { id } }');
      const sampled = await send('query Sampled { me { id } }', { traceparent: `00-${sampledId}-${randomBytes(8).toString('hex')}-01` });
      expect(sampled).toBe(sampledId);
      expect(unsampled).toMatch(/^[\da-f]{32}$/);
      for (const [operation, traceId] of [['Unsampled', unsampled], ['Sampled', sampled]] as const) {
        const line = lines.find((l) => l.msg === 'graphql request with errors' && l.operationName === operation);
        expect(line, operation).toMatchObject({ traceId, errors: ['UNAUTHENTICATED'] });
      }
    } finally {
      await gateway.stop();
    }
  });
});
