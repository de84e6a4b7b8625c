import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled, ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';
import { composeToFile, tempDir } from './servers.js';

/** One subgraph of a fixture supergraph: its SDL and resolvers. */
export interface FixtureSubgraph {
  name: string;
  sdl: string;
  /** Resolvers as buildSubgraphSchema takes them (`__resolveReference` included). */
  resolvers: Record<string, Record<string, unknown>>;
}

export interface RunningFixture {
  /** The composed supergraph file. */
  path: string;
  /** Each subgraph's name, URL and SDL (to compose another version). */
  subgraphs: { name: string; url: string; sdl: string }[];
  /** Fetches each subgraph received, by subgraph name (and `total`). */
  fetches(): Record<string, number> & { total: number };
  /** Every query text each subgraph received, in order. */
  queries: Record<string, string[]>;
  stop(): Promise<void>;
}

/**
 * Starts each subgraph on a plain node:http server on port 0 (buildSubgraphSchema, every request
 * parsed, validated and executed: a fetch the subgraph would refuse shows), composes them into a
 * supergraph file, and counts the fetches. `delayMs` holds each answer back (concurrent requests
 * then overlap in their fetches).
 */
export async function startFixture(subgraphs: readonly FixtureSubgraph[], options: { delayMs?: number } = {}): Promise<RunningFixture> {
  const servers: Server[] = [];
  const counts: Record<string, number> = {};
  const queries: Record<string, string[]> = {};
  const urls: { name: string; url: string; sdl: string }[] = [];
  for (const subgraph of subgraphs) {
    const schema = buildSubgraphSchema([{ typeDefs: parse(subgraph.sdl), resolvers: subgraph.resolvers as never }]);
    counts[subgraph.name] = 0;
    queries[subgraph.name] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        counts[subgraph.name]! += 1;
        const { query, variables, operationName } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown>; operationName?: string };
        queries[subgraph.name]!.push(query);
        void graphql({ schema, source: query, variableValues: variables ?? {}, operationName: operationName ?? null }).then((result) => {
          const body = JSON.stringify(result);
          const answer = () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
          if (options.delayMs) setTimeout(answer, options.delayMs);
          else answer();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push({ name: subgraph.name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, sdl: subgraph.sdl });
  }
  const path = join(tempDir('frontdesk-fixture-'), 'supergraph.graphql');
  composeToFile(path, urls);
  return {
    path,
    subgraphs: urls,
    fetches: () => Object.assign({ ...counts }, { total: Object.values(counts).reduce((a, b) => a + b, 0) }),
    queries,
    async stop() {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

/** Vanilla Apollo Gateway (the reference) on a supergraph file, on port 0, in production mode. */
export async function startApolloGateway(supergraphSdl: string): Promise<{ url: string; stop(): Promise<void> }> {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const server = new ApolloServer({
    gateway: new ApolloGateway({ supergraphSdl }),
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled(), ApolloServerPluginLandingPageDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}

/** JSON with every object's keys sorted: two answers compare equal when only key order differs. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.keys(inner as object).sort().map((k) => [k, (inner as Record<string, unknown>)[k]]))
      : inner,
  );
}
