import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { Logger } from './logger.js';

/**
 * `server.workers` (`--workers N|auto`): N gateway processes on one port, node:cluster sharing
 * the listening socket (the primary hands connections out round-robin). The primary only
 * supervises: it forks the workers, restarts one that dies, passes SIGTERM/SIGINT on and waits
 * for their drains, and answers the workers' requests for the metrics of all of them. State that
 * must be shared between workers lives where it lives between replicas: Redis (`redis.url`).
 */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? Math.max(1, availableParallelism()) : setting;
}

const METRICS_REQUEST = 'frontdesk:cluster-metrics';
const METRICS_REPLY = 'frontdesk:cluster-metrics-reply';

interface MetricsReply {
  type: typeof METRICS_REPLY;
  id: number;
  text?: string;
  contentType?: string;
  error?: string;
}

/**
 * The node flags each worker starts with: the primary's own, plus the GC settings of
 * `server.workerGc` that the primary's flags do not already set.
 */
export function workerExecArgv(count: number, gc: { singleThreaded: boolean | 'auto'; semiSpaceMb: number }, own: readonly string[] = process.execArgv): string[] {
  const flags = [...own];
  const given = (flag: string) => own.some((arg) => arg === flag || arg.startsWith(`${flag}=`)) || (process.env.NODE_OPTIONS ?? '').includes(flag);
  const single = gc.singleThreaded === 'auto' ? count >= availableParallelism() : gc.singleThreaded;
  if (single && !given('--single-threaded-gc')) flags.push('--single-threaded-gc');
  if (gc.semiSpaceMb > 0 && !given('--max-semi-space-size')) flags.push(`--max-semi-space-size=${gc.semiSpaceMb}`);
  return flags;
}

/** Runs the primary of a cluster of `count` workers, each started with `execArgv`; resolves when every worker has ended after a signal. */
export function runPrimary(count: number, logger: Logger, execArgv: string[] = process.execArgv): Promise<number> {
  cluster.setupPrimary({ execArgv });
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const restarts: number[] = [];
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: { type?: string; id?: number }) => {
      if (message?.type !== METRICS_REQUEST) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_REPLY, id: message.id ?? 0, text, contentType: aggregator.contentType } satisfies MetricsReply),
        (error: unknown) => worker.send({ type: METRICS_REPLY, id: message.id ?? 0, error: (error as Error).message } satisfies MetricsReply),
      );
    });
    return worker;
  };
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count, pid: process.pid, execArgv }, 'gateway primary started its workers');

  return new Promise((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(0);
        return;
      }
      // A worker that dies is replaced; one that keeps dying (5 times in a minute) ends the whole.
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
      if (restarts.length > 5) {
        logger.error({ code, signal }, 'gateway workers keep dying: stopping');
        stopping = true;
        for (const other of Object.values(cluster.workers ?? {})) other?.kill('SIGTERM');
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(1);
        return;
      }
      logger.warn({ worker: worker.process.pid, code, signal }, 'gateway worker died: starting another');
      fork();
    });
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: the workers end without draining.
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        return;
      }
      stopping = true;
      logger.info({ signal }, 'signal received: draining the workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * In a worker: the gateway's registry is what the primary collects (prom-client answers the
 * primary's requests itself), and `/metrics` asks the primary for the sum over all workers.
 */
export function clusterMetrics(registry: Registry): (() => Promise<{ text: string; contentType: string }>) | undefined {
  if (!cluster.isWorker) return undefined;
  // Constructing one installs prom-client's answer to the primary's requests (in a worker too).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const waiting = new Map<number, (reply: MetricsReply) => void>();
  process.on('message', (message: MetricsReply) => {
    if (message?.type !== METRICS_REPLY) return;
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the cluster primary did not answer with the metrics'));
      }, 5_000);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error !== undefined || reply.text === undefined) reject(new Error(reply.error ?? 'no metrics'));
        else resolve({ text: reply.text, contentType: reply.contentType ?? registry.contentType });
      });
      process.send!({ type: METRICS_REQUEST, id });
    });
}
