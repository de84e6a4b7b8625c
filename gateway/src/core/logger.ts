import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; the only logger every component receives. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'frontdesk-gateway', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
