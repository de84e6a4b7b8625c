#!/usr/bin/env node
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runPrimary, workerCount, workerExecArgv } from './core/cluster.js';
import { ConfigError, HelpRequested, loadConfig } from './core/config.js';
import { createLogger } from './core/logger.js';
import { createGateway } from './core/create-gateway.js';
import { SupergraphError } from './core/supergraph.js';
import { WORKERS_IDENTITY_KEY } from './plugins/auth/index.js';

function fail(message: string): never {
  process.stderr.write(`frontdesk: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ argv: process.argv.slice(2) });
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${error.message}\n`);
      process.exit(0);
    }
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  // Bounds the heap's headroom (a flag V8 reads at every full collection): peak memory near twice
  // the live data under load. A flag given to node itself wins.
  const growing = config.server.heapGrowingPercent;
  if (growing > 0 && !process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent')) && !process.env.NODE_OPTIONS?.includes('--heap-growing-percent')) {
    setFlagsFromString(`--heap-growing-percent=${growing}`);
  }

  // --workers N: this process supervises N gateway processes on the one port (core/cluster.ts).
  const workers = workerCount(config.server.workers);
  if (workers > 1 && cluster.isPrimary) {
    // Every worker signs identity tokens with one key, whichever worker served a subgraph the
    // JWKS: the configured one, else (development) one made here and handed to the workers.
    if (config.auth && !config.auth.identity.privateKeyPem && !config.auth.identity.privateKeyFile) {
      if (config.production) fail('auth.identity.privateKeyPem or privateKeyFile is required with NODE_ENV=production (env IDENTITY_PRIVATE_KEY or IDENTITY_PRIVATE_KEY_FILE): every replica and worker must sign identity tokens with the same key');
      process.env[WORKERS_IDENTITY_KEY] ??= generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    }
    const logger = createLogger(config.logging.level, { service: 'frontdesk', role: 'primary' });
    const code = await runPrimary(workers, logger, workerExecArgv(workers, config.server.workerGc));
    logger.flush(() => process.exit(code));
    return;
  }

  let gateway;
  try {
    gateway = await createGateway(config);
  } catch (error) {
    if (error instanceof SupergraphError) fail(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      fail(`cannot listen on ${config.server.host}:${config.server.port} (${code})`);
    }
    fail(`start-up failed: ${(error as Error).message}`);
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      gateway.logger.warn({ signal }, 'second signal: exiting without draining');
      gateway.logger.flush(() => process.exit(1));
    }
    gateway.logger.info({ signal }, 'signal received');
    // The log is written asynchronously: flush it before the process ends.
    const exit = (code: number) => gateway.logger.flush(() => process.exit(code));
    gateway.stop().then(
      () => exit(0),
      (error: unknown) => {
        gateway.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  // A worker of a cluster drains on the SIGTERM its primary sends; Ctrl-C reaches the whole
  // process group, and the primary turns it into that one SIGTERM.
  if (cluster.isWorker) process.on('SIGINT', () => {});
  else process.on('SIGINT', shutdown);
}

await main();
