import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from './logger.js';

/**
 * Who is calling, as the authentication plugin verified it. Absent: anonymous. Made once per
 * verified credential and shared by its requests, so never changed (the response cache's edge
 * keys rely on it).
 */
export interface Identity {
  /** A person (JWT) or a machine client (API key). */
  readonly kind: 'user' | 'client';
  /** The user id (JWT subject claim) or the API key's client id. */
  readonly id: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly tenant?: string;
  readonly plan?: string;
}

/** Per-request state shared by the edge, the plugins and the subgraph data sources. */
export interface GatewayContext {
  /** The verified caller; undefined for anonymous requests. */
  identity?: Identity;
  /** From the client's `x-request-id` when it is sane, otherwise generated; sent to every subgraph. */
  requestId: string;
  /** The request's logger, bound to its request id. */
  logger: Logger;
  /** Headers of the client request, as received. */
  headers: IncomingHttpHeaders;
  /** The client's address (after trusted proxies). */
  clientIp?: string;
  /** Aborted when the client request's deadline passes or its client goes away: subgraph fetches stop. */
  signal?: AbortSignal;
  /** Extensions the admission hooks add to the response (the estimated cost). */
  responseExtensions?: Record<string, unknown>;
  /**
   * What the answer held, filled in when it is sent (for metering): its operation name and error
   * codes. An object made with the context, so the edge sees what Apollo Server's copy of the
   * context notes (Apollo Server runs each request on a shallow copy).
   */
  outcome?: { operationName?: string | null; errorCodes?: string[] };
}

/** Who a request counts against (rate limits, metering): the API key's client, the user, or the address of a caller without credentials. */
export function clientKeyOf(identity: Identity | undefined, clientIp: string): string {
  return identity ? `${identity.kind}:${identity.id}` : `ip:${clientIp}`;
}

/** The usage plan a request counts under: the identity's, `default` for one without, `anonymous` without credentials. */
export function usagePlanOf(identity: Identity | undefined): string {
  return identity ? (identity.plan ?? 'default') : 'anonymous';
}
