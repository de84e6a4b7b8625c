import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../bench/harness.js';
import { eventually, tempDir } from './servers.js';

/** The machine's Redis, which CI starts when none answers. */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** Deletes every key under `prefix` (a test's own namespace) from a Redis. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) deleted += await redis.del(...keys);
  }
  await redis.quit();
  return deleted;
}

/** Keys under `prefix` in a Redis. */
export async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const found: string[] = [];
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) found.push(...keys);
  await redis.quit();
  return found;
}

/**
 * A redis-server of the test's own on a free port, so that a test can stop and restart it
 * without touching the machine's shared Redis. Its data survives `stop({ save: true })`.
 */
export interface OwnRedis {
  url: string;
  port: number;
  /** Stops the server; with save, its data is written to disk and comes back on start. */
  stop(options?: { save?: boolean }): Promise<void>;
  start(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = tempDir('frontdesk-redis-');
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const ping = async (): Promise<boolean> => {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 200 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return (await redis.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      redis.disconnect();
    }
  };
  const own: OwnRedis = {
    url,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await eventually(ping, 10_000);
    },
    async stop(options = {}) {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      if (options.save) {
        const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => {});
        await redis.call('SHUTDOWN', 'SAVE').catch(() => undefined);
        redis.disconnect();
      } else running.kill('SIGKILL');
      await exited;
    },
  };
  await own.start();
  return own;
}

/** A port that is free, with port + 10000 free too (a Redis Cluster node's bus port). */
export async function freeClusterPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await free(port)) && (await free(port + 10_000))) return port;
  }
}

/**
 * A redis-server (or, with --sentinel, a sentinel) of the test's own with the given arguments,
 * ready once `ready` says so; killed by `stop`.
 */
export async function spawnRedis(args: string[], ready: () => Promise<boolean>): Promise<{ stop(): Promise<void>; kill(): Promise<void> }> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    await eventually(ready, 15_000, 100);
  } catch (error) {
    await kill();
    throw error;
  }
  return { stop: kill, kill };
}

/** True once a Redis at these options answers PING. */
export async function answers(options: import('ioredis').RedisOptions): Promise<boolean> {
  const redis = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
