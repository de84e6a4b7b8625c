import { describe, expect, it } from 'vitest';
import { toCsv, UsageMeter, type Usage } from './meter.js';

const at = Date.parse('2026-12-03T14:30:00Z');
const usage = (over: Partial<Usage>): Usage => ({ client: 'user:a', plan: 'free', operation: 'Q', status: 200, errorCodes: [], cost: 2, bytes: 10, durationMs: 12, at, ...over });

describe('usage meter (memory)', () => {
  it('bounds operation names per client and clients per hour with (other)', async () => {
    const meter = new UsageMeter({ keyPrefix: 'x', maxOperations: 2, maxRows: 2, retentionDays: 1 });
    for (const operation of ['A', 'B', 'C', 'D']) meter.record(usage({ operation }));
    for (const client of ['user:b', 'user:c', 'user:d']) meter.record(usage({ client }));
    const rows = await meter.report({ from: at - 3_600_000, to: at + 3_600_000 });
    expect(rows.map((r) => `${r.client} ${r.operation} ${r.requests}`)).toEqual(['(other) Q 2', 'user:a (other) 2', 'user:a A 1', 'user:a B 1', 'user:b Q 1']);
  });

  it('sums requests, errors by code, cost, bytes and latency buckets; CSV escapes and neutralises formulas', async () => {
    const meter = new UsageMeter({ keyPrefix: 'x', maxOperations: 10, maxRows: 10, retentionDays: 1 });
    meter.record(usage({ client: '=cmd()', errorCodes: ['FORBIDDEN'], durationMs: 700 }));
    meter.record(usage({ client: '=cmd()', errorCodes: ['FORBIDDEN', 'NOT_FOUND'], durationMs: 5 }));
    const [row] = await meter.report({ from: at, to: at });
    expect(row).toMatchObject({ requests: 2, errors: { FORBIDDEN: 2, NOT_FOUND: 1 }, cost: 4, bytes: 20, latencyMs: { le10: 1, le1000: 1 } });
    const [header, line] = toCsv([row!]).split('\r\n');
    expect(header).toBe('hour,client,plan,operation,requests,errors,errors_FORBIDDEN,errors_NOT_FOUND,cost,bytes,latency_le10,latency_le50,latency_le100,latency_le250,latency_le500,latency_le1000,latency_le2500,latency_le5000,latency_gt5000');
    expect(line).toBe("2026-12-03T14:00:00Z,'=cmd(),free,Q,2,3,2,1,4,20,1,0,0,0,0,1,0,0,0");
  });
});
