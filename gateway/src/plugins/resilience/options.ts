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
});

const bulkheadSchema = z.strictObject({
  maxConcurrent: z.number().int().positive().optional().describe('Fetches in flight to the subgraph at most. Default 256.'),
  maxQueued: z.number().int().nonnegative().optional().describe('Fetches waiting for a slot at most; more are shed at once with UPSTREAM_UNAVAILABLE. Default 1024.'),
});

const policySchema = z.strictObject({
  bulkhead: bulkheadSchema.optional().describe('Bounds what one subgraph can hold: concurrent fetches and a bounded queue.'),
  retry: retrySchema.optional().describe('Retries of query fetches on connection errors and 429, 502, 503, 504 answers.'),
  circuitBreaker: breakerSchema.optional().describe('A breaker per subgraph: failures are connection errors, timeouts and 5xx answers.'),
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
  .describe('Policies around each subgraph fetch: bulkheads, retries and circuit breakers.');

export type ResilienceOptions = z.infer<typeof resilienceOptionsSchema>;
export type RetryPolicy = Required<z.infer<typeof retrySchema>>;

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 1, initialDelayMs: 25, maxDelayMs: 1000 };

export type BulkheadPolicy = Required<z.infer<typeof bulkheadSchema>>;
export const DEFAULT_BULKHEAD: BulkheadPolicy = { maxConcurrent: 256, maxQueued: 1024 };

export type BreakerPolicy = Required<z.infer<typeof breakerSchema>>;
export const DEFAULT_BREAKER: BreakerPolicy = { enabled: true, failureRatePercent: 50, windowMs: 10_000, minimumPerSecond: 2, halfOpenAfterMs: 5000 };
