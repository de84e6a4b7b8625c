import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled, ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';

/**
 * Vanilla Apollo Gateway for the benchmark: @apollo/gateway on @apollo/server's standalone
 * server, no plugins but the ones that keep it from calling Apollo.
 * `node dist/bench/federation/apollo-gateway.js SUPERGRAPH PORT`
 */
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const [path, port] = process.argv.slice(2);
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(path!, 'utf8') });
const server = new ApolloServer({
  gateway,
  plugins: [ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled(), ApolloServerPluginLandingPageDisabled()],
});
await startStandaloneServer(server, { listen: { port: Number(port), host: '127.0.0.1' } });
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
