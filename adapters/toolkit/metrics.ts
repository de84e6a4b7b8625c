import { Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS } from '../../gateway/src/core/metrics.js';

/** The legacy calls of every adapter in this process (served on each adapter's /metrics). */
export const legacyCallRegistry = new Registry();

const calls = new Histogram({
  name: 'frontdesk_legacy_call_duration_seconds',
  help: 'Calls of adapters to their legacy services (retries included), by service, operation and outcome (success, client_error, error, timeout, circuit_open, shed)',
  labelNames: ['service', 'operation', 'outcome'],
  buckets: DURATION_BUCKETS,
  registers: [legacyCallRegistry],
});

export type LegacyOutcome = 'success' | 'client_error' | 'error' | 'timeout' | 'circuit_open' | 'shed';

export function observeLegacyCall(service: string, operation: string, outcome: LegacyOutcome, seconds: number): void {
  calls.observe({ service, operation, outcome }, seconds);
}
