import type { Identity } from '../../core/context.js';
import { BoundedLru } from './store.js';

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
      `max-age=${Math.max(0, entry.maxAgeSeconds - ageSeconds)}, ${entry.scope.toLowerCase()}`,
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
 */
export function edgeKey(identity: Identity | undefined, vary: string, text: string): string {
  return `${identity ? whoOf(identity) : ''}\u0001${vary}\u0001${text}`;
}

/** Identities are made once per verified credential and never changed: their part of the key is made once too. */
const whos = new WeakMap<Identity, string>();
function whoOf(identity: Identity): string {
  let who = whos.get(identity);
  if (who === undefined) {
    who = `${identity.kind}\u0000${identity.id}\u0000${identity.tenant ?? ''}\u0000${identity.plan ?? ''}\u0000${identity.roles.join(' ')}\u0000${identity.scopes.join(' ')}`;
    whos.set(identity, who);
  }
  return who;
}

/** Serialized responses by edge key, the least recently used dropped past `maxEntries` or `maxBytes`. */
export class EdgeIndex extends BoundedLru<EdgeEntry> {
  constructor(maxEntries: number, maxBytes: number) {
    super(maxEntries, maxBytes, (key, entry) => entry.body.length + key.length);
  }
}
