import { parseArgs } from 'node:util';
import { identityFromEnv } from '../../subgraphs/shared/server.js';
import { startGrpcAdapter } from './adapter.js';

// A gRPC adapter subgraph as its own process:
//   node dist/adapters/grpc/main.js --mapping adapters/services/inventory/inventory.grpc.yaml
// PORT (default 4004), TARGET_ADDRESS (overrides target.address), LOG_LEVEL; ${NAME} secrets in the env.
const { values } = parseArgs({ options: { mapping: { type: 'string' }, port: { type: 'string' } } });
if (!values.mapping) {
  process.stderr.write('usage: node dist/adapters/grpc/main.js --mapping FILE [--port N]\n');
  process.exit(1);
}
try {
  const adapter = await startGrpcAdapter({
    mappingPath: values.mapping,
    port: Number(values.port ?? process.env.PORT ?? 4004),
    address: process.env.TARGET_ADDRESS || undefined,
    logLevel: process.env.LOG_LEVEL,
    identity: identityFromEnv(),
  });
  const stop = (): void => void adapter.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`gRPC adapter failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
