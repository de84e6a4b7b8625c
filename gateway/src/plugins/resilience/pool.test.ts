import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { eventually } from '../../../../test/support/servers.js';
import { resolvePolicy, type UpstreamPolicy } from './options.js';
import { InstancePool, NoInstanceAvailable } from './pool.js';

const logger = createLogger('silent');
const URLS = ['http://a', 'http://b', 'http://c'];

function pool(policy: UpstreamPolicy = {}, probe?: (url: string) => Promise<boolean>, urls = URLS): InstancePool {
  const created = new InstancePool('test', resolvePolicy({}, policy), logger, probe);
  created.sync(urls);
  return created;
}

const ok = async (): Promise<number> => 200;
const refused = async (): Promise<number> => {
  throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
};
const call = (p: InstancePool, send: (url: string) => Promise<number>) => p.call(send, (status) => status >= 500, () => true);
const byUrl = (p: InstancePool) => Object.fromEntries(p.snapshot().map((i) => [i.url, i])) as Record<string, { ejected: boolean; healthy: boolean; circuit: string; sent: number }>;

describe('instance pool', () => {
  it('spreads calls by power of two choices: the less busy of two instances', async () => {
    const p = pool({}, undefined, ['http://a', 'http://b']);
    let release!: () => void;
    const held = new Promise<number>((resolve) => (release = () => resolve(200)));
    // Five slow calls in flight: each goes to the less busy instance, so they split 3/2.
    const slow = Array.from({ length: 5 }, () => call(p, () => held));
    const sent = Object.values(byUrl(p)).map((i) => i.sent);
    expect(sent.sort()).toEqual([2, 3]);
    // With a on 3 outstanding and b on 2, every quick call goes to b.
    const quick: string[] = [];
    for (let i = 0; i < 20; i += 1) await call(p, async (url) => (quick.push(url), 200));
    expect(new Set(quick).size).toBe(1);
    release();
    await Promise.all(slow);
  });

  it('ejects an instance after consecutive failures, for a period that doubles, never more than the share', async () => {
    const p = pool({ outlierEjection: { consecutiveFailures: 3, baseMs: 200, maxEjectedPercent: 50 }, circuitBreaker: { enabled: false } });
    const failing = (bad: string) => async (url: string) => (url === bad ? 503 : 200);
    for (let i = 0; i < 30 && !byUrl(p)['http://a']!.ejected; i += 1) await call(p, failing('http://a'));
    expect(byUrl(p)['http://a']!.ejected).toBe(true);
    // While a is out, nothing is sent to it.
    const before = byUrl(p)['http://a']!.sent;
    for (let i = 0; i < 10; i += 1) await call(p, ok);
    expect(byUrl(p)['http://a']!.sent).toBe(before);
    // b fails too, but ejecting it would put 2 of 3 out (over 50%): it stays.
    for (let i = 0; i < 30; i += 1) await call(p, failing('http://b'));
    expect(byUrl(p)['http://b']!.ejected).toBe(false);
    // a comes back after 200 ms; failing again ejects it for 400 ms.
    await eventually(async () => !byUrl(p)['http://a']!.ejected, 2_000, 20);
    for (let i = 0; i < 60 && !byUrl(p)['http://a']!.ejected; i += 1) await call(p, failing('http://a'));
    const ejectedFor = (p.snapshot().find((i) => i.url === 'http://a') as { ejectedForMs?: number }).ejectedForMs!;
    expect(ejectedFor).toBeGreaterThan(250);
    expect(ejectedFor).toBeLessThanOrEqual(400);
  });

  it('opens an instance breaker on failures; with every breaker open nothing is sent', async () => {
    const p = pool({ circuitBreaker: { windowMs: 1000, minimumPerSecond: 1, halfOpenAfterMs: 10_000 }, outlierEjection: { enabled: false } }, undefined, ['http://a']);
    for (let i = 0; i < 10; i += 1) await call(p, refused).catch(() => undefined);
    expect(byUrl(p)['http://a']!.circuit).toBe('open');
    let sent = 0;
    await expect(call(p, async () => (sent++, 200))).rejects.toBeInstanceOf(NoInstanceAvailable);
    expect(sent).toBe(0);
  });

  it('active health checks take an instance out and bring it back (ending its ejection); all down still calls', async () => {
    const up = new Set(URLS);
    const p = pool({ healthCheck: { intervalMs: 20, unhealthyThreshold: 2, healthyThreshold: 1 }, outlierEjection: { consecutiveFailures: 1, baseMs: 60_000 } }, async (url) => up.has(url));
    up.delete('http://a');
    await call(p, async (url) => (url === 'http://a' ? 503 : 200));
    await eventually(async () => !byUrl(p)['http://a']!.healthy, 2_000, 10);
    const picked = new Set<string>();
    for (let i = 0; i < 30; i += 1) await call(p, async (url) => (picked.add(url), 200));
    expect(picked.has('http://a')).toBe(false);
    up.add('http://a');
    await eventually(async () => byUrl(p)['http://a']!.healthy && !byUrl(p)['http://a']!.ejected, 2_000, 10);
    // Every check failing: the pool still calls (a broken health endpoint is not an outage).
    up.clear();
    await eventually(async () => Object.values(byUrl(p)).every((i) => !i.healthy), 2_000, 10);
    expect(await call(p, ok)).toBe(200);
    p.close();
  });
});

describe('slow calls', () => {
  it('count in the breaker rate when slowCallMs is set, while their answers are served', async () => {
    const p = pool({ circuitBreaker: { windowMs: 1000, minimumPerSecond: 1, halfOpenAfterMs: 10_000, slowCallMs: 5 }, outlierEjection: { enabled: false } }, undefined, ['http://a']);
    const slow = async () => {
      await new Promise((resolve) => setTimeout(resolve, 15));
      return 200;
    };
    const answers = [];
    for (let i = 0; i < 6; i += 1) answers.push(await call(p, slow).catch((error: unknown) => error));
    expect(answers.filter((a) => a === 200).length).toBeGreaterThan(0);
    expect(byUrl(p)['http://a']!.circuit).toBe('open');
    const untouched = pool({ circuitBreaker: { windowMs: 1000, minimumPerSecond: 1 }, outlierEjection: { enabled: false } }, undefined, ['http://a']);
    for (let i = 0; i < 6; i += 1) expect(await call(untouched, slow)).toBe(200);
    expect(byUrl(untouched)['http://a']!.circuit).toBe('closed');
  });
});
