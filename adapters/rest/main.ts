import { parseArgs } from 'node:util';
import { identityFromEnv } from '../../subgraphs/shared/server.js';
import { startRestAdapter } from './adapter.js';

// A REST adapter subgraph as its own process:
//   node dist/adapters/rest/main.js --mapping adapters/services/products/products.rest.yaml
// PORT (default 4003), TARGET_URL (overrides target.url), LOG_LEVEL; secrets for ${NAME} in the env.
const { values } = parseArgs({ options: { mapping: { type: 'string' }, port: { type: 'string' } } });
if (!values.mapping) {
  process.stderr.write('usage: node dist/adapters/rest/main.js --mapping FILE [--port N]\n');
  process.exit(1);
}
try {
  const adapter = await startRestAdapter({
    mappingPath: values.mapping,
    port: Number(values.port ?? process.env.PORT ?? 4003),
    targetUrl: process.env.TARGET_URL || undefined,
    logLevel: process.env.LOG_LEVEL,
    identity: identityFromEnv(),
  });
  const stop = (): void => void adapter.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`REST adapter failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
