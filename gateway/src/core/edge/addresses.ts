import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

export interface AddressOptions {
  /** Peers whose X-Forwarded-For is believed (CIDRs or addresses). */
  trustedProxies: readonly string[];
  /** When not empty, only these client addresses are served. */
  allow: readonly string[];
  /** Client addresses refused even when allowed. */
  deny: readonly string[];
}

/** An address without the IPv4-in-IPv6 prefix Node gives IPv4 peers on a dual-stack socket. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** A valid CIDR or single address (what the config accepts). */
export function isCidr(value: string): boolean {
  const [address, prefix, extra] = value.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split('/') as [string, string | undefined];
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function matches(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Who the client is and whether it is served: the peer address, or, when the peer is a trusted
 * proxy, the rightmost X-Forwarded-For address that is not one (a client cannot forge its way past
 * a proxy that appends); then the allow and deny lists by CIDR.
 */
export class AddressPolicy {
  private readonly trusted: BlockList;
  private readonly allowList: BlockList | undefined;
  private readonly denyList: BlockList | undefined;
  private readonly anyTrusted: boolean;

  constructor(options: AddressOptions) {
    this.trusted = blockListOf(options.trustedProxies);
    this.anyTrusted = options.trustedProxies.length > 0;
    this.allowList = options.allow.length > 0 ? blockListOf(options.allow) : undefined;
    this.denyList = options.deny.length > 0 ? blockListOf(options.deny) : undefined;
  }

  clientIp(req: IncomingMessage): string {
    const peer = plainAddress(req.socket.remoteAddress ?? '');
    if (!this.anyTrusted || !matches(this.trusted, peer)) return peer;
    const forwarded = req.headers['x-forwarded-for'];
    if (forwarded === undefined) return peer;
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').map((hop) => plainAddress(hop.trim()));
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) break; // garbage: believe nothing further left
      client = hop;
      if (!matches(this.trusted, hop)) break;
    }
    return client;
  }

  allowed(address: string): boolean {
    if (this.denyList && matches(this.denyList, address)) return false;
    if (this.allowList) return matches(this.allowList, address);
    return true;
  }
}
