import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../../../test/support/dns.js';
import { eventually } from '../../../test/support/servers.js';
import { SubgraphInstances } from './instances.js';
import { createLogger } from './logger.js';

const logger = createLogger('silent');
let dns: Awaited<ReturnType<typeof startDnsServer>>;

beforeAll(async () => {
  dns = await startDnsServer({
    A: { 'reviews.frontdesk.test': ['127.0.0.1', '127.0.0.2'], 'a.frontdesk.test': ['127.0.0.1'], 'b.frontdesk.test': ['127.0.0.3'] },
    AAAA: { 'reviews.frontdesk.test': ['::1'] },
    SRV: { '_graphql._tcp.reviews.frontdesk.test': [{ target: 'a.frontdesk.test', port: 4102 }, { target: 'b.frontdesk.test', port: 4103 }] },
  });
});
afterAll(() => dns?.stop());

const discovery = (over: Partial<Parameters<SubgraphInstances['configure']>[0] & { discovery: object }>['discovery'] = {}) => ({
  name: 'reviews.frontdesk.test',
  record: 'A+AAAA' as const,
  port: 4002,
  scheme: 'http' as const,
  path: '/graphql',
  servers: [dns.server],
  minRefreshMs: 200,
  maxRefreshMs: 60_000,
  ...over,
});

describe('subgraph instances', () => {
  it('a fixed list: sorted, deduplicated, the same array until it changes, taken in turn', () => {
    const instances = new SubgraphInstances('reviews', logger);
    instances.configure({ urls: ['http://b:1/graphql', 'http://a:1/graphql', 'http://b:1/graphql'] });
    const first = instances.current();
    expect(first).toEqual(['http://a:1/graphql', 'http://b:1/graphql']);
    instances.configure({ urls: ['http://a:1/graphql', 'http://b:1/graphql'] });
    expect(instances.current()).toBe(first);
    expect([instances.next(), instances.next(), instances.next()]).toEqual(['http://b:1/graphql', 'http://a:1/graphql', 'http://b:1/graphql']);
    instances.configure({ urls: ['http://c:1/graphql'] });
    expect(instances.current()).toEqual(['http://c:1/graphql']);
  });

  it('A and AAAA records: one instance per address on the configured port', async () => {
    const instances = new SubgraphInstances('reviews', logger);
    instances.configure({ discovery: discovery() });
    await instances.ready();
    expect(instances.current()).toEqual(['http://127.0.0.1:4002/graphql', 'http://127.0.0.2:4002/graphql', 'http://[::1]:4002/graphql']);
    instances.close();
  });

  it('SRV records: each target resolved, with the port of its record', async () => {
    const instances = new SubgraphInstances('reviews', logger);
    instances.configure({ discovery: discovery({ name: '_graphql._tcp.reviews.frontdesk.test', record: 'SRV' }) });
    await instances.ready();
    expect(instances.current()).toEqual(['http://127.0.0.1:4102/graphql', 'http://127.0.0.3:4103/graphql']);
    instances.close();
  });

  it('re-resolves on the TTL: a new address is taken, a DNS outage keeps the last list, NXDOMAIN empties it', async () => {
    const instances = new SubgraphInstances('reviews', logger);
    instances.configure({ discovery: discovery({ record: 'A' }) });
    await instances.ready();
    expect(instances.current()).toHaveLength(2);
    dns.records.A!['reviews.frontdesk.test'] = ['127.0.0.1', '127.0.0.2', '127.0.0.4'];
    await eventually(async () => instances.current().length === 3, 5_000);
    // DNS fails (SERVFAIL): the list stays.
    dns.serverFailure = true;
    let queries = dns.queries;
    await eventually(async () => dns.queries > queries + 1, 5_000);
    expect(instances.current()).toHaveLength(3);
    dns.serverFailure = false;
    // The name is gone (NXDOMAIN): no instance.
    const records = dns.records;
    dns.records = {};
    queries = dns.queries;
    await eventually(async () => instances.current().length === 0, 5_000);
    dns.records = records;
    await eventually(async () => instances.current().length === 3, 5_000);
    instances.close();
  });
});
