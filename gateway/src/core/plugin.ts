import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext, Identity } from './context.js';
import type { FrontdeskConfig } from './config.js';
import type { ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import type { LoadedSupergraph } from './supergraph.js';
import type { RedisConnection, SharedRedis } from './redis.js';
import type { SubgraphReply } from './subgraph-transport.js';
import type { Registry } from 'prom-client';

export type { SubgraphReply };

/** What a plugin is given when it is created: shared services, never the environment. */
export interface PluginContext {
  logger: Logger;
  production: boolean;
  /** The supergraph in service (changes on hot reload). */
  supergraph(): LoadedSupergraph;
  /** The shared Redis connection (`redis`), connected on first use; undefined without Redis. */
  redis?: SharedRedis;
  /** `redis`, for features that open a connection of their own (the cache store, with its own deadline). */
  redisConnection?: RedisConnection;
  /**
   * The Prometheus registry served on /metrics when the metrics feature is on: a feature registers
   * its own metrics here (cache results, breaker states, refusals); undefined when metrics are off.
   */
  metrics?: Registry;
}

/** The subgraph request the core's data source is about to send (see DESIGN.md). */
export type SubgraphRequestOptions = GraphQLDataSourceProcessOptions<GatewayContext> & { subgraph: string };

/** A subgraph's answer as the core's data source received it (HTTP 2xx with a GraphQL body). */
export interface SubgraphResponseInfo {
  subgraph: string;
  context: GatewayContext;
  /** The subgraph's response headers (e.g. its Cache-Control). */
  headers: { get(name: string): string | null };
  /** The request as sent: the object the willSendSubgraphRequest hooks saw. */
  request: SubgraphRequestOptions['request'];
  /** The parsed body, before the gateway reads it: a hook may replace `errors` to drop those its own additions caused. */
  body: { data?: unknown; errors?: readonly { path?: readonly (string | number)[] }[] };
  /** This answer is to the fetch sent again exactly as the planner wrote it (see SubgraphHooks). */
  resent: boolean;
}

/**
 * Hooks around each subgraph fetch, called by the core data source in registration order. A hook
 * may add selections to `request.query` (never changing what the planner asked for); when their
 * answer is unusable, didReceiveSubgraphResponse returns 'resend-as-planned' and the data source
 * sends a query fetch once more with the planner's own text (never a mutation).
 */
export interface SubgraphHooks {
  willSendSubgraphRequest?(options: SubgraphRequestOptions): void | Promise<void>;
  /**
   * Wraps the HTTP exchange of one fetch (below the sharing of identical fetches: a shared fetch
   * is wrapped once): load balancing, retries, breakers, bulkheads. `send(url)` sends to one of
   * `fetch.instances` (without a URL: the next one in turn). `send` may be called again for a
   * query, never for a mutation unless the first call failed to connect. Wrappers nest in
   * registration order, the first outermost; `instance` is the URL an outer wrapper chose for this
   * call (undefined when none did).
   */
  wrapFetch?(send: (url?: string) => Promise<SubgraphReply>, fetch: FetchInfo, instance?: string): Promise<SubgraphReply>;
  didReceiveSubgraphResponse?(info: SubgraphResponseInfo): void | 'resend-as-planned';
}

/** The fetch a wrapFetch hook wraps. */
export interface FetchInfo {
  subgraph: string;
  /** The subgraph's routing URL (its first instance). */
  url: string;
  /** Its instance URLs now (configured or discovered); the same array while the list is unchanged. */
  instances: readonly string[];
  /** A query: may be sent again; a mutation never is. */
  query: boolean;
  /** The instance the core takes next when no wrapper chooses (in turn). */
  next(): string | undefined;
}

/** A request to an operator route of a plugin, after the edge authenticated it and parsed its JSON body. */
export interface AdminRequest {
  method: 'GET' | 'POST';
  /** The query string's parameters. */
  query: URLSearchParams;
  /** The verified caller; undefined when the request carried no credential. */
  identity?: Identity;
  body: unknown;
  logger: Logger;
}

/** An operator route (e.g. purging the cache): the route checks what the identity may do and throws EdgeRefusal to refuse. */
export interface AdminRoute {
  methods: readonly ('GET' | 'POST')[];
  /** Answers JSON, or with `contentType` a body sent as it is (a CSV export). */
  handle(request: AdminRequest): Promise<{ status?: number; body: unknown; contentType?: string }>;
}

/** Refuses a request at the edge with a code from the error list (and its HTTP status). */
export class EdgeRefusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra extensions of the error beside its code (e.g. the limit exceeded). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * One GraphQL operation as the edge read it (authenticated, body read), before Apollo Server runs:
 * a JSON POST, one operation of a batched POST, or a GET.
 */
export interface EdgeRequest {
  method: 'GET' | 'POST';
  /**
   * The JSON text of this operation exactly as received (a POST of one operation), a key for
   * what depends only on it; undefined for a GET, an item of a batch, or once `replaceBody` ran.
   */
  readonly text: string | undefined;
  /** The operation (`query`, `operationName`, `variables`, `extensions`), parsed on first read; a malformed body throws 400 BAD_REQUEST. */
  readonly body: unknown;
  /** Replaces the operation Apollo Server will run (a persisted document's text for its id). */
  replaceBody(body: Record<string, unknown>): void;
  headers: IncomingHttpHeaders;
  identity?: Identity;
  /** The client's address: the peer, or what trusted proxies forwarded (server.trustedProxies). */
  clientIp: string;
  requestId: string;
  logger: Logger;
  /** Extensions added to this operation's response (the estimated cost); set by admission hooks. */
  responseExtensions?: Record<string, unknown>;
  /** The operation's estimated cost, set by the operation limits (what rate limits weigh it by). */
  cost?: number;
  /** Response headers an admission hook adds to the answer (the remaining rate limit), name, value, ... */
  responseHeaders?: string[];
}

/** A complete answer written by the edge itself. */
export interface EdgeAnswer {
  status: number;
  /**
   * Response headers as name, value, name, value... (lower-case names, content-length included),
   * written in one go with the request id: a flat list is Node's fastest way to write headers.
   */
  headers: readonly string[];
  body: Buffer;
  /** The operation answered, for observers (the access log). */
  operationName: string | null;
  /** What the answering plugin tells observers (the access log), e.g. the response cache's `{ cache: 'HIT' }`. */
  observed: Readonly<Record<string, string>>;
}

/** One GraphQL HTTP request as it was answered: by Apollo Server, at the edge, or refused. */
export interface ResponseRecord {
  requestId: string;
  /** The client request's headers (the same object as the GraphQL context's). */
  headers: IncomingHttpHeaders;
  identity: Identity | undefined;
  clientIp: string;
  /** The operation's name; `(batch)` for a batch, null when it had none. */
  operationName: string | null;
  status: number;
  /** Bytes of the response body as sent. */
  bytes: number;
  durationMs: number;
  /** Codes of the errors in the answer. */
  errorCodes: readonly string[];
  /** The operation's estimated cost, when the operation limits measured it. */
  cost: number | undefined;
  /** The client application's name (`apollographql-client-name`), when it sent one. */
  clientName: string | undefined;
}

/** One gateway feature: Apollo Server hooks, subgraph fetch hooks, edge hooks. */
export interface FrontdeskPlugin {
  name: string;
  apollo?: ApolloServerPlugin<GatewayContext>;
  subgraph?: SubgraphHooks;
  /**
   * Verifies the caller before any GraphQL work: an identity, undefined for anonymous, or an
   * EdgeRefusal (401 for a present but invalid credential). At most one plugin authenticates.
   * Answers without a promise when it needs to wait for nothing (a credential verified before).
   */
  authenticate?(req: IncomingMessage): Identity | undefined | Promise<Identity | undefined>;
  /**
   * Checks a supergraph about to replace the one in service (hot reload); throwing rejects it,
   * and the last good supergraph keeps serving.
   */
  validateSupergraph?(loaded: LoadedSupergraph): void;
  /** Extra GET routes served by the edge (e.g. /.well-known/jwks.json). */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Authenticated JSON routes for operators, by exact path. */
  adminRoutes?: Record<string, AdminRoute>;
  /**
   * Admits one operation before the response cache, planning and any subgraph call (persisted
   * documents, operation limits, later rate limits), in plugin order; throws EdgeRefusal to refuse
   * it. Each operation of a batch is admitted on its own. Returns without a promise when it needs
   * to wait for nothing.
   */
  admit?(request: EdgeRequest): void | Promise<void>;
  /**
   * Answers a GraphQL POST at the edge, without Apollo Server, or undefined to let it through
   * (the response cache's repeat hits). Runs after authentication; at most one plugin answers.
   * Answers without a promise when it needs to wait for nothing.
   */
  answerAtEdge?(request: EdgeRequest): EdgeAnswer | undefined | Promise<EdgeAnswer | undefined>;
  /** Sees every request answered at the edge (the access log). */
  didAnswerAtEdge?(request: EdgeRequest, answer: EdgeAnswer, durationMs: number): void;
  /** Refuses a client address before authentication (an abuse block); undefined lets it in. Must not wait. */
  screen?(clientIp: string): EdgeRefusal | undefined;
  /** Told of each request refused at the edge with a 4xx code (bad credentials, limits, rate limits). */
  didRefuse?(refusal: { code: string; clientIp: string; identity: Identity | undefined }): void;
  /** Sees every GraphQL request once it is answered, however it was answered (metering). Must not wait. */
  didRespond?(record: ResponseRecord): void;
  /**
   * The configuration file changed (and validated): a plugin that can take new settings without a
   * restart (rate-limit plans) does so; others keep theirs.
   */
  reconfigure?(config: FrontdeskConfig): void;
  /**
   * Runs the handling of one GraphQL request (an operator route's too) inside `handle`: the
   * tracing plugin makes it the active span's context, and gives the request's log lines its
   * trace id (`handle(bindings)`). At most one plugin wraps requests.
   */
  aroundRequest?(req: IncomingMessage, res: ServerResponse, handle: (bindings?: Record<string, unknown>) => Promise<void>): Promise<void>;
  /** Stops the plugin's timers and connections when the gateway stops. */
  close?(): void | Promise<void>;
}
