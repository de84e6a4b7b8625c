import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import { createEdgeHandler } from '../../gateway/src/core/http.js';
import { createLogger, type Logger } from '../../gateway/src/core/logger.js';

export interface SubgraphContext {
  requestId: string;
  logger: Logger;
  headers: IncomingMessage['headers'];
}

export interface SubgraphOptions<TContext extends SubgraphContext> {
  name: string;
  /** Path of the subgraph's SDL file. */
  schemaPath: string;
  resolvers: GraphQLResolverMap<TContext>;
  /** Adds per-request state (DataLoaders) to the base context. */
  context: (base: SubgraphContext) => TContext;
  port?: number;
  host?: string;
  logLevel?: string;
  bodyLimitBytes?: number;
}

export interface RunningSubgraph {
  name: string;
  url: string;
  port: number;
  server: Server;
  stop(): Promise<void>;
}

/** Reads a subgraph SDL file; used by the servers and by composition. */
export function readSchema(path: string): string {
  return readFileSync(path, 'utf8');
}

/**
 * Starts a federated subgraph (buildSubgraphSchema on Apollo Server) behind the same node:http
 * edge as the gateway: /health, /ready, request ids, body limit. Cache hints from @cacheControl
 * go out as the Cache-Control header, which the gateway honours.
 */
export async function startSubgraph<TContext extends SubgraphContext>(
  options: SubgraphOptions<TContext>,
): Promise<RunningSubgraph> {
  const logger = createLogger(options.logLevel ?? 'info', { service: options.name });
  const schema = buildSubgraphSchema([{ typeDefs: parse(readSchema(options.schemaPath)), resolvers: options.resolvers }]);
  const apollo = new ApolloServer<TContext>({
    schema,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: process.env.NODE_ENV !== 'production',
    stopOnTerminationSignals: false,
    logger,
    plugins: [
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  const state = { ready: false, draining: false };
  const server = createServer(
    { keepAliveTimeout: 65_000 },
    createEdgeHandler<TContext>({
      apollo,
      state,
      logger,
      graphqlPath: '/graphql',
      bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
      info: { service: options.name },
      context: (req, requestId, requestLogger) =>
        options.context({ requestId, logger: requestLogger, headers: req.headers }),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  state.ready = true;
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/graphql`;
  logger.info({ url }, `subgraph ${options.name} ready`);
  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    url,
    port,
    server,
    stop() {
      stopping ??= (async () => {
        state.draining = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const sweeper = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 5_000);
        await closed;
        clearTimeout(timer);
        clearInterval(sweeper);
        await apollo.stop();
      })();
      return stopping;
    },
  };
}

/** Runs a subgraph as its own process: PORT from the environment, graceful stop on signals. */
export async function runSubgraphMain(start: (port: number) => Promise<RunningSubgraph>, defaultPort: number): Promise<void> {
  const port = process.env.PORT ? Number(process.env.PORT) : defaultPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid PORT ${process.env.PORT}\n`);
    process.exit(1);
  }
  let running: RunningSubgraph;
  try {
    running = await start(port);
  } catch (error) {
    process.stderr.write(`start-up failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const shutdown = (): void => {
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
