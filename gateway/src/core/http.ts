import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Identity } from './context.js';
import { errorBody, httpStatusFor, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { requestId as newRequestId } from './request-id.js';
import type { AddressPolicy } from './edge/addresses.js';
import { chooseEncoding, compress } from './edge/compression.js';
import type { Cors } from './edge/cors.js';
import { EdgeRefusal, type AdminRoute, type EdgeAnswer, type EdgeRequest, type ResponseRecord } from './plugin.js';

/** Readiness as seen by `/ready`: ready once a supergraph is loaded, not ready again while draining. */
export interface EdgeState {
  ready: boolean;
  draining: boolean;
  /** What works in a degraded way (e.g. the supergraph served from its last good copy), shown by /health and /ready. */
  degraded?: () => string[];
}

export interface EdgeOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  state: EdgeState;
  logger: Logger;
  /** Path of the GraphQL endpoint; `/` serves it too so Sandbox works from the root URL. */
  graphqlPath: string;
  bodyLimitBytes: number;
  /** Builds the per-request GraphQL context. */
  context: (req: IncomingMessage, call: RequestInfo) => TContext | Promise<TContext>;
  /** Verifies the caller before GraphQL runs; throws EdgeRefusal to refuse the request. */
  authenticate?: (req: IncomingMessage) => Identity | undefined | Promise<Identity | undefined>;
  /** Refuses a client address before anything else is done for it (an abuse block); undefined lets it in. */
  screen?: (clientIp: string) => EdgeRefusal | undefined;
  /**
   * Told of every GraphQL request once answered (metering); `context` is the request's context
   * when Apollo Server ran it, for what the answer held.
   */
  didRespond?: (record: Omit<ResponseRecord, 'errorCodes' | 'operationName'> & { errorCodes?: readonly string[]; operationName?: string | null }, context: TContext | undefined) => void;
  /** Told of each request refused at the edge with a 4xx code: who (address, identity when known) and why. */
  didRefuse?: (code: string, clientIp: string, identity: Identity | undefined) => void;
  /** Admits each operation before it is answered (see FrontdeskPlugin.admit); throws EdgeRefusal to refuse it. */
  admit?: (request: EdgeRequest) => void | Promise<void>;
  /** Extra GET routes (exact paths). */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Operator routes (exact paths): authenticated, JSON in and out. */
  adminRoutes?: Record<string, AdminRoute>;
  /** Answers a JSON POST before Apollo Server when it can (see FrontdeskPlugin.answerAtEdge). */
  answerAtEdge?: (request: EdgeRequest) => EdgeAnswer | undefined | Promise<EdgeAnswer | undefined>;
  /** Called for every request answered at the edge. */
  didAnswerAtEdge?: (request: EdgeRequest, answer: EdgeAnswer, durationMs: number) => void;
  /** Extra JSON bodies for /health and /ready (e.g. the service name). */
  info?: Record<string, unknown>;
  /** CORS for browser clients; without it no CORS headers are sent. */
  cors?: Cors;
  /** Client address from trusted proxies, allow and deny lists. */
  addresses?: AddressPolicy;
  /** Compress answers of at least this many bytes by Accept-Encoding (gzip, brotli). */
  compressAboveBytes?: number;
  /** Serve a JSON array of operations, up to this many; without it a batch is refused. */
  maxBatchOperations?: number;
  /** A client request still unanswered after this many ms is answered 504 DEADLINE_EXCEEDED, and stops waiting for its subgraph fetches. */
  requestDeadlineMs?: number;
  /**
   * Runs the handling of each GraphQL and operator request inside it (the tracing plugin's span
   * context); `handle(bindings)` adds fields (the trace id) to the request's log lines.
   */
  aroundRequest?: (req: IncomingMessage, res: ServerResponse, handle: (bindings?: Record<string, unknown>) => Promise<void>) => Promise<void>;
}

/** The client application's name as it sent it (`apollographql-client-name`, Apollo's convention). */
export function clientNameOf(req: IncomingMessage): string | undefined {
  const name = req.headers['apollographql-client-name'];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** What the edge knows of a GraphQL request when it builds its context. */
export interface RequestInfo {
  requestId: string;
  logger: Logger;
  identity: Identity | undefined;
  clientIp: string;
  /** Aborted when the request's deadline passes or its client goes away. */
  signal: AbortSignal;
  /** Extensions the admission hooks want in the response. */
  responseExtensions: Record<string, unknown> | undefined;
}

const REQUEST_ID = /^[\w.:@=+/-]{1,128}$/;
const JSON_TYPE = /^application\/(?:json|graphql-response\+json)\b/i;

class EdgeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The EdgeRequest of one operation. A class, not an object literal with a `get logger()`: V8
 * cannot share a hidden class between objects whose accessors are different closures, so the
 * literal made one per request, and at cache-hit rates that kept the garbage collector busy with
 * long-lived garbage (a quarter of the CPU, p99 7 ms instead of 4; decision record 008). The body
 * is parsed when first read: a repeat answered by its exact bytes never needs it.
 */
class EdgeCall implements EdgeRequest {
  private parsed: boolean;
  private value: unknown;
  private exact: string | undefined;
  /** replaceBody ran: the operation is not the one sent. */
  replaced = false;
  responseExtensions: Record<string, unknown> | undefined = undefined;
  cost: number | undefined = undefined;
  responseHeaders: string[] | undefined = undefined;

  constructor(
    readonly method: 'GET' | 'POST',
    text: string | undefined,
    body: unknown,
    readonly headers: IncomingHttpHeaders,
    readonly identity: Identity | undefined,
    readonly clientIp: string,
    readonly requestId: string,
    private readonly makeLogger: () => Logger,
  ) {
    this.exact = text;
    this.parsed = text === undefined;
    this.value = body;
  }

  get text(): string | undefined {
    return this.exact;
  }

  /** The operation's name when its body was read (never parses it for this). */
  get operationName(): string | null | undefined {
    if (!this.parsed) return undefined;
    const name = (this.value as { operationName?: unknown } | undefined)?.operationName;
    return typeof name === 'string' ? name : null;
  }

  /** The parsed operation; throws the BAD_REQUEST EdgeError of a malformed body. */
  get body(): unknown {
    if (!this.parsed) {
      this.value = checkedOperation(parseJson(this.exact!));
      this.parsed = true;
    }
    return this.value;
  }

  replaceBody(body: Record<string, unknown>): void {
    this.value = body;
    this.parsed = true;
    this.exact = undefined;
    this.replaced = true;
  }

  get logger(): Logger {
    return this.makeLogger();
  }
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

function sendError(res: ServerResponse, code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): void {
  send(res, httpStatusFor(code), errorBody(code, message, extensions));
}

/** The GraphQL result of an operation refused before it ran (an item of a batch). */
function refusalResult(error: EdgeRefusal | EdgeError): string {
  return errorBody(error.code, error.message, error instanceof EdgeRefusal ? error.extensions : {});
}

function queryParam(params: URLSearchParams, name: string): unknown {
  const value = params.get(name);
  if (value === null) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined; // Apollo Server answers the malformed parameter
  }
}

/** Reads the body up to `limit` bytes; rejects with PAYLOAD_TOO_LARGE past it. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  // Only a length with as many digits as the limit can be past it (llhttp accepts digits only).
  const length = req.headers['content-length'];
  const declared = length !== undefined && length.length >= String(limit).length ? Number(length) : 0;
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new EdgeError('PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new EdgeError('PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      // Decoding would turn invalid bytes into U+FFFD silently: a client's encoding bug is its 400.
      if (!isUtf8(body)) reject(new EdgeError('BAD_REQUEST', 'The request body is not valid UTF-8'));
      else resolve(body.toString('utf8'));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

/** JSON nested deeper than this in variables or extensions is refused (serializing it for a subgraph would recurse that deep). */
const MAX_JSON_DEPTH = 64;

function deeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, limit - 1)) return true;
    return false;
  }
  for (const key in value) if (deeperThan((value as Record<string, unknown>)[key], limit - 1)) return true;
  return false;
}

/** An operation whose variables and extensions are within MAX_JSON_DEPTH. */
function checkedOperation(operation: unknown): unknown {
  if (operation !== null && typeof operation === 'object' && !Array.isArray(operation)) {
    const { variables, extensions } = operation as { variables?: unknown; extensions?: unknown };
    if (deeperThan(variables, MAX_JSON_DEPTH) || deeperThan(extensions, MAX_JSON_DEPTH)) {
      throw new EdgeError('BAD_REQUEST', `Variables and extensions may nest at most ${MAX_JSON_DEPTH} levels`);
    }
  }
  return operation;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EdgeError('BAD_REQUEST', `Malformed JSON body: ${(error as Error).message}`);
  }
}

/** An answer about to be written: status, headers (flat) and body. */
interface Answer {
  status: number;
  headers: string[];
  /** A complete body, or the chunks of an incremental (multipart) answer. */
  body: string | Buffer | AsyncIterable<string>;
  /** The same body object is written again (a cached answer): its compressed copy is kept. */
  reused?: boolean;
}

/**
 * The edge of a Frontdesk HTTP server on node:http: request ids, liveness and readiness, client
 * addresses and CORS, the body limit and JSON parsing, batches, admission of each operation, the
 * request deadline and compression, then Apollo Server. Shared by the gateway and the subgraph
 * servers.
 */
export function createEdgeHandler<TContext extends BaseContext>(
  options: EdgeOptions<TContext>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { apollo, state, graphqlPath, bodyLimitBytes, cors, addresses } = options;
  const health = JSON.stringify({ status: 'ok', ...options.info });
  const ready = JSON.stringify({ status: 'ready', ...options.info });
  const compressAbove = options.compressAboveBytes;
  const around = options.aroundRequest;

  return (req, res) => {
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : newRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const search = q === -1 ? '' : url.slice(q);
    // Probes answer whoever asks: a load balancer's address is rarely on an allow list.
    if (path === '/health') {
      res.setHeader('x-request-id', requestId);
      const degraded = state.degraded?.() ?? [];
      send(res, 200, degraded.length === 0 ? health : JSON.stringify({ status: 'ok', degraded, ...options.info }));
      return;
    }
    if (path === '/ready') {
      res.setHeader('x-request-id', requestId);
      const degraded = state.ready && !state.draining ? (state.degraded?.() ?? []) : [];
      if (degraded.length > 0) send(res, 200, JSON.stringify({ status: 'ready', degraded, ...options.info }));
      else if (state.ready && !state.draining) send(res, 200, ready);
      else send(res, 503, JSON.stringify({ status: state.draining ? 'draining' : 'starting', ...options.info }));
      return;
    }
    const clientIp = addresses ? addresses.clientIp(req) : (req.socket.remoteAddress ?? '');
    // Headers every answer of this request carries; an answer from the edge writes them with its own in one call.
    const extra: string[] = [];
    if (state.draining) extra.push('connection', 'close');
    if (addresses && !addresses.allowed(clientIp)) {
      res.setHeader('x-request-id', requestId);
      setAll(res, extra);
      sendError(res, 'FORBIDDEN', 'Requests from this address are not served');
      return;
    }
    if (cors && req.headers.origin !== undefined) {
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        res.setHeader('x-request-id', requestId);
        const preflight = cors.preflightHeaders(req);
        if (!preflight) {
          sendError(res, 'FORBIDDEN', 'This origin may not call the API from a browser');
          return;
        }
        setAll(res, preflight);
        res.statusCode = 204;
        res.end();
        return;
      }
      for (const header of cors.responseHeaders(req)) extra.push(header);
    }
    const graphql = path === graphqlPath || path === '/';
    // A GraphQL POST may be answered at the edge, which writes every header in one call: set
    // none here (Node merges set and written headers on a slower path).
    const edgeFirst = req.method === 'POST' && options.answerAtEdge !== undefined && state.ready && graphql;
    if (!edgeFirst) {
      res.setHeader('x-request-id', requestId);
      setAll(res, extra);
    }
    const route = options.routes?.[path];
    if (route && (req.method === 'GET' || req.method === 'HEAD')) {
      route(req, res);
      return;
    }
    const admin = options.adminRoutes?.[path];
    if (admin) {
      if (!admin.methods.includes(req.method as 'GET' | 'POST')) {
        res.setHeader('allow', admin.methods.join(', '));
        sendError(res, 'METHOD_NOT_ALLOWED', `${req.method ?? 'This method'} is not supported here; use ${admin.methods.join(' or ')}`);
        return;
      }
      let logger = options.logger.child({ requestId });
      const handle = (bindings?: Record<string, unknown>) => {
        if (bindings) logger = logger.child(bindings);
        return handleAdmin(req, res, admin, logger);
      };
      void (around ? around(req, res, handle) : handle()).catch((error: unknown) => fail(req, res, requestId, logger, error));
      return;
    }
    if (!graphql) {
      sendError(res, 'NOT_FOUND', `No route for ${req.method ?? 'GET'} ${path}`);
      return;
    }
    // A blocked client gets nothing from the GraphQL endpoint (operator routes stay reachable to lift it).
    const screened = options.screen?.(clientIp);
    if (screened) {
      if (edgeFirst) {
        res.setHeader('x-request-id', requestId);
        setAll(res, extra);
      }
      for (const [name, value] of Object.entries(screened.headers)) res.setHeader(name, value);
      sendError(res, screened.code, screened.message, screened.extensions);
      return;
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      sendError(res, 'METHOD_NOT_ALLOWED', `${req.method ?? 'This method'} is not supported; use GET or POST`);
      return;
    }
    if (!state.ready) {
      if (edgeFirst) res.setHeader('x-request-id', requestId);
      sendError(res, 'NOT_READY', 'The server is not ready to serve requests');
      return;
    }
    // The request's logger is made when something logs: an answer from the edge often never does.
    let child: Logger | undefined;
    let bindings: Record<string, unknown> | undefined;
    const logger = () => (child ??= options.logger.child(bindings ? { requestId, ...bindings } : { requestId }));
    // The deadline and the cancellation signal are armed when Apollo Server gets the request: an
    // answer from the edge (a cache hit) finishes long before and pays for neither.
    const arrived = performance.now();
    let abort: AbortController | undefined;
    const signal = (): AbortSignal => {
      if (abort) return abort.signal;
      const controller = (abort = new AbortController());
      let deadline: NodeJS.Timeout | undefined;
      if (options.requestDeadlineMs !== undefined) {
        const remaining = Math.max(0, options.requestDeadlineMs - (performance.now() - arrived));
        deadline = setTimeout(() => {
          controller.abort(new EdgeError('DEADLINE_EXCEEDED', 'The request did not complete in time'));
          if (res.headersSent || res.writableEnded) return;
          res.setHeader('x-request-id', requestId);
          if (edgeFirst) setAll(res, extra);
          res.setHeader('connection', 'close');
          logger().warn({ deadlineMs: options.requestDeadlineMs }, 'request deadline passed: answered 504');
          sendError(res, 'DEADLINE_EXCEEDED', `The request did not complete within ${options.requestDeadlineMs} ms`);
        }, remaining);
        deadline.unref();
      }
      // A client that goes away stops the waiting done for it.
      res.once('close', () => {
        if (deadline) clearTimeout(deadline);
        if (!res.writableFinished) controller.abort(new EdgeError('BAD_REQUEST', 'The client closed the connection'));
      });
      return controller.signal;
    };
    const context: Call = { requestId, clientIp, extra, edgeFirst, logger, signal, arrived, clientName: clientNameOf(req), headers: req.headers };
    const handle = (fields?: Record<string, unknown>) => {
      bindings = fields;
      return handleGraphQL(req, res, search, context);
    };
    void (around ? around(req, res, handle) : handle()).catch((error: unknown) => {
      const refused = error instanceof EdgeRefusal || error instanceof EdgeError;
      if (options.didRefuse && refused && httpStatusFor(error.code) < 500) options.didRefuse(error.code, clientIp, context.identity);
      fail(req, res, requestId, logger(), error, edgeFirst ? extra : []);
      if (options.didRespond) {
        const code = refused ? error.code : 'INTERNAL_SERVER_ERROR';
        const body = refused ? errorBody(error.code, error.message, error instanceof EdgeRefusal ? error.extensions : {}) : '';
        options.didRespond(
          {
            requestId,
            headers: req.headers,
            identity: context.identity,
            clientIp,
            operationName: context.request?.operationName ?? null,
            status: httpStatusFor(code),
            bytes: Buffer.byteLength(body),
            durationMs: performance.now() - arrived,
            errorCodes: [code],
            cost: context.request?.cost,
            clientName: context.clientName,
          },
          undefined,
        );
      }
    });
  };

  function setAll(res: ServerResponse, flat: readonly string[]): void {
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i]!;
      const value = flat[i + 1]!;
      const existing = name === 'vary' ? res.getHeader('vary') : undefined;
      res.setHeader(name, existing ? `${String(existing)}, ${value}` : value);
    }
  }

  function fail(req: IncomingMessage, res: ServerResponse, requestId: string, logger: Logger, error: unknown, extra: readonly string[] = []): void {
    if (res.writableEnded) return; // the deadline answered already
    if (!res.headersSent) {
      res.setHeader('x-request-id', requestId);
      if (!res.hasHeader('access-control-allow-origin')) setAll(res, extra);
    }
    if (error instanceof EdgeRefusal) {
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      sendError(res, error.code, error.message, error.extensions);
      return;
    }
    if (error instanceof EdgeError) {
      if (error.code === 'PAYLOAD_TOO_LARGE') {
        // Do not read the rest of an oversized body; close the connection after answering.
        res.setHeader('connection', 'close');
        req.resume();
      }
      sendError(res, error.code, error.message);
      return;
    }
    logger.error({ err: error }, 'request failed in the HTTP edge');
    if (!res.headersSent) sendError(res, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    else res.destroy();
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, route: AdminRoute, logger: Logger): Promise<void> {
    const identity = await options.authenticate?.(req);
    const method = req.method === 'POST' ? 'POST' : 'GET';
    let body: unknown;
    if (method === 'POST') {
      const text = await readBody(req, bodyLimitBytes);
      if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) throw new EdgeError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
      body = parseJson(text);
    }
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const result = await route.handle({ method, query, identity, body, logger });
    res.setHeader('cache-control', 'no-store');
    if (result.contentType) send(res, result.status ?? 200, String(result.body), result.contentType);
    else send(res, result.status ?? 200, JSON.stringify(result.body));
  }

  interface Call {
    requestId: string;
    clientIp: string;
    /** The verified caller, once authentication ran. */
    identity?: Identity;
    /** When the request arrived (performance.now()). */
    arrived: number;
    /** The operation as admitted (its cost, its name once parsed), for didRespond. */
    request?: EdgeCall;
    /** The context Apollo Server ran the request with. */
    context?: TContext;
    extra: string[];
    edgeFirst: boolean;
    logger: () => Logger;
    /** Arms the request's deadline (once) and returns the signal that ends its waiting. */
    signal: () => AbortSignal;
    clientName: string | undefined;
    headers: IncomingHttpHeaders;
  }

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, search: string, call: Call): Promise<void> {
    const method = req.method === 'POST' ? 'POST' : 'GET';
    // Authenticate first: a present but invalid credential refuses the whole request.
    const verifying = options.authenticate?.(req);
    const identity = verifying instanceof Promise ? await verifying : verifying;
    call.identity = identity;
    const started = performance.now();
    if (method === 'GET') {
      const params = new URLSearchParams(search);
      const body = checkedOperation({ query: params.get('query') ?? undefined, operationName: params.get('operationName') ?? undefined, variables: queryParam(params, 'variables'), extensions: queryParam(params, 'extensions') });
      const request = new EdgeCall('GET', undefined, body, req.headers, identity, call.clientIp, call.requestId, call.logger);
      call.request = request;
      if (options.admit) await admitted(request, res, call);
      // A persisted document's text replaces the id the client sent.
      const query = request.replaced ? searchOf(request.body as Record<string, unknown>) : search;
      const answer = await runApollo(req, 'GET', query, undefined, request, call);
      const bytes = await write(req, res, call, answer);
      if (options.didRespond) responded(call, answer.status, bytes, undefined, call.context);
      return;
    }
    const text = await readBody(req, bodyLimitBytes);
    const type = req.headers['content-type'];
    if (type !== 'application/json' && !JSON_TYPE.test(type ?? '')) {
      // Apollo Server answers what it does not take (and its CSRF prevention) with its own 4xx.
      const answer = await runApollo(req, 'POST', search, text, undefined, call);
      const bytes = await write(req, res, call, answer);
      if (options.didRespond) responded(call, answer.status, bytes, undefined, call.context);
      return;
    }
    if (firstNonSpace(text) === '[') {
      const answer = await runBatch(req, parseJson(text), identity, call);
      const bytes = await write(req, res, call, answer);
      if (options.didRespond) responded(call, answer.status, bytes, '(batch)', undefined, []);
      return;
    }
    const request = new EdgeCall('POST', text, undefined, req.headers, identity, call.clientIp, call.requestId, call.logger);
    call.request = request;
    if (options.admit) await admitted(request, res, call);
    if (options.answerAtEdge && request.text !== undefined && request.responseExtensions === undefined) {
      const pending = options.answerAtEdge(request);
      const answer = pending instanceof Promise ? await pending : pending;
      if (answer) {
        if (res.writableEnded) return;
        const head = ['x-request-id', call.requestId, ...call.extra];
        const large = compressAbove !== undefined && answer.body.length >= compressAbove;
        const encoding = large ? chooseEncoding(req.headers['accept-encoding']) : undefined;
        if (encoding === undefined) {
          // The usual hit: every header in one call, the stored bytes as they are.
          for (const part of answer.headers) head.push(part);
          if (large) head.push('vary', 'accept-encoding');
          res.writeHead(answer.status, head);
          res.end(answer.body);
        } else {
          for (let i = 0; i < answer.headers.length; i += 2) {
            if (answer.headers[i] !== 'content-length') head.push(answer.headers[i]!, answer.headers[i + 1]!);
          }
          await write(req, res, call, { status: answer.status, headers: head, body: answer.body, reused: true }, true);
        }
        options.didAnswerAtEdge?.(request, answer, performance.now() - started);
        if (options.didRespond) responded(call, answer.status, answer.body.length, answer.operationName, undefined, []);
        return;
      }
    }
    const answer = await runApollo(req, 'POST', search, request.body, request, call);
    const bytes = await write(req, res, call, answer);
    if (options.didRespond) responded(call, answer.status, bytes, undefined, call.context);
  }

  /** Runs the admission hooks (they refuse by throwing), then adds the headers they asked for to the answer. */
  async function admitted(request: EdgeCall, res?: ServerResponse, call?: Call): Promise<void> {
    const pending = options.admit!(request);
    if (pending instanceof Promise) await pending;
    const added = request.responseHeaders;
    if (added && res && call) {
      if (call.edgeFirst) for (const part of added) call.extra.push(part);
      else setAll(res, added);
    }
  }

  /** A JSON array of operations: each admitted and run on its own, the answers in one array. */
  async function runBatch(req: IncomingMessage, batch: unknown, identity: Identity | undefined, call: Call): Promise<Answer> {
    const items = batch as unknown[];
    if (options.maxBatchOperations === undefined) throw new EdgeError('BAD_REQUEST', 'Batched requests are not accepted; send one operation per request');
    if (items.length === 0) throw new EdgeError('BAD_REQUEST', 'The batch is empty');
    if (items.length > options.maxBatchOperations) {
      throw new EdgeError('BATCH_TOO_LARGE', `The batch has ${items.length} operations; at most ${options.maxBatchOperations} are accepted`);
    }
    const results = await Promise.all(
      items.map(async (item): Promise<string> => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) return errorBody('BAD_REQUEST', 'Each operation of a batch must be a JSON object');
        try {
          checkedOperation(item);
        } catch (error) {
          return refusalResult(error as EdgeError);
        }
        const request = new EdgeCall('POST', undefined, item, req.headers, identity, call.clientIp, call.requestId, call.logger);
        try {
          if (options.admit) await admitted(request);
        } catch (error) {
          if (error instanceof EdgeRefusal || error instanceof EdgeError) return refusalResult(error);
          throw error;
        }
        const answer = await runApollo(req, 'POST', '', request.body, request, call, true);
        return String(answer.body).trimEnd();
      }),
    );
    return { status: 200, headers: ['content-type', 'application/json; charset=utf-8', 'cache-control', 'no-store'], body: `[${results.join(',')}]` };
  }

  async function runApollo(
    req: IncomingMessage,
    method: 'GET' | 'POST',
    search: string,
    body: unknown,
    request: EdgeCall | undefined,
    call: Call,
    inBatch = false,
  ): Promise<Answer> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    // An item of a batch is answered whole, never as an incremental stream.
    if (inBatch) headers.set('accept', 'application/json');
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search, body },
      context: async () => {
        const context = await options.context(req, {
          requestId: call.requestId,
          logger: call.logger(),
          identity: request?.identity,
          clientIp: call.clientIp,
          signal: call.signal(),
          responseExtensions: request?.responseExtensions,
        });
        if (!inBatch) call.context = context;
        return context;
      },
    });
    const flat: string[] = [];
    for (const [name, value] of response.headers) flat.push(name, value);
    if (response.body.kind === 'complete') return { status: response.status ?? 200, headers: flat, body: response.body.string };
    // Incremental delivery streams as Apollo Server writes it (never compressed; never in a batch).
    return { status: response.status ?? 200, headers: flat, body: response.body.asyncIterator };
  }

  /**
   * Writes an answer, compressed when the client accepts it and it is large enough. `complete`:
   * its headers already hold the request id and the request's extra headers.
   */
  async function write(req: IncomingMessage, res: ServerResponse, call: Call, answer: Answer, complete = false): Promise<number> {
    if (res.writableEnded) return 0; // the deadline answered already
    const headers = complete ? answer.headers : [...answer.headers];
    if (!complete && call.edgeFirst) headers.unshift('x-request-id', call.requestId, ...call.extra);
    if (typeof answer.body !== 'string' && !Buffer.isBuffer(answer.body)) {
      res.statusCode = answer.status;
      setAll(res, headers);
      let streamed = 0;
      for await (const chunk of answer.body) {
        streamed += Buffer.byteLength(chunk);
        res.write(chunk);
      }
      res.end();
      return streamed;
    }
    let body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
    if (compressAbove !== undefined && body.length >= compressAbove) {
      headers.push('vary', 'accept-encoding');
      const encoding = chooseEncoding(req.headers['accept-encoding']);
      if (encoding) {
        body = await compress(body, encoding, answer.reused === true);
        headers.push('content-encoding', encoding);
      }
    }
    if (res.writableEnded) return 0;
    headers.push('content-length', String(body.length));
    if (!complete && !call.edgeFirst) {
      // Headers set before (request id, CORS) stay; these are added.
      res.statusCode = answer.status;
      setAll(res, headers);
      res.end(body);
      return body.length;
    }
    res.writeHead(answer.status, headers);
    res.end(body);
    return body.length;
  }

  /** Tells didRespond how a request was answered. */
  function responded(call: Call, status: number, bytes: number, operationName?: string | null, context?: TContext, errorCodes?: readonly string[]): void {
    options.didRespond!(
      {
        requestId: call.requestId,
        headers: call.headers,
        identity: call.identity,
        clientIp: call.clientIp,
        operationName: operationName ?? call.request?.operationName ?? null,
        status,
        bytes,
        durationMs: performance.now() - call.arrived,
        ...(errorCodes ? { errorCodes } : {}),
        cost: call.request?.cost,
        clientName: call.clientName,
      },
      context,
    );
  }
}

function firstNonSpace(text: string): string {
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') return char;
  }
  return '';
}

/** The query string of a GET whose operation an admission hook replaced. */
function searchOf(body: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined || value === null) continue;
    params.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return `?${params.toString()}`;
}
