import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError, Kind, parse, type SelectionSetNode } from 'graphql';
import type { GatewayContext } from './context.js';
import { frontdeskError } from './errors.js';
import type { Logger } from './logger.js';
import type { SubgraphHooks } from './plugin.js';
import type { SubgraphInstances } from './instances.js';
import { FetchRefused, ResponseTooLarge, SubgraphHeaders, type FetchBounds, type SubgraphReply, type SubgraphTransport } from './subgraph-transport.js';

/** Waits for `pending` unless `signal` aborts first (then rejects with an AbortError). */
function abortable<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(Object.assign(new Error('the client request ended'), { name: 'AbortError' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(Object.assign(new Error('the client request ended'), { name: 'AbortError' }));
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

type GatewayResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** At most this many errors stand for one failed fetch (one per field it would have answered). */
const MAX_FETCH_ERROR_PATHS = 100;

/** Response keys of the fields a selection set asks at its level (inline fragments of `typename` included). */
function responseKeys(selectionSet: SelectionSetNode, typename?: string): string[] {
  const keys: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') keys.push(selection.alias?.value ?? selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT && (!selection.typeCondition || typename === undefined || selection.typeCondition.name.value === typename)) {
      keys.push(...responseKeys(selection.selectionSet, typename));
    }
  }
  return keys;
}

/**
 * The paths, in the subgraph's answer, of the fields a fetch asked: its root fields, or for an
 * entity fetch each representation's fields (`_entities.<i>.<field>`, which the gateway maps onto
 * the client's response). Undefined when the text does not parse.
 */
export function fetchFieldPaths(query: string, variables: Record<string, unknown> | undefined): (string | number)[][] | undefined {
  let document;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return undefined;
  }
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) return undefined;
  const paths: (string | number)[][] = [];
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) continue;
    const key = selection.alias?.value ?? selection.name.value;
    if (selection.name.value === '_entities' && selection.selectionSet) {
      const representations = Array.isArray(variables?.representations) ? (variables.representations as { __typename?: unknown }[]) : [];
      for (let i = 0; i < representations.length && paths.length < MAX_FETCH_ERROR_PATHS; i += 1) {
        const typename = typeof representations[i]?.__typename === 'string' ? (representations[i]!.__typename as string) : undefined;
        for (const field of responseKeys(selection.selectionSet, typename)) paths.push([key, i, field]);
      }
    } else if (selection.name.value !== '__typename') paths.push([key]);
  }
  return paths.slice(0, MAX_FETCH_ERROR_PATHS);
}

/** Headers that do not change what a subgraph answers, left out of the deduplication key. */
const NOT_IN_KEY = new Set(['x-request-id', 'traceparent', 'tracestate']);

/**
 * Set on `process`'s options by a caller that only reads the answer (Frontdesk's executor): the
 * waiters of one shared fetch then get one parsed answer between them. Apollo's executor merges
 * into what it is given, so without the mark each waiter parses its own copy.
 */
export const READS_ONLY = Symbol('frontdesk.readsOnly');
/** The one parse of a reply, shared by the read-only waiters. */
const parsedReplies = new WeakMap<SubgraphReply, unknown>();

function parseReply(reply: SubgraphReply, share: boolean): unknown {
  if (share && parsedReplies.has(reply)) return parsedReplies.get(reply);
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.text);
  } catch {
    parsed = undefined;
  }
  if (share) parsedReplies.set(reply, parsed);
  return parsed;
}
const MUTATION = /^\s*mutation\b/;

/**
 * The one data source for every subgraph. It knows no feature by name: it forwards the request
 * id and the configured client headers, runs the plugins' subgraph hooks in order, sends the
 * fetch over the shared keep-alive transport, and turns transport failures into coded errors that
 * name the subgraph but never its host, status line or body. Identical query fetches in flight at
 * the same time (same subgraph, body and headers but the request id, from one client request or
 * several) share one HTTP request; mutations never do.
 */
export class FrontdeskDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly inFlight = new Map<string, Promise<SubgraphReply>>();
  private readonly wrappers: readonly SubgraphHooks[];
  private readonly senders: readonly SubgraphHooks[];
  private readonly nextInstance = (): string | undefined => this.instances.next();

  constructor(
    readonly subgraph: string,
    readonly url: string,
    /** Where the fetches go: the instances' URLs (one: `url`), balanced by a fetch wrapper or in turn. */
    private readonly instances: SubgraphInstances,
    private readonly hooks: readonly SubgraphHooks[],
    private readonly logger: Logger,
    private readonly transport: SubgraphTransport,
    private readonly propagate: readonly string[] = [],
    private readonly dedupe = true,
    /** This subgraph's timeouts and response bound; undefined: the transport's defaults. */
    private readonly bounds?: FetchBounds,
  ) {
    this.wrappers = hooks.filter((hook) => hook.wrapFetch);
    this.senders = hooks.filter((hook) => hook.willSendSubgraphRequest);
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayResponse> {
    const { request } = options;
    const headers = new SubgraphHeaders();
    for (const [name, value] of request.http?.headers ?? []) headers.append(name, value);
    headers.set('content-type', 'application/json');
    request.http = { method: 'POST', url: this.url, headers };
    const incoming = options.kind === ('incoming operation' as typeof options.kind) ? (options as Extract<typeof options, { incomingRequestContext: unknown }>) : undefined;
    const context = incoming?.context;
    if (context?.requestId) {
      headers.set('x-request-id', context.requestId);
      for (const name of this.propagate) {
        const value = context.headers[name];
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
    }
    const planned = request.query;
    if (this.senders.length > 0) {
      const sending = { ...options, subgraph: this.subgraph };
      for (const hook of this.senders) {
        const pending = hook.willSendSubgraphRequest!(sending);
        if (pending) await pending;
      }
    }
    if (!request.query || !planned) throw new Error('Missing query');
    const query = !MUTATION.test(planned);
    const share = (options as { [READS_ONLY]?: boolean })[READS_ONLY] === true;
    let reply: Awaited<ReturnType<FrontdeskDataSource['fetch']>>;
    try {
      reply = await this.fetch(request, headers, query, context, share);
    } catch (error) {
      const answer = context ? this.failedFetch(error, request, context) : undefined;
      if (answer) return answer;
      throw error;
    }
    if (!context) return reply.response;
    let resend = false;
    for (const hook of this.hooks) {
      if (hook.didReceiveSubgraphResponse?.({ subgraph: this.subgraph, context, headers: reply.headers, request, body: reply.response, resent: false }) === 'resend-as-planned') resend = true;
    }
    if (resend && query && request.query !== planned) {
      request.query = planned;
      reply = await this.fetch(request, headers, query, context, share);
      for (const hook of this.hooks) hook.didReceiveSubgraphResponse?.({ subgraph: this.subgraph, context, headers: reply.headers, request, body: reply.response, resent: true });
    }
    return reply.response;
  }

  /**
   * A fetch that failed as a whole (unreachable, timed out, circuit open) answers as the subgraph
   * would have: no data, and the coded error at the path of each field it was asked, so the client
   * sees which fields are null and why. Undefined for anything but the data source's own errors.
   */
  private failedFetch(error: unknown, request: GraphQLDataSourceProcessOptions<GatewayContext>['request'], context: GatewayContext): GatewayResponse | undefined {
    // The client is gone or its deadline answered it: nobody reads these errors, so none are made per field.
    if (context.signal?.aborted) return undefined;
    if (!(error instanceof GraphQLError) || typeof error.extensions.code !== 'string' || error.extensions.subgraph !== this.subgraph) return undefined;
    const paths = request.query ? fetchFieldPaths(request.query, request.variables) : undefined;
    if (!paths || paths.length === 0) return undefined;
    return { data: null, errors: paths.map((path) => ({ message: error.message, path, extensions: error.extensions })) } as unknown as GatewayResponse;
  }

  /** Sends the request as it is now and reads its answer (a JSON object, or a coded error). */
  private async fetch(
    request: GraphQLDataSourceProcessOptions<GatewayContext>['request'],
    headers: SubgraphHeaders,
    query: boolean,
    context: GatewayContext | undefined,
    share: boolean,
  ): Promise<{ response: GatewayResponse; headers: SubgraphReply['headers'] }> {
    const { http: _http, ...payload } = request;
    const body = JSON.stringify(payload);
    const reply = await this.send(headers, body, query, context);
    const parsed = parseReply(reply, share);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw this.failed(new Error('the subgraph answered something that is not a JSON object'), reply, context);
    }
    const response = { ...(parsed as GatewayResponse), http: { headers: reply.headers, status: reply.status } as unknown as GatewayResponse['http'] };
    return { response, headers: reply.headers };
  }

  /** The HTTP exchange, inside the plugins' fetch wrappers (the first registered outermost). */
  private async exchange(headers: SubgraphHeaders, body: string, query: boolean): Promise<SubgraphReply> {
    const discovering = this.instances.ready();
    if (discovering) await discovering;
    const post = (url?: string): Promise<SubgraphReply> => {
      const target = url ?? this.instances.next();
      if (target === undefined) return Promise.reject(new FetchRefused('UPSTREAM_UNAVAILABLE', `Subgraph "${this.subgraph}" has no instance`));
      return this.transport.post(target, headers, body, this.bounds);
    };
    if (this.wrappers.length === 0) return post();
    const fetch = { subgraph: this.subgraph, url: this.url, instances: this.instances.current(), query, next: this.nextInstance };
    let send: (url?: string) => Promise<SubgraphReply> = post;
    for (let i = this.wrappers.length - 1; i >= 0; i -= 1) {
      const wrap = this.wrappers[i]!;
      const inner = send;
      // An outer wrapper's choice of instance reaches the transport through the inner ones.
      send = (url?: string) => wrap.wrapFetch!((chosen?: string) => inner(chosen ?? url), fetch, url);
    }
    return send();
  }

  private async send(headers: SubgraphHeaders, body: string, query: boolean, context: GatewayContext | undefined): Promise<SubgraphReply> {
    let key: string | undefined;
    let pending: Promise<SubgraphReply> | undefined;
    if (query && this.dedupe) {
      key = body;
      for (const [name, value] of headers) if (!NOT_IN_KEY.has(name)) key += `\u0000${name}\u0000${value}`;
      pending = this.inFlight.get(key);
    }
    if (!pending) {
      const sent = this.exchange(headers, body, query);
      pending = sent;
      if (key !== undefined) {
        const shared = key;
        this.inFlight.set(shared, sent);
        const forget = () => {
          if (this.inFlight.get(shared) === sent) this.inFlight.delete(shared);
        };
        sent.then(forget, forget);
      }
    }
    // Each waiter maps a failure to its own error (errors are per client request). A client request
    // past its deadline stops waiting; the fetch, maybe shared, ends by its own deadline.
    let reply: SubgraphReply;
    try {
      reply = await (context?.signal ? abortable(pending, context.signal) : pending);
    } catch (error) {
      throw this.failed(error as Error, undefined, context);
    }
    if (reply.status < 200 || reply.status >= 300) throw this.failed(new Error(`HTTP ${reply.status}`), reply, context);
    return reply;
  }

  private failed(error: Error, reply: SubgraphReply | undefined, context: GatewayContext | undefined): GraphQLError {
    const mapped = this.classify(error, reply?.status);
    (context?.logger ?? this.logger).warn(
      { subgraph: this.subgraph, status: reply?.status, code: mapped.extensions.code, err: error.message },
      'subgraph request failed',
    );
    return mapped;
  }

  private classify(error: Error, status: number | undefined): GraphQLError {
    const name = this.subgraph;
    if (error instanceof FetchRefused) return frontdeskError(error.code, error.message, { subgraph: name });
    if (error instanceof ResponseTooLarge) {
      return frontdeskError('BAD_UPSTREAM_RESPONSE', `Subgraph "${name}" answered more than ${error.limit} bytes`, { subgraph: name });
    }
    if (status === undefined) {
      const code = (error as { code?: string }).code ?? (error as { errno?: string }).errno;
      if (code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || error.name === 'AbortError' || error.name === 'TimeoutError') {
        return frontdeskError('UPSTREAM_TIMEOUT', `Subgraph "${name}" did not answer in time`, { subgraph: name });
      }
      return frontdeskError('UPSTREAM_UNAVAILABLE', `Subgraph "${name}" is unavailable`, { subgraph: name });
    }
    if (status === 401) return frontdeskError('UNAUTHENTICATED', `Subgraph "${name}" refused the credentials`, { subgraph: name });
    if (status === 403) return frontdeskError('FORBIDDEN', `Subgraph "${name}" refused access`, { subgraph: name });
    if (status === 502 || status === 503 || status === 504) {
      return frontdeskError('UPSTREAM_UNAVAILABLE', `Subgraph "${name}" is unavailable (HTTP ${status})`, { subgraph: name });
    }
    if (status >= 200 && status < 300) {
      return frontdeskError('BAD_UPSTREAM_RESPONSE', `Subgraph "${name}" sent a response that is not GraphQL JSON`, { subgraph: name });
    }
    return frontdeskError('UPSTREAM_ERROR', `Subgraph "${name}" failed (HTTP ${status})`, { subgraph: name });
  }
}
