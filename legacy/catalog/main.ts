import { startCatalog } from './server.js';

// The legacy catalog as its own process (npm start, docker compose): PORT, CATALOG_ADMIN_TOKEN.
const catalog = await startCatalog({
  port: process.env.PORT ? Number(process.env.PORT) : 5001,
  logLevel: process.env.LOG_LEVEL,
  host: process.env.HOST,
  adminToken: process.env.CATALOG_ADMIN_TOKEN,
});
const stop = (): void => void catalog.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
