import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Identity } from './context.js';
import { errorBody, httpStatusFor, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { EdgeRefusal, type AdminRoute, type EdgeAnswer, type EdgeRequest } from './plugin.js';

/** Readiness as seen by `/ready`: ready once a supergraph is loaded, not ready again while draining. */
export interface EdgeState {
  ready: boolean;
  draining: boolean;
}

export interface EdgeOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  state: EdgeState;
  logger: Logger;
  /** Path of the GraphQL endpoint; `/` serves it too so Sandbox works from the root URL. */
  graphqlPath: string;
  bodyLimitBytes: number;
  /** Builds the per-request GraphQL context. */
  context: (req: IncomingMessage, requestId: string, logger: Logger, identity: Identity | undefined) => TContext | Promise<TContext>;
  /** Verifies the caller before GraphQL runs; throws EdgeRefusal to refuse the request. */
  authenticate?: (req: IncomingMessage) => Identity | undefined | Promise<Identity | undefined>;
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
 * The EdgeRequest of one POST. A class, not an object literal with a `get logger()`: V8 cannot
 * share a hidden class between objects whose accessors are different closures, so the literal
 * made one per request, and at cache-hit rates that kept the garbage collector busy with
 * long-lived garbage (a quarter of the CPU, p99 7 ms instead of 4; decision record 008). The body
 * is parsed when first read: a repeat answered by its exact bytes never needs it.
 */
class EdgeCall implements EdgeRequest {
  private parsed = false;
  private value: unknown;

  constructor(
    readonly text: string,
    readonly headers: IncomingHttpHeaders,
    readonly identity: Identity | undefined,
    readonly requestId: string,
    private readonly makeLogger: () => Logger,
  ) {}

  /** The parsed body; throws the BAD_REQUEST EdgeError of a malformed one. */
  get body(): unknown {
    if (!this.parsed) {
      this.value = parseJson(this.text);
      this.parsed = true;
    }
    return this.value;
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

function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  send(res, httpStatusFor(code), errorBody(code, message));
}

/** Reads the body up to `limit` bytes; rejects with PAYLOAD_TOO_LARGE past it. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
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
      if (!failed) resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EdgeError('BAD_REQUEST', `Malformed JSON body: ${(error as Error).message}`);
  }
}

/**
 * The edge of a Frontdesk HTTP server on node:http: request ids, liveness and readiness, the body
 * limit and JSON parsing, then Apollo Server. Shared by the gateway and the subgraph servers.
 */
export function createEdgeHandler<TContext extends BaseContext>(
  options: EdgeOptions<TContext>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { apollo, state, graphqlPath, bodyLimitBytes } = options;
  const health = JSON.stringify({ status: 'ok', ...options.info });
  const ready = JSON.stringify({ status: 'ready', ...options.info });

  return (req, res) => {
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const search = q === -1 ? '' : url.slice(q);
    // A GraphQL POST may be answered at the edge, which writes every header in one call: set
    // none here (Node merges set and written headers on a slower path). Every other answer of
    // that request sets the request id itself.
    const edgeFirst = req.method === 'POST' && options.answerAtEdge !== undefined && state.ready && (path === graphqlPath || path === '/');
    if (!edgeFirst) res.setHeader('x-request-id', requestId);
    if (state.draining) res.setHeader('connection', 'close');

    if (path === '/health') {
      send(res, 200, health);
      return;
    }
    if (path === '/ready') {
      if (state.ready && !state.draining) send(res, 200, ready);
      else send(res, 503, JSON.stringify({ status: state.draining ? 'draining' : 'starting', ...options.info }));
      return;
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
      const logger = options.logger.child({ requestId });
      void handleAdmin(req, res, admin, logger).catch((error: unknown) => fail(req, res, requestId, logger, error));
      return;
    }
    if (path !== graphqlPath && path !== '/') {
      sendError(res, 'NOT_FOUND', `No route for ${req.method ?? 'GET'} ${path}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      sendError(res, 'METHOD_NOT_ALLOWED', `${req.method ?? 'This method'} is not supported; use GET or POST`);
      return;
    }
    if (!state.ready) {
      sendError(res, 'NOT_READY', 'The server is not ready to serve requests');
      return;
    }
    // The request's logger is made when something logs: an answer from the edge often never does.
    let child: Logger | undefined;
    const logger = () => (child ??= options.logger.child({ requestId }));
    void handleGraphQL(req, res, requestId, search, logger).catch((error: unknown) => fail(req, res, requestId, logger(), error));
  };

  function fail(req: IncomingMessage, res: ServerResponse, requestId: string, logger: Logger, error: unknown): void {
    if (!res.headersSent) res.setHeader('x-request-id', requestId);
    if (error instanceof EdgeRefusal) {
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      sendError(res, error.code, error.message);
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
    const result = await route.handle({ method, identity, body, logger });
    res.setHeader('cache-control', 'no-store');
    send(res, result.status ?? 200, JSON.stringify(result.body));
  }

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    search: string,
    logger: () => Logger,
  ): Promise<void> {
    const method = req.method === 'POST' ? 'POST' : 'GET';
    // Authenticate first: a present but invalid credential refuses the whole request.
    const verifying = options.authenticate?.(req);
    const identity = verifying instanceof Promise ? await verifying : verifying;
    let body: unknown;
    if (method === 'POST') {
      const started = performance.now();
      const text = await readBody(req, bodyLimitBytes);
      const contentType = req.headers['content-type'] ?? '';
      const json = JSON_TYPE.test(contentType);
      if (!json) body = text;
      else if (!options.answerAtEdge) body = parseJson(text);
      else {
        const request = new EdgeCall(text, req.headers, identity, requestId, logger);
        const pending = options.answerAtEdge(request);
        const answer = pending instanceof Promise ? await pending : pending;
        if (answer) {
          if (state.draining) res.setHeader('connection', 'close');
          const head = ['x-request-id', requestId];
          for (const part of answer.headers) head.push(part);
          res.writeHead(answer.status, head);
          res.end(answer.body);
          options.didAnswerAtEdge?.(request, answer, performance.now() - started);
          return;
        }
        body = request.body;
      }
    }
    res.setHeader('x-request-id', requestId);
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search, body },
      context: async () => options.context(req, requestId, logger(), identity),
    });
    res.statusCode = response.status ?? 200;
    for (const [name, value] of response.headers) res.setHeader(name, value);
    // A request that began before shutdown still gets its answer, on a connection that then closes.
    if (state.draining) res.setHeader('connection', 'close');
    if (response.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(response.body.string));
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
}
