import { describe, expect, it } from 'vitest';
import type { Identity } from '../../core/context.js';
import { fingerprint } from '../../core/fingerprint.js';
import { EdgeIndex, edgeCaller, type EdgeEntry } from './edge.js';

const entry = (bytes: number, name = 'Q'): EdgeEntry => ({ version: 'v1', body: Buffer.alloc(bytes, 'x'), operationName: name, fetchedAt: 0, maxAgeSeconds: 60, scope: 'PUBLIC', tags: [] });
const identity = (id: string, roles: string[] = []): Identity => ({ kind: 'user', id, roles, scopes: [] }) as unknown as Identity;
const body = (id: string) => `{"operationName":"Product","variables":{"id":"${id}"},"query":"query Product($id: ID!) { product(id: $id) { id name price reviews { id body author { id name } } } }"}`;

describe('EdgeIndex', () => {
  it('finds an entry by the exact text and the exact caller only', () => {
    const index = new EdgeIndex(100, 1_000_000);
    const alice = edgeCaller(identity('alice'), '');
    const bob = edgeCaller(identity('bob'), '');
    index.set(alice, body('p1'), entry(10, 'A'));
    expect(index.get(alice, body('p1'))?.operationName).toBe('A');
    expect(index.get(bob, body('p1'))).toBeUndefined();
    expect(index.get(alice, body('p2'))).toBeUndefined();
    expect(index.get(alice, `${body('p1')} `)).toBeUndefined();
    // The same claims are the same caller (a token verified again makes a new Identity); with other vary values, or another role, others.
    expect(index.get(edgeCaller(identity('alice'), ''), body('p1'))?.operationName).toBe('A');
    expect(edgeCaller(identity('alice'), 'x-tenant=1').vary).toBe('x-tenant=1');
    expect(index.get(edgeCaller(identity('alice'), 'x-tenant=1'), body('p1'))).toBeUndefined();
    expect(edgeCaller(identity('alice', ['admin']), '').who).not.toBe(alice.who);
    expect(index.get(edgeCaller(undefined, ''), body('p1'))).toBeUndefined();
    index.set(bob, body('p1'), entry(10, 'B'));
    expect(index.get(alice, body('p1'))?.operationName).toBe('A');
    expect(index.get(bob, body('p1'))?.operationName).toBe('B');
    expect(index.size).toBe(2);
    index.delete(alice, body('p1'));
    expect(index.get(alice, body('p1'))).toBeUndefined();
    expect(index.get(bob, body('p1'))?.operationName).toBe('B');
    expect(index.size).toBe(1);
    index.delete(bob, body('p1'));
    expect(index.size).toBe(0);
    expect(index.byteSize).toBe(0);
  });

  it('keeps texts whose numbers meet apart, compared in full, at most 8 under one number', () => {
    // Every caller and text under one number: only the full comparison tells them apart.
    const index = new EdgeIndex(100, 1_000_000, () => 7);
    const alice = edgeCaller(identity('alice'), '');
    const bob = edgeCaller(identity('bob'), '');
    index.set(alice, body('p1'), entry(1, 'alice p1'));
    index.set(alice, body('p2'), entry(1, 'alice p2'));
    index.set(bob, body('p1'), entry(1, 'bob p1'));
    expect(index.get(alice, body('p1'))?.operationName).toBe('alice p1');
    expect(index.get(alice, body('p2'))?.operationName).toBe('alice p2');
    expect(index.get(bob, body('p1'))?.operationName).toBe('bob p1');
    expect(index.get(bob, body('p2'))).toBeUndefined();
    // Stored again: replaced, not added.
    index.set(alice, body('p1'), entry(1, 'alice p1 again'));
    expect(index.get(alice, body('p1'))?.operationName).toBe('alice p1 again');
    expect(index.size).toBe(3);
    for (let i = 3; i <= 9; i += 1) index.set(alice, body(`p${i}`), entry(1, `alice p${i}`));
    expect(index.size).toBe(8);
    // The least recently used went first: bob's p1 and alice's p2 (alice's p1 was read and stored again since).
    expect(index.get(bob, body('p1'))).toBeUndefined();
    expect(index.get(alice, body('p2'))).toBeUndefined();
    expect(index.get(alice, body('p1'))?.operationName).toBe('alice p1 again');
    expect(index.get(alice, body('p9'))?.operationName).toBe('alice p9');
  });

  it('drops the least recently used numbers past maxEntries entries', () => {
    const index = new EdgeIndex(3, 1_000_000);
    const alice = edgeCaller(identity('alice'), '');
    index.set(alice, 'one', entry(1));
    index.set(alice, 'two', entry(1));
    index.set(alice, 'three', entry(1));
    expect(index.get(alice, 'one')).toBeDefined(); // "one" is now the most recently used
    index.set(alice, 'four', entry(1));
    expect(index.size).toBe(3);
    expect(index.get(alice, 'two')).toBeUndefined();
    expect(index.get(alice, 'one')).toBeDefined();
    expect(index.get(alice, 'four')).toBeDefined();
  });

  it('keeps its bytes under maxBytes, bodies, texts and caller keys counted', () => {
    const index = new EdgeIndex(1000, 1000);
    const caller = edgeCaller(undefined, 'x-tenant=acme');
    for (let i = 0; i < 20; i += 1) index.set(caller, `text-${i}`, entry(100));
    expect(index.byteSize).toBeLessThanOrEqual(1000);
    expect(index.size).toBe(Math.floor(1000 / (1 + 100 + 'text-10'.length + caller.vary.length)));
    expect(index.get(caller, 'text-19')).toBeDefined();
    expect(index.get(caller, 'text-0')).toBeUndefined();
    // Larger than the whole bound: not kept, and nothing miscounted.
    const before = index.size;
    index.set(caller, 'huge', entry(5000));
    expect(index.get(caller, 'huge')).toBeUndefined();
    expect(index.size).toBe(before);
    index.clear();
    expect(index.size).toBe(0);
  });

  it('fingerprints the length, both ends and the middle of a text', () => {
    const text = `${'a'.repeat(300)}`;
    const seed = 12345;
    const base = fingerprint(text, seed);
    expect(fingerprint(text, seed)).toBe(base);
    expect(fingerprint(text, seed + 1)).not.toBe(base);
    expect(fingerprint(`${text}a`, seed)).not.toBe(base);
    for (const at of [0, 63, 150, 299]) expect(fingerprint(`${text.slice(0, at)}b${text.slice(at + 1)}`, seed)).not.toBe(base);
    expect(fingerprint('', seed)).toBe(fingerprint('', seed));
    expect(fingerprint('{}', seed)).not.toBe(fingerprint('[]', seed));
  });
});
