import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AddressPolicy, isCidr, plainAddress } from './addresses.js';
import { chooseEncoding } from './compression.js';
import { Cors } from './cors.js';

const request = (headers: Record<string, string>, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('Cors', () => {
  const cors = new Cors({ origins: ['http://localhost:*', 'https://*.example.com', 'https://app.example.org'], credentials: false, maxAgeSeconds: 60, allowHeaders: ['content-type'], exposeHeaders: [] });

  it('matches exact origins, any port and subdomains, and nothing that only looks alike', () => {
    for (const origin of ['http://localhost', 'http://localhost:3000', 'https://a.example.com', 'https://a.b.example.com', 'https://app.example.org']) expect(cors.allows(origin), origin).toBe(true);
    for (const origin of ['http://localhost.evil.com', 'https://example.com', 'https://evil.com/.example.com', 'https://a.example.com.evil.net', 'http://app.example.org', 'https://app.example.org:8443', 'null']) {
      expect(cors.allows(origin), origin).toBe(false);
    }
  });

  it('echoes the origin and never answers a refused one', () => {
    expect(cors.responseHeaders(request({ origin: 'http://localhost:5173' }))).toEqual(['access-control-allow-origin', 'http://localhost:5173', 'vary', 'origin']);
    expect(cors.responseHeaders(request({ origin: 'https://evil.net' }))).toEqual([]);
    expect(cors.preflightHeaders(request({ origin: 'https://evil.net' }))).toBeUndefined();
  });
});

describe('AddressPolicy', () => {
  it('takes the rightmost address that is not a trusted proxy, only from a trusted peer', () => {
    const policy = new AddressPolicy({ trustedProxies: ['10.0.0.0/8', '127.0.0.1'], allow: [], deny: [] });
    expect(policy.clientIp(request({ 'x-forwarded-for': '203.0.113.1, 10.1.2.3' }))).toBe('203.0.113.1');
    expect(policy.clientIp(request({ 'x-forwarded-for': '1.1.1.1, 203.0.113.1' }))).toBe('203.0.113.1');
    expect(policy.clientIp(request({ 'x-forwarded-for': '203.0.113.1' }, '198.51.100.7'))).toBe('198.51.100.7');
    expect(policy.clientIp(request({ 'x-forwarded-for': 'garbage, 203.0.113.1' }))).toBe('203.0.113.1');
    expect(policy.clientIp(request({ 'x-forwarded-for': '203.0.113.1, garbage' }))).toBe('127.0.0.1');
    expect(policy.clientIp(request({}, '::ffff:127.0.0.1'))).toBe('127.0.0.1');
  });

  it('denies before it allows, over IPv4 and IPv6', () => {
    const policy = new AddressPolicy({ trustedProxies: [], allow: ['10.0.0.0/8', 'fd00::/8'], deny: ['10.9.0.0/16'] });
    expect(policy.allowed('10.1.1.1')).toBe(true);
    expect(policy.allowed('10.9.1.1')).toBe(false);
    expect(policy.allowed('fd12::1')).toBe(true);
    expect(policy.allowed('192.0.2.1')).toBe(false);
    expect(policy.allowed('')).toBe(false);
  });

  it('accepts addresses and CIDRs, nothing else', () => {
    expect(['1.2.3.4', '1.2.3.0/24', '::1', 'fd00::/8'].every(isCidr)).toBe(true);
    expect(['1.2.3.4/33', 'fd00::/129', 'host', '1.2.3.4/8/1', '1.2.3.4/x'].some(isCidr)).toBe(false);
    expect(plainAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('chooseEncoding', () => {
  it('prefers brotli, honours q-values and refusals', () => {
    expect(chooseEncoding('gzip, deflate, br')).toBe('br');
    expect(chooseEncoding('gzip')).toBe('gzip');
    expect(chooseEncoding('br;q=0.5, gzip;q=0.8')).toBe('gzip');
    expect(chooseEncoding('br;q=0, gzip;q=0')).toBeUndefined();
    expect(chooseEncoding('identity')).toBeUndefined();
    expect(chooseEncoding(undefined)).toBeUndefined();
    expect(chooseEncoding('*')).toBe('br');
  });
});
