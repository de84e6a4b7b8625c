import { z } from 'zod';

const retrySchema = z.strictObject({
  maxRetries: z.number().int().min(0).max(5).optional().describe('Extra attempts of a query fetch (never a mutation); 0 turns retries off. Default 1.'),
  initialDelayMs: z.number().int().nonnegative().optional().describe('Backoff before the first retry, doubling after each, with full jitter. Default 25.'),
  maxDelayMs: z.number().int().nonnegative().optional().describe('Longest backoff; a Retry-After asking for longer gives up instead. Default 1000.'),
});

const breakerSchema = z.strictObject({
  enabled: z.boolean().optional().describe('Default true.'),
  failureRatePercent: z.number().min(1).max(100).optional().describe('Opens when this share of fetches failed over the window. Default 50.'),
  windowMs: z.number().int().positive().optional().describe('The rolling window the failure rate is measured over, in ms. Default 10000.'),
  minimumPerSecond: z.number().positive().optional().describe('Fetches per second the window needs before it may open (the minimum volume). Default 2.'),
  halfOpenAfterMs: z.number().int().positive().optional().describe('How long it stays open before one probe fetch decides, in ms. Default 5000.'),
  slowCallMs: z.number().int().nonnegative().optional().describe('A fetch answered later than this counts as a failure in the rate (the slow-call rate); 0 turns it off. Default 0.'),
});

const bulkheadSchema = z.strictObject({
  maxConcurrent: z.number().int().positive().optional().describe('Fetches in flight to the subgraph at most. Default 256.'),
  maxQueued: z.number().int().nonnegative().optional().describe('Fetches waiting for a slot at most; more are shed at once with UPSTREAM_UNAVAILABLE. Default 1024.'),
});

const ejectionSchema = z.strictObject({
  enabled: z.boolean().optional().describe('Default true.'),
  consecutiveFailures: z.number().int().positive().optional().describe('Failures in a row (connection errors, timeouts, 5xx) that eject an instance. Default 5.'),
  baseMs: z.number().int().positive().optional().describe('First ejection, in ms; each further one of the same instance doubles it. Default 10000.'),
  maxMs: z.number().int().positive().optional().describe('Longest ejection, in ms. Default 300000.'),
  maxEjectedPercent: z.number().min(0).max(100).optional().describe('Never more than this share of the instances ejected at once. Default 50.'),
});

const healthCheckSchema = z.strictObject({
  enabled: z.boolean().optional().describe('Default true.'),
  path: z.string().startsWith('/').optional().describe("Path asked on each instance's origin with GET; any answer below 500 passes. Default /ready."),
  intervalMs: z.number().int().positive().optional().describe('Time between two checks of every instance, in ms. Default 5000.'),
  timeoutMs: z.number().int().positive().optional().describe('A check not answered in this many ms fails. Default 1000.'),
  unhealthyThreshold: z.number().int().positive().optional().describe('Failed checks in a row that take an instance out. Default 2.'),
  healthyThreshold: z.number().int().positive().optional().describe('Passed checks in a row that bring it back (ending an ejection early). Default 1.'),
  singleInstance: z.boolean().optional().describe('Check a subgraph that has one instance too (it is still called when all are down). Default false.'),
});

const policySchema = z.strictObject({
  bulkhead: bulkheadSchema.optional().describe('Bounds what one subgraph can hold: concurrent fetches and a bounded queue.'),
  retry: retrySchema.optional().describe('Retries of query fetches on connection errors and 429, 502, 503, 504 answers.'),
  circuitBreaker: breakerSchema.optional().describe('A breaker per instance: failures are connection errors, timeouts and 5xx answers.'),
  outlierEjection: ejectionSchema.optional().describe('Passive ejection of an instance that fails several times in a row.'),
  healthCheck: healthCheckSchema.optional().describe('Active health checks of each instance, when a subgraph has several.'),
});

export const resilienceOptionsSchema = z
  .strictObject({
    all: policySchema.default({}).describe('The policy of every subgraph.'),
    subgraphs: z.record(z.string().regex(/^[A-Za-z_][\w-]*$/, 'a subgraph name'), policySchema).default({}).describe('Overrides by subgraph name.'),
    retryBudget: z
      .strictObject({
        percent: z.number().min(0).max(100).default(20).describe('Retries stay under this share of fetches over the last 10 s. Default 20.'),
        minPerSecond: z.number().int().nonnegative().default(5).describe('Retries always allowed per second whatever the traffic. Default 5.'),
      })
      .prefault({})
      .describe('One budget per subgraph: when everything fails, retries do not multiply the load.'),
  })
  .describe('Policies around each subgraph fetch: load balancing over instances, bulkheads, retries, circuit breakers, outlier ejection, health checks.');

export type ResilienceOptions = z.infer<typeof resilienceOptionsSchema>;
export type RetryPolicy = Required<z.infer<typeof retrySchema>>;

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 1, initialDelayMs: 25, maxDelayMs: 1000 };

export type BulkheadPolicy = Required<z.infer<typeof bulkheadSchema>>;
export const DEFAULT_BULKHEAD: BulkheadPolicy = { maxConcurrent: 256, maxQueued: 1024 };

export type BreakerPolicy = Required<z.infer<typeof breakerSchema>>;
export const DEFAULT_BREAKER: BreakerPolicy = { enabled: true, failureRatePercent: 50, windowMs: 10_000, minimumPerSecond: 2, halfOpenAfterMs: 5000, slowCallMs: 0 };

export type EjectionPolicy = Required<z.infer<typeof ejectionSchema>>;
export const DEFAULT_EJECTION: EjectionPolicy = { enabled: true, consecutiveFailures: 5, baseMs: 10_000, maxMs: 300_000, maxEjectedPercent: 50 };

export type HealthCheckPolicy = Required<z.infer<typeof healthCheckSchema>>;
export const DEFAULT_HEALTH_CHECK: HealthCheckPolicy = { enabled: true, path: '/ready', intervalMs: 5000, timeoutMs: 1000, unhealthyThreshold: 2, healthyThreshold: 1, singleInstance: false };

/** The policy of one upstream: the defaults, then `all`, then its own entry. */
export type UpstreamPolicy = z.infer<typeof policySchema>;
export interface ResolvedPolicy {
  retry: RetryPolicy;
  bulkhead: BulkheadPolicy;
  breaker: BreakerPolicy;
  ejection: EjectionPolicy;
  healthCheck: HealthCheckPolicy;
}

export function resolvePolicy(all: UpstreamPolicy | undefined, own: UpstreamPolicy | undefined): ResolvedPolicy {
  return {
    retry: { ...DEFAULT_RETRY, ...all?.retry, ...own?.retry },
    bulkhead: { ...DEFAULT_BULKHEAD, ...all?.bulkhead, ...own?.bulkhead },
    breaker: { ...DEFAULT_BREAKER, ...all?.circuitBreaker, ...own?.circuitBreaker },
    ejection: { ...DEFAULT_EJECTION, ...all?.outlierEjection, ...own?.outlierEjection },
    healthCheck: { ...DEFAULT_HEALTH_CHECK, ...all?.healthCheck, ...own?.healthCheck },
  };
}

export { policySchema as upstreamPolicySchema };
