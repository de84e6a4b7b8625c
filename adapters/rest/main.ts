import { runAdapterMain } from '../toolkit/server.js';
import { startRestAdapter } from './adapter.js';

// A REST adapter subgraph as its own process:
//   node dist/adapters/rest/main.js --mapping adapters/services/products/products.rest.yaml
// PORT (default 4003), TARGET_URL (overrides target.url), LOG_LEVEL; secrets for ${NAME} in the env.
await runAdapterMain('REST', 'dist/adapters/rest/main.js', 4003, (options) =>
  startRestAdapter({ ...options, targetUrl: process.env.TARGET_URL || undefined }),
);
