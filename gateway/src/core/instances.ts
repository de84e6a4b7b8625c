import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from './logger.js';

/** Where a subgraph's instances come from in DNS (`subgraphs.<name>.discovery`). */
export interface DnsDiscovery {
  /** The name resolved: a host (A/AAAA, e.g. a Kubernetes headless service) or an SRV name. */
  name: string;
  record: 'A' | 'AAAA' | 'A+AAAA' | 'SRV';
  /** Port of each address (A/AAAA); SRV records carry their own. */
  port?: number;
  scheme: 'http' | 'https';
  path: string;
  /** DNS servers to ask (host or host:port); default the system's. */
  servers?: string[];
  /** Bounds of the re-resolution period, which otherwise follows the records' TTL. */
  minRefreshMs: number;
  maxRefreshMs: number;
}

function hostPart(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/**
 * The instance URLs of one subgraph: a fixed list (the config file's `urls`, replaced on hot
 * reload) or discovered in DNS and re-resolved on the records' TTL. `current()` returns the same
 * array until the list changes, so consumers can compare it cheaply. A failed resolution keeps
 * the last list (a DNS outage is not an outage of the subgraph).
 */
export class SubgraphInstances {
  private urls: readonly string[] = [];
  private cursor = 0;
  private discovery: DnsDiscovery | undefined;
  private resolver: Resolver | undefined;
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  /** Pending until the first resolution of a DNS discovery ends. */
  private first: Promise<void> | undefined;

  constructor(
    readonly subgraph: string,
    private readonly logger: Logger,
  ) {}

  /** Sets where the instances come from; a fixed list applies at once, DNS once resolved. */
  configure(source: { urls: readonly string[] } | { discovery: DnsDiscovery }): void {
    if ('urls' in source) {
      this.stopDiscovery();
      this.set([...source.urls]);
      return;
    }
    const same = this.discovery && JSON.stringify(this.discovery) === JSON.stringify(source.discovery);
    if (same) return;
    this.stopDiscovery();
    this.discovery = source.discovery;
    this.resolver = new Resolver({ timeout: 2000, tries: 2 });
    if (source.discovery.servers?.length) this.resolver.setServers(source.discovery.servers);
    const generation = this.generation;
    this.first = this.refresh(generation).finally(() => {
      if (generation === this.generation) this.first = undefined;
    });
  }

  private set(urls: string[]): void {
    const sorted = [...new Set(urls)].sort();
    if (sorted.length === this.urls.length && sorted.every((url, i) => url === this.urls[i])) return;
    this.urls = Object.freeze(sorted);
    this.logger.info({ subgraph: this.subgraph, instances: sorted }, `subgraph ${this.subgraph} has ${sorted.length} instance(s)`);
  }

  private async resolveAddresses(resolver: Resolver, host: string, record: 'A' | 'AAAA' | 'A+AAAA'): Promise<{ address: string; ttl: number }[]> {
    if (isIP(host)) return [{ address: host, ttl: Number.POSITIVE_INFINITY }];
    const lookups: Promise<{ address: string; ttl: number }[]>[] = [];
    if (record !== 'AAAA') lookups.push(resolver.resolve4(host, { ttl: true }));
    if (record !== 'A') lookups.push(resolver.resolve6(host, { ttl: true }));
    const settled = await Promise.allSettled(lookups);
    const found = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    if (found.length === 0) {
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure) throw failure.reason;
    }
    return found;
  }

  /** Resolves once, then schedules the next resolution on the shortest TTL (within the bounds). */
  private async refresh(generation: number): Promise<void> {
    const spec = this.discovery;
    const resolver = this.resolver;
    if (!spec || !resolver || generation !== this.generation) return;
    let nextMs = spec.minRefreshMs;
    try {
      const urls: string[] = [];
      let ttl = Number.POSITIVE_INFINITY;
      if (spec.record === 'SRV') {
        const records = await resolver.resolveSrv(spec.name);
        for (const record of records) {
          const addresses = await this.resolveAddresses(resolver, record.name, 'A+AAAA');
          for (const found of addresses) {
            urls.push(`${spec.scheme}://${hostPart(found.address)}:${record.port}${spec.path}`);
            ttl = Math.min(ttl, found.ttl * 1000);
          }
        }
      } else {
        const port = spec.port ?? (spec.scheme === 'https' ? 443 : 80);
        for (const found of await this.resolveAddresses(resolver, spec.name, spec.record)) {
          urls.push(`${spec.scheme}://${hostPart(found.address)}:${port}${spec.path}`);
          ttl = Math.min(ttl, found.ttl * 1000);
        }
      }
      if (generation !== this.generation) return;
      this.set(urls);
      nextMs = Math.min(spec.maxRefreshMs, Math.max(spec.minRefreshMs, Number.isFinite(ttl) ? ttl : spec.maxRefreshMs));
    } catch (error) {
      if (generation !== this.generation) return;
      const code = (error as { code?: string }).code;
      // NXDOMAIN or no records: the service has no instance now. Other failures keep the last list.
      if (code === 'ENOTFOUND' || code === 'ENODATA') this.set([]);
      this.logger.warn({ subgraph: this.subgraph, name: spec.name, record: spec.record, err: code ?? (error as Error).message }, `DNS discovery of subgraph ${this.subgraph} failed`);
    }
    this.timer = setTimeout(() => void this.refresh(generation), nextMs);
    this.timer.unref();
  }

  private stopDiscovery(): void {
    this.generation += 1;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.discovery = undefined;
    this.resolver?.cancel();
    this.resolver = undefined;
    this.first = undefined;
  }

  /** Waits for the first DNS resolution, when one is pending. */
  ready(): Promise<void> | undefined {
    return this.first;
  }

  current(): readonly string[] {
    return this.urls;
  }

  /** The next instance in turn (when no plugin balances). */
  next(): string | undefined {
    const urls = this.urls;
    if (urls.length === 0) return undefined;
    this.cursor = (this.cursor + 1) % urls.length;
    return urls[this.cursor];
  }

  close(): void {
    this.stopDiscovery();
  }
}
