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
