import { startErp } from './server.js';

// The legacy ERP as its own process: PORT (5002), ERP_USERNAME and ERP_PASSWORD for WS-Security.
const erp = await startErp({
  port: process.env.PORT ? Number(process.env.PORT) : 5002,
  logLevel: process.env.LOG_LEVEL,
  host: process.env.HOST,
  username: process.env.ERP_USERNAME,
  password: process.env.ERP_PASSWORD,
});
const stop = (): void => void erp.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
