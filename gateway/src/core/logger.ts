import { pino, type Logger } from 'pino';
import { LogDestination } from './log-destination.js';

export type { Logger };


/** A log line's fields may carry this (a symbol: never written) to be exempt from collapsing (access log lines). */
export const UNCOLLAPSED = Symbol('frontdesk.uncollapsed');

const MAX_REPEAT_KEYS = 1000;
/** Fields a collapsed warning keeps in its summary line (they tell repeats of different things apart). */
const KEY_FIELDS = ['subgraph', 'service', 'upstream', 'instance', 'code', 'status'] as const;

/**
 * Repeated warnings within an interval: the first is written, the rest only counted, and at the
 * interval's end one line says how many more there were. A warning is "the same" when its message
 * and its subgraph, service, upstream, instance, code and status fields are.
 */
export class RepeatedWarnings {
  private seen = new Map<string, { count: number; msg: string; fields: Record<string, unknown> }>();

  constructor(readonly intervalMs: number) {}

  /** Whether to write this warning now (false: it was counted). */
  admit(msg: string, fields: Record<string, unknown>): boolean {
    let key = msg;
    for (const name of KEY_FIELDS) key += `\u0000${fields[name] === undefined ? '' : String(fields[name])}`;
    const entry = this.seen.get(key);
    if (entry) {
      entry.count += 1;
      return false;
    }
    if (this.seen.size >= MAX_REPEAT_KEYS) return true;
    const kept: Record<string, unknown> = {};
    for (const name of KEY_FIELDS) if (fields[name] !== undefined) kept[name] = fields[name];
    this.seen.set(key, { count: 0, msg, fields: kept });
    return true;
  }

  /** The summary lines of the interval that ended; starts the next. */
  flush(write: (fields: Record<string, unknown>, msg: string) => void): void {
    const seconds = Math.round(this.intervalMs / 1000);
    for (const entry of this.seen.values()) {
      if (entry.count > 0) write({ ...entry.fields, repeated: entry.count, intervalSeconds: seconds }, `${entry.msg} (repeated ${entry.count} more times in ${seconds} s)`);
    }
    this.seen.clear();
  }
}

const collapsers = new WeakMap<Logger, { repeats: RepeatedWarnings; timer: NodeJS.Timeout }>();

/**
 * Structured JSON logs on stdout; the only logger every component receives. `async` (the
 * gateway process) writes without blocking the request that logs, and gathers lines: a write
 * goes out once 16 KiB are waiting or every 200 ms, whichever comes first, so an access log line
 * per request costs no write of its own (see LogDestination). Call `logger.flush(cb)` before
 * exiting, `endLogger` when done with it.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, options: { async?: boolean; collapseRepeatsMs?: number; destination?: { write(line: string): void } } = {}): Logger {
  // pino's isoTime, made once per millisecond: at thousands of lines a second most share one.
  let lastMs = -1;
  let lastTime = '';
  const isoTime = () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = `,"time":"${new Date(now).toISOString()}"`;
    }
    return lastTime;
  };
  const base = { service: 'frontdesk-gateway', ...bindings };
  const repeats = options.collapseRepeatsMs ? new RepeatedWarnings(options.collapseRepeatsMs) : undefined;
  const settings = {
    level,
    base,
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    ...(repeats
      ? {
          hooks: {
            logMethod(this: Logger, args: unknown[], method: (...args: unknown[]) => void, level: number) {
              if (level !== 40) return method.apply(this, args);
              const [first, second] = args;
              const fields = typeof first === 'object' && first !== null ? (first as Record<string | symbol, unknown>) : undefined;
              if (fields?.[UNCOLLAPSED]) return method.apply(this, args);
              const msg = fields ? (typeof second === 'string' ? second : '') : String(first);
              if (repeats.admit(msg, (fields ?? {}) as Record<string, unknown>)) method.apply(this, args);
            },
          },
        }
      : {}),
  };
  const logger = options.destination ? pino(settings, options.destination) : options.async ? pino(settings, new LogDestination(1, { base })) : pino(settings);
  if (repeats) {
    const timer = setInterval(() => flushRepeats(logger), repeats.intervalMs);
    timer.unref();
    collapsers.set(logger, { repeats, timer });
  }
  return logger;
}

function flushRepeats(logger: Logger): void {
  collapsers.get(logger)?.repeats.flush((fields, msg) => logger.warn({ ...fields, [UNCOLLAPSED]: true }, msg));
}

/** Ends an `async` logger's destination (its timer) once its lines are written; other loggers are left alone. */
export function endLogger(logger: Logger): Promise<void> {
  const collapser = collapsers.get(logger);
  if (collapser) {
    clearInterval(collapser.timer);
    flushRepeats(logger);
    collapsers.delete(logger);
  }
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LogDestination ? new Promise((resolve) => stream.end(resolve)) : Promise.resolve();
}
