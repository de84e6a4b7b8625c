import type { Identity } from '../../core/context.js';
import { BoundedLru } from './store.js';

/** A response ready to be written at the edge, and what decides whether it still may be. */
export interface EdgeEntry {
  body: Buffer;
  operationName: string | null;
  fetchedAt: number;
  maxAgeSeconds: number;
  scope: 'PUBLIC' | 'PRIVATE';
  tags: string[];
  /** The store's purge count when this entry was last found current (memory store). */
  checkedAt?: number;
}

/**
 * What makes two requests the same for the edge: the verified claims (everything authorization
 * can look at, so a caller is only ever answered with what it was answered through the full
 * pipeline), the operation text and name, the variables and the vary headers.
 */
export function edgeKey(identity: Identity | undefined, query: string, operationName: string | null | undefined, variables: unknown, vary: string): string {
  const who = identity ? `${identity.kind}\u0000${identity.id}\u0000${identity.tenant ?? ''}\u0000${identity.plan ?? ''}\u0000${identity.roles.join(' ')}\u0000${identity.scopes.join(' ')}` : '';
  return `${who}\u0001${operationName ?? ''}\u0001${variables === undefined || variables === null ? '{}' : JSON.stringify(variables)}\u0001${vary}\u0001${query}`;
}

/** Serialized responses by edge key, the least recently used dropped past `maxEntries` or `maxBytes`. */
export class EdgeIndex extends BoundedLru<EdgeEntry> {
  constructor(maxEntries: number, maxBytes: number) {
    super(maxEntries, maxBytes, (key, entry) => entry.body.length + key.length);
  }
}
