import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../core/context.js';
import { createLogger } from '../../core/logger.js';
import { EdgeRefusal, type EdgeRequest } from '../../core/plugin.js';
import { rateLimitsOptionsSchema } from './options.js';
import { createRateLimitPlugin } from './plugin.js';

const logger = createLogger('silent');
const identity: Identity = { kind: 'client', id: 'shop', roles: [], scopes: [], plan: 'free' };
const request = (): EdgeRequest =>
  ({ method: 'POST', text: undefined, body: { query: '{ __typename }' }, replaceBody() {}, headers: {}, identity, clientIp: '203.0.113.7', requestId: 'r', logger }) as EdgeRequest;

afterEach(() => {
  vi.useRealTimers();
});

async function outcome(plugin: ReturnType<typeof createRateLimitPlugin>): Promise<string> {
  try {
    await plugin.admit!(request());
    return 'ok';
  } catch (error) {
    return error instanceof EdgeRefusal ? error.code : String(error);
  }
}

describe('quotas', () => {
  it('a daily quota used up resets at midnight UTC, a monthly one on the first of the month', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-31T23:59:58Z'));
    const plugin = createRateLimitPlugin(rateLimitsOptionsSchema.parse({ weight: 'requests', plans: { free: { daily: { requests: 2 }, monthly: { requests: 3 } } } }), { logger, production: false, supergraph: () => { throw new Error('unused'); } });
    expect([await outcome(plugin), await outcome(plugin), await outcome(plugin)]).toEqual(['ok', 'ok', 'QUOTA_EXCEEDED']);
    vi.setSystemTime(new Date('2027-01-01T00:00:01Z'));
    // A new day and a new month: both quotas start again.
    expect([await outcome(plugin), await outcome(plugin), await outcome(plugin)]).toEqual(['ok', 'ok', 'QUOTA_EXCEEDED']);
    vi.setSystemTime(new Date('2027-01-02T00:00:01Z'));
    // A new day, the same month: the monthly quota (3) is what stops it now.
    expect([await outcome(plugin), await outcome(plugin)]).toEqual(['ok', 'QUOTA_EXCEEDED']);
  });
});
