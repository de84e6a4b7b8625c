import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type RunningGateway } from '../../core/create-gateway.js';
import type { RunningSubgraph } from '../../../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../../../../test/support/echo.js';
import { composeToFile, gql, tempDir, testConfig } from '../../../../test/support/servers.js';

const lines: Record<string, unknown>[] = [];
let echo: RunningSubgraph;
let gateway: RunningGateway;

beforeAll(async () => {
  echo = await startEcho();
  const path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: false }) }]);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = testConfig({ supergraph: { path }, accessLog: { slowRequestMs: 300 } });
  gateway = await createGateway(config, { logger: pino({ level: 'info' }, sink) });
});

afterAll(async () => {
  await gateway?.stop();
  await echo?.stop();
});

function accessLines(): Record<string, unknown>[] {
  return lines.filter((line) => typeof line.msg === 'string' && (line.msg as string).includes('graphql request'));
}

describe('accessLog', () => {
  it('logs one line per request with its request id, operation, status and duration', async () => {
    await gql(gateway.url, 'query Hello { requestId }', { headers: { 'x-request-id': 'log-1' } });
    const line = accessLines().find((entry) => entry.requestId === 'log-1');
    expect(line).toMatchObject({ level: 30, msg: 'graphql request', operationName: 'Hello', operationType: 'query', status: 200 });
    expect(line!.durationMs).toBeTypeOf('number');
    expect(line!.query).toBeUndefined();
  });

  it('logs failed and slow requests at warn level with their error codes', async () => {
    await gql(gateway.url, '{ nope }', { headers: { 'x-request-id': 'log-2' } });
    expect(accessLines().find((entry) => entry.requestId === 'log-2')).toMatchObject({
      level: 40,
      status: 400,
      errors: ['GRAPHQL_VALIDATION_FAILED'],
    });
    await gql(gateway.url, '{ slow(ms: 350) }', { headers: { 'x-request-id': 'log-3' } });
    expect(accessLines().find((entry) => entry.requestId === 'log-3')).toMatchObject({ level: 40, msg: 'slow graphql request' });
  });
});
