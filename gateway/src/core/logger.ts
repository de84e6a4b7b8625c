import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout; the only logger every component receives. `async` (the
 * gateway process) writes without blocking the request that logs: lines written while a write is
 * in flight go out together, so an access log line per request costs no syscall of its own. Call
 * `logger.flush()` before exiting.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, options: { async?: boolean } = {}): Logger {
  const settings = {
    level,
    base: { service: 'frontdesk-gateway', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.async ? pino(settings, pino.destination({ dest: 1, sync: false })) : pino(settings);
}
