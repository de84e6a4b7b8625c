import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { installExecutor, type PlanRuns } from './executor/index.js';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createPlugins } from '../plugins/index.js';
import { normalizeSubgraphName, type FrontdeskConfig } from './config.js';
import type { GatewayContext, Identity } from './context.js';
import { FrontdeskDataSource } from './data-source.js';
import { SubgraphInstances } from './instances.js';
import { watchFile } from './supergraph.js';
import { createSubgraphTransport } from './subgraph-transport.js';
import { ERROR_CODES, withoutSuggestions } from './errors.js';
import { createEdgeHandler, type EdgeState } from './http.js';
import { AddressPolicy } from './edge/addresses.js';
import { Cors } from './edge/cors.js';
import { TlsFiles } from './edge/tls.js';
import { createLogger, endLogger, type Logger } from './logger.js';
import { createSharedRedis, redisConfigured } from './redis.js';
import { EdgeRefusal, type AdminRoute, type EdgeRequest, type ResponseRecord, type SubgraphHooks } from './plugin.js';
import { keepLastGood, readSupergraphOrLastGood, watchSupergraph, type LoadedSupergraph } from './supergraph.js';

export interface RunningGateway {
  server: Server;
  /** Base URL of the GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  port: number;
  logger: Logger;
  /** True once a supergraph is loaded, false again while shutting down. */
  isReady(): boolean;
  /** The supergraph currently in service. */
  supergraph(): LoadedSupergraph;
  /** Graceful shutdown: not ready, refuse new connections, drain in-flight requests, stop. */
  stop(): Promise<void>;
  /** Query plans run so far by each executor (graphql.executor; Apollo's takes what Frontdesk's does not run). */
  planRuns: Readonly<PlanRuns>;
}

/** The edge's check when no plugin authenticates: an `x-api-key` is refused (401), not ignored. */
function refuseApiKey(req: IncomingMessage): undefined {
  if (req.headers['x-api-key'] !== undefined) throw new EdgeRefusal('UNAUTHENTICATED', 'API keys are not accepted by this gateway');
  return undefined;
}

/** Codes that may reach a client with their message; anything else is masked in production. */
const PUBLIC_CODES = new Set<string>(
  [...Object.keys(ERROR_CODES), 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED'].filter(
    (code) => code !== 'INTERNAL_SERVER_ERROR',
  ),
);

function formatErrorFor(production: boolean, logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // Never forward what RemoteGraphQLDataSource attaches about the upstream (its URL and body).
    const { response: _response, stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
    // Apollo Server answers a mutation over GET with 405 but code BAD_REQUEST: keep one list.
    const httpStatus = (error as { extensions?: { http?: { status?: number } } })?.extensions?.http?.status;
    if (extensions.code === 'BAD_REQUEST' && httpStatus === 405) extensions.code = 'METHOD_NOT_ALLOWED';
    const code = String(extensions.code ?? 'INTERNAL_SERVER_ERROR');
    if (production && code === 'GRAPHQL_VALIDATION_FAILED') return { ...formatted, message: withoutSuggestions(formatted.message), extensions };
    if (PUBLIC_CODES.has(code)) return { ...formatted, extensions };
    // Only unexpected errors keep a stack trace, and only for developers.
    if (!production) return { ...formatted, extensions: stacktrace ? { ...extensions, stacktrace } : extensions };
    logger.error({ err: error, code }, 'masked an internal error');
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR', ...(extensions.serviceName ? { serviceName: extensions.serviceName } : {}) },
    };
  };
}

/**
 * A client naming an operation its document lacks (or sending several and no name) made a
 * mistake: 400 with Apollo Server's own code, before any feature or the gateway's executor (which
 * would throw it as a 500 with a stack trace).
 */
const operationResolution: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, request }) {
        if (operation) return;
        const message = request.operationName ? `Unknown operation named "${request.operationName}".` : 'Must provide operation name if query contains multiple operations.';
        throw new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
      },
    };
  },
};

/** Adds what the admission hooks asked for (the estimated cost) to the response's extensions. */
const responseExtensions: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart({ contextValue }) {
    if (!contextValue.responseExtensions) return;
    const added = contextValue.responseExtensions;
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, ...added };
      },
    };
  },
};

/** Notes what an answer held (its operation name, the codes of its errors, once each) for the didRespond observers. */
const noteOutcome: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, response, errors, operationName, request, document }) {
        const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
        const all = errors ?? body?.errors ?? [];
        if (!contextValue.outcome) return;
        // A document that did not validate has no resolved operation: its one operation's name, if any.
        const named = document?.definitions.filter((d) => d.kind === 'OperationDefinition');
        contextValue.outcome.operationName = operationName ?? request.operationName ?? (named?.length === 1 && named[0]!.kind === 'OperationDefinition' ? (named[0]!.name?.value ?? null) : null);
        contextValue.outcome.errorCodes = [...new Set(all.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))];
      },
    };
  },
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** GET /admin/log-level tells the level; POST {"level": "debug"} changes it for the whole gateway until the next start (role admin). */
function logLevelRoute(loggers: readonly Logger[]): AdminRoute {
  return {
    methods: ['GET', 'POST'],
    async handle({ method, identity, body, logger }) {
      if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'The log level route needs credentials', { 'www-authenticate': 'Bearer' });
      if (!identity.roles.includes('admin')) throw new EdgeRefusal('FORBIDDEN', 'The log level route needs role admin');
      if (method === 'GET') return { body: { level: loggers[0]!.level } };
      const level = (body as { level?: unknown } | null)?.level;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length !== 1 || typeof level !== 'string' || !LEVELS.includes(level)) {
        throw new EdgeRefusal('BAD_USER_INPUT', `Send {"level": "<one of ${LEVELS.join(', ')}>"}`);
      }
      const previous = loggers[0]!.level;
      for (const each of loggers) each.level = level;
      // Said at warn so it is seen whatever the new level (unless silent).
      logger.warn({ previous, level, by: `${identity.kind}:${identity.id}` }, 'log level changed');
      return { body: { level, previous } };
    },
  };
}

/**
 * Builds and starts the gateway: @apollo/gateway on the supergraph file (hot-reloaded), Apollo
 * Server behind Frontdesk's node:http edge, the configured plugins. Resolves once it serves queries.
 */
export async function createGateway(
  config: FrontdeskConfig,
  options: { logger?: Logger } = {},
): Promise<RunningGateway> {
  // @apollo/gateway phones home unless this is set before it is constructed.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  // A worker of a cluster (server.workers) says which one it is on every line.
  const logger = options.logger ?? createLogger(config.logging.level, cluster.isWorker ? { worker: cluster.worker!.id } : {}, { async: true, collapseRepeatsMs: config.logging.collapseRepeatsMs });
  const production = config.production;

  const start = readSupergraphOrLastGood(config.supergraph.path, config.supergraph.keepLastGood);
  let current = start.loaded;
  /** What is degraded, for /health and /ready (a supergraph served from its last good copy). */
  const degraded = new Map<string, string>();
  if (start.degraded) {
    degraded.set('supergraph', start.degraded);
    logger.error({ path: config.supergraph.path }, `supergraph invalid at start-up: ${start.degraded}`);
  } else if (config.supergraph.keepLastGood) keepLastGood(config.supergraph.path, current, logger);
  const known = new Set(current.subgraphs.map((s) => normalizeSubgraphName(s.name)));
  for (const name of Object.keys(config.subgraphs)) {
    if (!known.has(normalizeSubgraphName(name))) {
      logger.warn({ subgraph: name }, 'config names a subgraph that is not in the supergraph');
    }
  }
  /** Per-subgraph settings; their instance lists are hot reloaded (the rest applies at start). */
  let subgraphSettings = config.subgraphs;
  const settingsOf = (name: string) => {
    const wanted = normalizeSubgraphName(name);
    return Object.entries(subgraphSettings).find(([key]) => normalizeSubgraphName(key) === wanted)?.[1];
  };
  /** The instances of each subgraph by normalised name, and the routing URL the supergraph gives it. */
  const instances = new Map<string, { instances: SubgraphInstances; routingUrl: string | undefined }>();
  const configureInstances = (name: string): void => {
    const entry = instances.get(normalizeSubgraphName(name))!;
    const own = settingsOf(name);
    if (own?.discovery) entry.instances.configure({ discovery: own.discovery });
    else if (own?.urls) entry.instances.configure({ urls: own.urls });
    else {
      const url = own?.url ?? entry.routingUrl;
      if (!url) throw new Error(`Subgraph "${name}" has no routing URL in the supergraph or the config`);
      entry.instances.configure({ urls: [url] });
    }
  };
  /** Reads the configuration again and applies its instance lists (on a change of its file, and with each supergraph reload). */
  const reloadInstanceLists = (): void => {
    if (!config.reload) return;
    let next: FrontdeskConfig;
    try {
      next = config.reload();
    } catch (error) {
      logger.error({ config: config.source }, `configuration reload rejected, keeping the instance lists in service: ${(error as Error).message}`);
      return;
    }
    subgraphSettings = next.subgraphs;
    for (const plugin of plugins) {
      try {
        plugin.reconfigure?.(next);
      } catch (error) {
        logger.error({ plugin: plugin.name }, `plugin could not take the new configuration: ${(error as Error).message}`);
      }
    }
    for (const entry of instances.values()) {
      try {
        configureInstances(entry.instances.subgraph);
      } catch (error) {
        logger.error({ subgraph: entry.instances.subgraph }, (error as Error).message);
      }
    }
  };
  const stopWatchingConfig = config.reload && config.supergraph.watch ? watchFile(config.source, config.supergraph.watchDebounceMs, reloadInstanceLists, logger) : () => {};
  /** A subgraph's own timeouts and bound over subgraphRequests'. */
  const boundsOf = (name: string) => {
    const own = settingsOf(name);
    const all = config.subgraphRequests;
    return {
      connectTimeoutMs: own?.connectTimeoutMs ?? all.connectTimeoutMs,
      timeoutMs: own?.timeoutMs ?? all.timeoutMs,
      deadlineMs: own?.deadlineMs ?? all.deadlineMs,
      maxResponseBytes: own?.maxResponseBytes ?? all.maxResponseBytes,
    };
  };

  const redis = redisConfigured(config.redis) ? createSharedRedis(config.redis, logger) : undefined;
  const plugins = createPlugins(config, {
    logger,
    production,
    supergraph: () => current,
    ...(redis ? { redis } : {}),
    ...(redisConfigured(config.redis) ? { redisConnection: config.redis } : {}),
  });
  const authenticators = plugins.filter((p) => p.authenticate);
  if (authenticators.length > 1) throw new Error(`only one plugin may authenticate (${authenticators.map((p) => p.name).join(', ')})`);
  // Without authentication an API key is still a credential the caller expects to count: refused,
  // not taken as anonymous.
  const authenticator = authenticators[0]?.authenticate?.bind(authenticators[0]) ?? refuseApiKey;
  const hooks: SubgraphHooks[] = plugins.flatMap((p) => (p.subgraph ? [p.subgraph] : []));
  const edgeAnswerers = plugins.filter((p) => p.answerAtEdge);
  if (edgeAnswerers.length > 1) throw new Error(`only one plugin may answer at the edge (${edgeAnswerers.map((p) => p.name).join(', ')})`);
  const edgeAnswerer = edgeAnswerers[0];
  const wrappers = plugins.filter((p) => p.aroundRequest);
  if (wrappers.length > 1) throw new Error(`only one plugin may wrap requests (${wrappers.map((p) => p.name).join(', ')})`);
  const around = wrappers[0];
  const edgeObservers = plugins.filter((p) => p.didAnswerAtEdge);
  const admitters = plugins.filter((p) => p.admit);
  const screeners = plugins.filter((p) => p.screen);
  const responseObservers = plugins.filter((p) => p.didRespond);
  const refusalObservers = plugins.filter((p) => p.didRefuse);
  /** Each plugin's admission in order; without a promise while none needs one (the usual case). */
  const admit = (request: EdgeRequest): void | Promise<void> => {
    for (let i = 0; i < admitters.length; i += 1) {
      const pending = admitters[i]!.admit!(request);
      if (pending instanceof Promise) {
        return pending.then(async () => {
          for (let j = i + 1; j < admitters.length; j += 1) await admitters[j]!.admit!(request);
        });
      }
    }
  };
  const gatewayLogger = logger.child({ component: 'apollo-gateway' });
  const transport = createSubgraphTransport(config.subgraphRequests);

  const gateway = new ApolloGateway({
    logger: {
      debug: (m: unknown) => gatewayLogger.debug(String(m)),
      info: (m: unknown) => gatewayLogger.debug(String(m)),
      warn: (m: unknown) => gatewayLogger.warn(String(m)),
      error: (m: unknown) => gatewayLogger.error(String(m)),
    },
    supergraphSdl: async ({ update }) => {
      const stopWatching = config.supergraph.watch
        ? watchSupergraph(config.supergraph.path, {
            debounceMs: config.supergraph.watchDebounceMs,
            initialHash: current.hash,
            logger,
            onChange: (loaded) => {
              for (const plugin of plugins) plugin.validateSupergraph?.(loaded);
              reloadInstanceLists();
              update(loaded.sdl);
              current = loaded;
              if (config.supergraph.keepLastGood) keepLastGood(config.supergraph.path, loaded, logger);
              if (degraded.delete('supergraph')) logger.info({ path: config.supergraph.path }, 'supergraph file valid again: no longer serving the last good copy');
              logger.info(
                { path: config.supergraph.path, hash: loaded.hash.slice(0, 12), subgraphs: loaded.subgraphs.map((s) => s.name) },
                'supergraph reloaded',
              );
            },
          })
        : () => {};
      return { supergraphSdl: current.sdl, cleanup: async () => stopWatching() };
    },
    buildService: ({ name, url }) => {
      const key = normalizeSubgraphName(name);
      let entry = instances.get(key);
      if (entry) entry.routingUrl = url;
      else instances.set(key, (entry = { instances: new SubgraphInstances(name, logger), routingUrl: url }));
      configureInstances(name);
      const own = settingsOf(name);
      const primary = own?.url ?? own?.urls?.[0] ?? url ?? `${own?.discovery?.scheme ?? 'http'}://${own?.discovery?.name ?? name}${own?.discovery?.path ?? ''}`;
      return new FrontdeskDataSource(name, primary, entry.instances, hooks, logger, transport, config.headers.propagate, config.subgraphRequests.dedupe, boundsOf(name));
    },
  });

  const planRuns = installExecutor(gateway, config.graphql.executor);

  const showLandingPage = config.graphql.landingPage ?? !production;
  const apolloPlugins: ApolloServerPlugin<GatewayContext>[] = [
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    // On, the explorer plugin renders the landing page.
    ...(showLandingPage ? [] : [ApolloServerPluginLandingPageDisabled()]),
    operationResolution,
    responseExtensions,
    ...plugins.flatMap((p) => (p.apollo ? [p.apollo] : [])),
    // Last: it reads the answer as it goes out, errors that plugins add (authorization's) included.
    ...(responseObservers.length > 0 ? [noteOutcome] : []),
  ];
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: config.graphql.introspection ?? !production,
    csrfPrevention: true,
    // With persisted documents on, the edge resolves ids and hashes (in the shared store): Apollo Server only ever sees texts.
    ...(config.persistedDocuments ? { persistedQueries: false as const } : {}),
    includeStacktraceInErrorResponses: !production,
    formatError: formatErrorFor(production, logger),
    stopOnTerminationSignals: false,
    logger: gatewayLogger,
    plugins: apolloPlugins,
  });

  const state: EdgeState = { ready: false, draining: false, degraded: () => [...degraded.values()] };
  const edge = config.server;
  const handler = createEdgeHandler<GatewayContext>({
    apollo,
    state,
    logger,
    graphqlPath: edge.graphqlPath,
    bodyLimitBytes: edge.bodyLimitBytes,
    context: (req, call) => ({
      requestId: call.requestId,
      logger: call.logger,
      headers: req.headers,
      identity: call.identity,
      clientIp: call.clientIp,
      signal: call.signal,
      ...(call.responseExtensions ? { responseExtensions: call.responseExtensions } : {}),
      ...(responseObservers.length > 0 ? { outcome: {} } : {}),
    }),
    authenticate: authenticator,
    ...(screeners.length > 0
      ? {
          screen: (clientIp: string) => {
            for (const plugin of screeners) {
              const refusal = plugin.screen!(clientIp);
              if (refusal) return refusal;
            }
            return undefined;
          },
        }
      : {}),
    ...(responseObservers.length > 0
      ? {
          didRespond: (record: Omit<ResponseRecord, 'errorCodes' | 'operationName'> & { errorCodes?: readonly string[]; operationName?: string | null }, context: GatewayContext | undefined) => {
            const outcome = context?.outcome;
            const full: ResponseRecord = { ...record, operationName: record.operationName ?? outcome?.operationName ?? null, errorCodes: record.errorCodes ?? outcome?.errorCodes ?? [] };
            for (const plugin of responseObservers) plugin.didRespond!(full);
          },
        }
      : {}),
    ...(refusalObservers.length > 0
      ? { didRefuse: (code: string, clientIp: string, identity: Identity | undefined) => refusalObservers.forEach((p) => p.didRefuse!({ code, clientIp, identity })) }
      : {}),
    ...(admitters.length > 0 ? { admit } : {}),
    ...(edge.cors ? { cors: new Cors({ ...edge.cors, origins: production ? edge.cors.origins : [...edge.cors.origins, ...edge.cors.developmentOrigins] }) } : {}),
    ...(edge.trustedProxies.length + edge.ipAllow.length + edge.ipDeny.length > 0
      ? { addresses: new AddressPolicy({ trustedProxies: edge.trustedProxies, allow: edge.ipAllow, deny: edge.ipDeny }) }
      : {}),
    ...(edge.compression.enabled ? { compressAboveBytes: edge.compression.thresholdBytes } : {}),
    ...(edge.batching.enabled ? { maxBatchOperations: edge.batching.maxOperations } : {}),
    ...(edge.requestDeadlineMs > 0 ? { requestDeadlineMs: edge.requestDeadlineMs } : {}),
    routes: Object.assign({}, ...plugins.map((p) => p.routes ?? {})),
    adminRoutes: Object.assign({ '/admin/log-level': logLevelRoute([logger, gatewayLogger]) }, ...plugins.map((p) => p.adminRoutes ?? {})),
    ...(edgeAnswerer ? { answerAtEdge: edgeAnswerer.answerAtEdge!.bind(edgeAnswerer) } : {}),
    ...(around ? { aroundRequest: around.aroundRequest!.bind(around) } : {}),
    didAnswerAtEdge: (request, answer, durationMs) => {
      for (const plugin of edgeObservers) plugin.didAnswerAtEdge!(request, answer, durationMs);
    },
  });
  const serverOptions = { keepAliveTimeout: edge.keepAliveTimeoutMs, requestTimeout: edge.requestTimeoutMs };
  const tls = edge.tls ? new TlsFiles(edge.tls, logger) : undefined;
  const server: Server = tls ? createHttpsServer({ ...serverOptions, ...tls.serverOptions() }, handler) : createServer(serverOptions, handler);
  tls?.watch(server as HttpsServer);
  const listen = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const startApollo = async (): Promise<void> => {
    try {
      await apollo.start();
    } catch (error) {
      server.close();
      throw error;
    }
  };
  if (cluster.isWorker) {
    // A worker of a cluster joins the shared socket only once it is ready: the primary would
    // otherwise hand it connections it must refuse (NOT_READY) while its siblings could serve.
    await startApollo();
    state.ready = true;
    await listen();
  } else {
    // Listen first so /health answers and /ready says 503 while the supergraph loads.
    await listen();
    await startApollo();
    state.ready = true;
  }
  const port = (server.address() as AddressInfo).port;
  const displayHost = config.server.host === '0.0.0.0' || config.server.host === '::' ? 'localhost' : config.server.host;
  const url = `${tls ? 'https' : 'http'}://${displayHost}:${port}${config.server.graphqlPath}`;
  logger.info(
    { url, supergraph: config.supergraph.path, subgraphs: current.subgraphs.map((s) => s.name), config: config.source },
    'gateway ready',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      state.draining = true;
      if (config.server.drainDelayMs > 0) {
        // Out of rotation first (/ready 503), still serving: each connection closes after its next
        // answer (Connection: close) rather than being cut while a client may be sending on it.
        logger.info({ drainDelayMs: config.server.drainDelayMs }, 'shutting down: not ready, serving until load balancers have stopped sending');
        await new Promise((resolve) => setTimeout(resolve, config.server.drainDelayMs));
      }
      logger.info({ drainTimeoutMs: config.server.drainTimeoutMs }, 'shutting down: draining in-flight requests');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections whose request finishes during the drain become idle later: close those too.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), config.server.drainTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      clearInterval(sweeper);
      if (timedOut) {
        logger.warn('drain timeout reached, closing remaining connections');
        server.closeAllConnections();
        await closed;
      }
      tls?.close();
      stopWatchingConfig();
      await apollo.stop();
      for (const entry of instances.values()) entry.instances.close();
      for (const plugin of plugins) await plugin.close?.();
      await transport.close();
      await redis?.close();
      logger.info('gateway stopped');
      if (!options.logger) await endLogger(logger);
    })();
    return stopping;
  };

  return {
    server,
    url,
    port,
    logger,
    isReady: () => state.ready && !state.draining,
    supergraph: () => current,
    stop,
    planRuns,
  };
}
