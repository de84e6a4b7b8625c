import { identityFromEnv, runSubgraphMain } from '../shared/server.js';
import { startReviews } from './server.js';

await runSubgraphMain((port) => startReviews({ port, logLevel: process.env.LOG_LEVEL, host: process.env.HOST, identity: identityFromEnv() }), 4002);
