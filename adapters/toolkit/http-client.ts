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

export interface HttpTargetOptions {
  /** Name used in errors and logs (the legacy service, e.g. "catalog"). */
  service: string;
  baseUrl: string;
  /** Per-call deadline in ms, covering connect, headers and body. */
  timeoutMs: number;
  /** Keep-alive connections per origin. */
  maxConnections: number;
  /** Headers sent with every call (credentials from the environment). */
  headers?: Record<string, string>;
}

export interface HttpCall {
  method: string;
  /** Path and query, appended to the base URL. */
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Cancels the call with the client request. */
  signal?: AbortSignal;
  logger: Logger;
}

export interface HttpResult {
  status: number;
  body: unknown;
  cacheControl?: string;
  /** The service's Vary header: an answer that varies by request headers depends on the caller. */
  vary?: string;
}

/**
 * A keep-alive pool to one legacy HTTP service. Every call has a deadline (AbortSignal), and
 * every failure leaves as a coded GraphQL error; bodies and hosts go to the log only.
 */
export class HttpTarget {
  private readonly agent: Dispatcher;
  private readonly base: string;

  constructor(private readonly options: HttpTargetOptions) {
    this.agent = new Agent({ connections: options.maxConnections, keepAliveTimeout: 30_000, pipelining: 1 });
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  async call(call: HttpCall): Promise<HttpResult> {
    const { service } = this.options;
    const url = `${this.base}${call.path}`;
    const signals = [AbortSignal.timeout(this.options.timeoutMs)];
    if (call.signal) signals.push(call.signal);
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers, ...call.headers };
    let payload: string | undefined;
    if (call.body !== undefined) {
      payload = stringifyJsonLossless(call.body);
      headers['content-type'] = 'application/json';
    }
    let status: number;
    let text: string;
    let cacheControl: string | undefined;
    let vary: string | undefined;
    try {
      const response = await this.agent.request({
        origin: new URL(url).origin,
        path: url.slice(new URL(url).origin.length),
        method: call.method as Dispatcher.HttpMethod,
        headers,
        body: payload,
        signal: AbortSignal.any(signals),
      });
      status = response.statusCode;
      const cc = response.headers['cache-control'];
      cacheControl = Array.isArray(cc) ? cc.join(', ') : cc;
      const varies = response.headers.vary;
      vary = Array.isArray(varies) ? varies.join(', ') : varies;
      text = await readBounded(response.body, LEGACY_MAX_RESPONSE_BYTES);
    } catch (error) {
      const failure = failureFromTransportError(error);
      call.logger.warn({ service, url, method: call.method, err: error, failure: failure.kind }, 'legacy call failed');
      throw legacyError(service, failure);
    }
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

  close(): Promise<void> {
    return this.agent.close();
  }
}
