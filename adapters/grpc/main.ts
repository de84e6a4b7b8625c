import { runAdapterMain } from '../toolkit/server.js';
import { startGrpcAdapter } from './adapter.js';

// A gRPC adapter subgraph as its own process:
//   node dist/adapters/grpc/main.js --mapping adapters/services/inventory/inventory.grpc.yaml
// PORT (default 4004), TARGET_ADDRESS (overrides target.address), LOG_LEVEL; ${NAME} secrets in the env.
await runAdapterMain('gRPC', 'dist/adapters/grpc/main.js', 4004, (options) =>
  startGrpcAdapter({ ...options, address: process.env.TARGET_ADDRESS || undefined }),
);
