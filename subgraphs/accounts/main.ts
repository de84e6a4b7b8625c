import { identityFromEnv, runSubgraphMain } from '../shared/server.js';
import { startAccounts } from './server.js';

await runSubgraphMain((port) => startAccounts({ port, logLevel: process.env.LOG_LEVEL, host: process.env.HOST, identity: identityFromEnv() }), 4001);
