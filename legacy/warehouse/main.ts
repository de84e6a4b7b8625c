import { startWarehouse } from './server.js';

// The legacy warehouse as its own process: gRPC on PORT (5003), /health, /ready and the test
// controls over HTTP on ADMIN_PORT (PORT + 100).
const port = process.env.PORT ? Number(process.env.PORT) : 5003;
const warehouse = await startWarehouse({
  port,
  adminPort: process.env.ADMIN_PORT ? Number(process.env.ADMIN_PORT) : port + 100,
  logLevel: process.env.LOG_LEVEL,
  host: process.env.HOST,
});
const stop = (): void => void warehouse.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
