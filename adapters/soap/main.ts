import { runAdapterMain } from '../toolkit/server.js';
import { startSoapAdapter } from './adapter.js';

// A SOAP adapter subgraph as its own process:
//   node dist/adapters/soap/main.js --mapping adapters/services/orders/orders.soap.yaml
// PORT (default 4005), TARGET_URL (overrides the endpoint), LOG_LEVEL; secrets for ${NAME} in the env.
await runAdapterMain('SOAP', 'dist/adapters/soap/main.js', 4005, (options) =>
  startSoapAdapter({ ...options, endpoint: process.env.TARGET_URL || undefined }),
);
