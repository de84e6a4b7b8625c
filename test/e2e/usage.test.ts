import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import type { UsageRow } from '../../gateway/src/plugins/usage/index.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { SHARED_REDIS_URL, deleteKeys } from '../support/redis.js';
import { startStack, startStackGatewayWith, testToken, type Stack } from '../support/stack.js';

/** Metering on the real Redis: a known mix of requests by three clients, then the report. */
let stack: Stack;
let gateway: RunningGateway;
const prefix = `frontdesk-test-usage:${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  stack = await startStack();
  gateway = await startStackGatewayWith(stack, {}, { redis: { url: SHARED_REDIS_URL }, usage: { keyPrefix: prefix } });
}, 30_000);
afterAll(async () => {
  await gateway?.stop();
  await deleteKeys(SHARED_REDIS_URL, prefix);
  await stack?.stop();
});

async function post(query: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return (await response.arrayBuffer()).byteLength;
}

describe('metering', () => {
  it('counts exactly what three clients sent: requests, errors by code, bytes, latency; CSV one row per client, operation and hour', async () => {
    const started = new Date();
    const u1 = { authorization: `Bearer ${await testToken('u1')}` };
    const u2 = { authorization: `Bearer ${await testToken('u2')}` };
    const A = 'query A { user(id: "u1") { name } }';
    const B = 'query B { review(id: "r1") { rating } }';
    const bytes: Record<string, number> = {};
    const sent = async (client: string, operation: string, query: string, headers: Record<string, string> = {}) => {
      const key = `${client}|${operation}`;
      bytes[key] = (bytes[key] ?? 0) + (await post(query, headers));
    };
    for (let i = 0; i < 5; i += 1) await sent('user:u1', 'A', A, u1);
    for (let i = 0; i < 2; i += 1) await sent('user:u1', 'B', B, u1);
    for (let i = 0; i < 3; i += 1) await sent('user:u2', 'A', A, u2);
    await sent('user:u2', 'C', 'query C { nope }', u2);
    for (let i = 0; i < 4; i += 1) await sent('ip:127.0.0.1', 'A', A);
    for (let i = 0; i < 2; i += 1) await sent('ip:127.0.0.1', '(anonymous)', A, { authorization: 'Bearer not-a-token' });

    const admin = { authorization: `Bearer ${await testToken('admin-1', { roles: ['admin'] })}` };
    const from = new Date(started.getTime() - 1000).toISOString();
    const to = new Date(Date.now() + 1000).toISOString();
    const response = await fetch(`${gateway.url.replace('/graphql', '/admin/usage')}?from=${from}&to=${to}`, { headers: admin });
    expect(response.status).toBe(200);
    const { rows } = (await response.json()) as { rows: UsageRow[] };
    const byKey = Object.fromEntries(rows.map((r) => [`${r.client}|${r.operation}`, r]));
    // The hour may turn during the test: sum over hours.
    const total = (key: string, pick: (r: UsageRow) => number) => rows.filter((r) => `${r.client}|${r.operation}` === key).reduce((n, r) => n + pick(r), 0);
    expect(Object.keys(byKey).sort()).toEqual(['ip:127.0.0.1|(anonymous)', 'ip:127.0.0.1|A', 'user:u1|A', 'user:u1|B', 'user:u2|A', 'user:u2|C']);
    expect(total('user:u1|A', (r) => r.requests)).toBe(5);
    expect(total('user:u1|B', (r) => r.requests)).toBe(2);
    expect(total('user:u2|A', (r) => r.requests)).toBe(3);
    expect(total('user:u2|C', (r) => r.requests)).toBe(1);
    expect(total('user:u2|C', (r) => r.errors.GRAPHQL_VALIDATION_FAILED ?? 0)).toBe(1);
    expect(total('ip:127.0.0.1|A', (r) => r.requests)).toBe(4);
    expect(total('ip:127.0.0.1|(anonymous)', (r) => r.errors.UNAUTHENTICATED ?? 0)).toBe(2);
    expect(byKey['user:u1|A']!.plan).toBe('default');
    expect(byKey['ip:127.0.0.1|A']!.plan).toBe('anonymous');
    for (const [key, sentBytes] of Object.entries(bytes)) expect(total(key, (r) => r.bytes)).toBe(sentBytes);
    for (const row of rows) expect(Object.values(row.latencyMs).reduce((a, b) => a + b, 0)).toBe(row.requests);
    expect(rows.filter((r) => Object.keys(r.errors).length > 0).map((r) => `${r.client}|${r.operation}`).sort()).toEqual(['ip:127.0.0.1|(anonymous)', 'user:u2|C']);

    const csv = await (await fetch(`${gateway.url.replace('/graphql', '/admin/usage')}?from=${from}&to=${to}&format=csv&client=user:u1`, { headers: admin })).text();
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^hour,client,plan,operation,requests,errors,cost,bytes,latency_le10,/);
    expect(lines.slice(1).map((l) => l.split(',').slice(1, 5).join(','))).toEqual(
      rows.filter((r) => r.client === 'user:u1').map((r) => `${r.client},${r.plan},${r.operation},${r.requests}`),
    );

    // The operators' command reads the same counts from Redis.
    const report = spawnSync(process.execPath, [projectPath('dist', 'scripts', 'usage.js'), 'report', '--from', from, '--to', to, '--client', 'user:u2', '--prefix', prefix, '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: SHARED_REDIS_URL },
    });
    expect(report.status).toBe(0);
    const reported = JSON.parse(report.stdout) as UsageRow[];
    expect(reported.reduce((n, r) => n + r.requests, 0)).toBe(4);
  });

  it('refuses unknown report parameters and bad dates with BAD_USER_INPUT, and callers without role admin', async () => {
    const admin = { authorization: `Bearer ${await testToken('admin-1', { roles: ['admin'] })}` };
    const url = gateway.url.replace('/graphql', '/admin/usage');
    expect((await fetch(`${url}?since=yesterday`, { headers: admin })).status).toBe(400);
    expect((await fetch(`${url}?from=yesterday`, { headers: admin })).status).toBe(400);
    expect((await fetch(url, { headers: { authorization: `Bearer ${await testToken('u1')}` } })).status).toBe(403);
    expect((await fetch(url)).status).toBe(401);
  });
});
