import { pino, type Logger } from 'pino';
import { LogDestination } from './log-destination.js';

export type { Logger };

/** Where log lines find the trace id of the work they belong to (set while tracing is on). */
let traceIdOf: (() => string | undefined) | undefined;
const NO_FIELDS = Object.freeze({});
/** Log lines carry `traceId` from now on (the tracing plugin), or no longer (undefined). */
export function setLogTraceIds(lookup: (() => string | undefined) | undefined): void {
  traceIdOf = lookup;
}
function traceFields(): Record<string, unknown> {
  const traceId = traceIdOf?.();
  return traceId ? { traceId } : NO_FIELDS;
}

/**
 * Structured JSON logs on stdout; the only logger every component receives. `async` (the
 * gateway process) writes without blocking the request that logs, and gathers lines: a write
 * goes out once 16 KiB are waiting or every 200 ms, whichever comes first, so an access log line
 * per request costs no write of its own (see LogDestination). Call `logger.flush(cb)` before
 * exiting, `endLogger` when done with it.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, options: { async?: boolean } = {}): Logger {
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
  const settings = {
    level,
    base,
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: traceFields,
    // Without a trace id the line is left as it is (no copy of its fields).
    mixinMergeStrategy: (fields: object, mixed: object) => (mixed === NO_FIELDS ? fields : Object.assign(mixed, fields)),
  };
  return options.async ? pino(settings, new LogDestination(1, { base })) : pino(settings);
}

/** Ends an `async` logger's destination (its timer) once its lines are written; other loggers are left alone. */
export function endLogger(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LogDestination ? new Promise((resolve) => stream.end(resolve)) : Promise.resolve();
}
