import { traceHeaders } from '../../gateway/src/core/tracing.js';
import { GraphQLError } from 'graphql';
import { Agent, type Dispatcher } from 'undici';
import type { Logger } from '../../gateway/src/core/logger.js';
import { failureFromHttpStatus, failureFromTransportError, legacyError, LEGACY_MAX_RESPONSE_BYTES, LegacyResponseTooLarge } from './errors.js';

/** Reads a body as text up to `limit` bytes; past it the connection is dropped. */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      const error = new LegacyResponseTooLarge(limit);
      body.destroy(error);
      throw error;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
import { parseJsonLossless, stringifyJsonLossless } from './json.js';
import { LegacyGuard, type LegacyResilience } from './resilience.js';

export interface HttpTargetOptions {
  /** Name used in errors and logs (the legacy service, e.g. "catalog"). */
  service: string;
  /** Base URLs of the service's instances (one or more), balanced by the guard. */
  baseUrls: readonly string[];
  /** Per-call deadline in ms, covering connect, headers and body. */
  timeoutMs: number;
  /** Keep-alive connections per origin. */
  maxConnections: number;
  /** Headers sent with every call (credentials from the environment). */
  headers?: Record<string, string>;
  resilience: LegacyResilience;
  logger: Logger;
}

export interface HttpCall {
  method: string;
  /** Path and query, appended to the base URL. */
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Cancels the call with the client request. */
  signal?: AbortSignal;
  /** May be sent twice (a query's call); default: GET and HEAD. */
  idempotent?: boolean;
  /** What is called, for metrics and spans (the operationId); default the method. Never an id. */
  operation?: string;
  /** Send `body` as application/x-www-form-urlencoded instead of JSON. */
  form?: boolean;
  logger: Logger;
}

interface Exchange {
  status: number;
  text: string;
  cacheControl: string | undefined;
  vary: string | undefined;
  retryAfter: string | null;
  url: string;
}

/** A body object as a form (a list repeats its key; an object goes as JSON text; null is left out). */
export function formEncoded(body: unknown): string {
  const form = new URLSearchParams();
  const text = (value: unknown): string => (typeof value === 'object' ? stringifyJsonLossless(value) : String(value));
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    for (const [name, value] of Object.entries(body)) {
      if (value === null || value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) form.append(name, text(item));
      else form.append(name, text(value));
    }
  }
  return form.toString();
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);

export interface HttpResult {
  status: number;
  body: unknown;
  cacheControl?: string;
  /** The service's Vary header: an answer that varies by request headers depends on the caller. */
  vary?: string;
}

/**
 * Keep-alive connections to one legacy HTTP service, through the resilience guard (balancing over
 * its base URLs, breakers, retries of idempotent calls, bulkhead). Every call has a deadline
 * (AbortSignal), and every failure leaves as a coded GraphQL error; bodies and hosts go to the
 * log only.
 */
export class HttpTarget {
  private readonly agent: Dispatcher;
  private readonly guard: LegacyGuard;

  constructor(private readonly options: HttpTargetOptions) {
    this.agent = new Agent({ connections: options.maxConnections, keepAliveTimeout: 30_000, pipelining: 1 });
    this.guard = new LegacyGuard(
      options.service,
      options.baseUrls.map((url) => url.replace(/\/+$/, '')),
      options.resilience,
      options.logger,
    );
  }

  /** One HTTP exchange with one instance; transport failures throw as they are. */
  private async exchange(base: string, call: HttpCall, headers: Record<string, string>, payload: string | undefined): Promise<Exchange> {
    const url = `${base}${call.path}`;
    const signals = [AbortSignal.timeout(this.options.timeoutMs)];
    if (call.signal) signals.push(call.signal);
    const origin = new URL(url).origin;
    const response = await this.agent.request({
      origin,
      path: url.slice(origin.length),
      method: call.method as Dispatcher.HttpMethod,
      headers,
      body: payload,
      signal: AbortSignal.any(signals),
    });
    return {
      status: response.statusCode,
      cacheControl: header(response.headers['cache-control']),
      vary: header(response.headers.vary),
      retryAfter: header(response.headers['retry-after']) ?? null,
      text: await readBounded(response.body, LEGACY_MAX_RESPONSE_BYTES),
      url,
    };
  }

  async call(call: HttpCall): Promise<HttpResult> {
    const { service } = this.options;
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers, ...call.headers };
    let payload: string | undefined;
    if (call.body !== undefined && call.form) {
      payload = formEncoded(call.body);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (call.body !== undefined) {
      payload = stringifyJsonLossless(call.body);
      headers['content-type'] = 'application/json';
    }
    let answer: Exchange;
    try {
      answer = await this.guard.run({
        operation: call.operation ?? call.method,
        idempotent: call.idempotent ?? (call.method === 'GET' || call.method === 'HEAD'),
        // Headers made inside the call's span: its trace context goes along.
        send: (base) => this.exchange(base, call, { ...headers, ...traceHeaders() }, payload),
        status: (exchange) => exchange.status,
        retryAfter: (exchange) => exchange.retryAfter,
        // The caller's own abort and a too large answer are not the instance's failures.
        instanceFailed: (error) => !(error instanceof LegacyResponseTooLarge) && !call.signal?.aborted,
      });
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      const failure = failureFromTransportError(error);
      call.logger.warn({ service, path: call.path, method: call.method, err: error, failure: failure.kind }, 'legacy call failed');
      throw legacyError(service, failure);
    }
    const { status, text, cacheControl, vary, url } = answer;
    if (status < 200 || status >= 300) {
      const failure = failureFromHttpStatus(status);
      const entry = { service, url, method: call.method, status, body: text.slice(0, 2_000) };
      if (failure.kind === 'not-found') call.logger.debug(entry, 'legacy call answered not found');
      else call.logger.warn(entry, 'legacy call answered an error');
      throw legacyError(service, failure);
    }
    if (text.trim() === '') return { status, body: null, cacheControl, vary };
    try {
      return { status, body: parseJsonLossless(text), cacheControl, vary };
    } catch (error) {
      call.logger.warn({ service, url, status, body: text.slice(0, 2_000), err: error }, 'legacy call answered malformed JSON');
      throw legacyError(service, { kind: 'bad-response', reason: 'the body is not valid JSON' });
    }
  }

  /** The instances and their state (breaker, ejection, calls). */
  instances(): Record<string, unknown>[] {
    return this.guard.snapshot();
  }

  close(): Promise<void> {
    this.guard.close();
    return this.agent.close();
  }
}
