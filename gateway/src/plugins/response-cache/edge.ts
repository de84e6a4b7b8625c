import type { Identity } from '../../core/context.js';
import { LRUCache } from 'lru-cache';
import { PROCESS_SEED, fingerprint } from '../../core/fingerprint.js';

/** A response ready to be written at the edge, and what decides whether it still may be. */
export interface EdgeEntry {
  /** The supergraph it was answered under: after a reload it is not written again. */
  version: string;
  body: Buffer;
  operationName: string | null;
  fetchedAt: number;
  maxAgeSeconds: number;
  scope: 'PUBLIC' | 'PRIVATE';
  tags: string[];
  /** The store's purge count when this entry was last found current (memory store). */
  checkedAt?: number;
  /** The headers of an answer in the whole second `headersAge` after fetching: they change once a second. */
  headers?: readonly string[];
  headersAge?: number;
}

/** The headers of a hit `ageSeconds` old, content-length included (see EdgeAnswer.headers). */
export function edgeHeaders(entry: EdgeEntry, ageSeconds: number): readonly string[] {
  if (entry.headersAge !== ageSeconds || entry.headers === undefined) {
    entry.headers = [
      'content-type',
      'application/json; charset=utf-8',
      'cache-control',
      // join: a flat string, which Node's header check reads without flattening it on every hit.
      ['max-age=', Math.max(0, entry.maxAgeSeconds - ageSeconds), ', ', entry.scope.toLowerCase()].join(''),
      'age',
      String(ageSeconds),
      'x-cache',
      'HIT',
      'content-length',
      String(entry.body.length),
    ];
    entry.headersAge = ageSeconds;
  }
  return entry.headers;
}

/**
 * What makes two requests the same for the edge: the verified claims (everything authorization
 * can look at, so a caller is only ever answered with what it was answered through the full
 * pipeline), the vary headers, and the body's exact text (operation, name, variables and
 * extensions as sent: a repeat is found without parsing it, and the same request spelt
 * differently is only a different entry, never a wrong answer).
 *
 * An entry is found through a number, not a string made of all three: the caller's number (a
 * fingerprint of the claims, made once per identity, mixed with the vary values) and a fingerprint
 * of the text (core/fingerprint.ts).
 * Hashing the whole key as a string cost more than half a microsecond a hit (a 460-character body,
 * decision record 015). The entries of one number are then compared in full (claims, vary values
 * and text), so two requests whose fingerprints meet are two entries, never one answer for both.
 */
export interface EdgeCaller {
  /** The verified claims (one string per identity, so usually the very same string), compared in full. */
  who: string;
  /** The vary values, compared in full. */
  vary: string;
  /** Mixed into the text's fingerprint. */
  number: number;
}

/** Identities are made once per verified credential and never changed: their part of the key is made once too. */
const callers = new WeakMap<Identity, EdgeCaller>();
const ANONYMOUS: EdgeCaller = { who: '', vary: '', number: 0 };

/** The caller part of an edge key: who (made once per identity) and the vary values (per request). */
export function edgeCaller(identity: Identity | undefined, vary: string): EdgeCaller {
  let who = identity ? callers.get(identity) : ANONYMOUS;
  if (who === undefined) {
    const claims = `${identity!.kind}\u0000${identity!.id}\u0000${identity!.tenant ?? ''}\u0000${identity!.plan ?? ''}\u0000${identity!.roles.join(' ')}\u0000${identity!.scopes.join(' ')}`;
    // From the claims, not the object: the same caller verified again (a new Identity) finds its entries.
    who = { who: claims, vary: '', number: fingerprint(claims, 0x9e3779b1) };
    callers.set(identity!, who);
  }
  return vary === '' ? who : { who: who.who, vary, number: fingerprint(vary, who.number) };
}

/** An entry and what it is kept for, compared in full on every lookup. */
interface Held {
  text: string;
  who: string;
  vary: string;
  entry: EdgeEntry;
}

function same(held: Held, caller: EdgeCaller, text: string): boolean {
  return held.who === caller.who && held.vary === caller.vary && held.text === text;
}

/** Most entries kept under one number: past it, the least recently used of them goes. */
const PER_NUMBER = 8;

/**
 * Serialized responses by caller and text, found through their number; the least recently used
 * number (with its entries) dropped past `maxEntries` entries or `maxBytes` (bodies, texts and keys).
 */
export class EdgeIndex {
  private readonly buckets: LRUCache<number, Held[]>;
  private entries = 0;

  constructor(
    private readonly maxEntries: number,
    maxBytes: number,
    /** The number of a caller and text (tests make every one the same, to see texts that meet kept apart). */
    private readonly numberOf: (caller: EdgeCaller, text: string) => number = (caller, text) => fingerprint(text, PROCESS_SEED ^ caller.number),
  ) {
    this.buckets = new LRUCache<number, Held[]>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (bucket) => {
        let bytes = 1;
        for (const held of bucket) bytes += held.entry.body.length + held.text.length + held.who.length + held.vary.length;
        return bytes;
      },
      // A bucket dropped (evicted, deleted, cleared, too large) takes its entries along.
      dispose: (bucket) => {
        this.entries -= bucket.length;
      },
    });
  }

  /** Entries held. */
  get size(): number {
    return this.entries;
  }

  get byteSize(): number {
    return this.buckets.calculatedSize;
  }

  get(caller: EdgeCaller, text: string): EdgeEntry | undefined {
    const bucket = this.buckets.get(this.numberOf(caller, text));
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i += 1) {
      const held = bucket[i]!;
      if (same(held, caller, text)) {
        // Most recently used last: the first is the one to go.
        if (i < bucket.length - 1) bucket.push(bucket.splice(i, 1)[0]!);
        return held.entry;
      }
    }
    return undefined;
  }

  set(caller: EdgeCaller, text: string, entry: EdgeEntry): void {
    const number = this.numberOf(caller, text);
    const found = this.buckets.peek(number);
    const bucket = found ? found.filter((held) => !same(held, caller, text)) : [];
    if (bucket.length >= PER_NUMBER) bucket.shift();
    bucket.push({ text, who: caller.who, vary: caller.vary, entry });
    // A new array: lru-cache disposes the one it replaces, and keeps nothing too large for maxBytes on its own.
    this.buckets.set(number, bucket);
    if (this.buckets.peek(number) === bucket) this.entries += bucket.length;
    // Past maxEntries, the least recently used numbers go (never the one just set while another is left).
    while (this.entries > this.maxEntries && this.buckets.size > 1) this.buckets.pop();
  }

  delete(caller: EdgeCaller, text: string): void {
    const number = this.numberOf(caller, text);
    const found = this.buckets.peek(number);
    if (!found) return;
    const bucket = found.filter((held) => !same(held, caller, text));
    if (bucket.length === found.length) return;
    if (bucket.length === 0) this.buckets.delete(number);
    else {
      this.buckets.set(number, bucket);
      this.entries += bucket.length;
    }
  }

  clear(): void {
    this.buckets.clear();
  }
}
