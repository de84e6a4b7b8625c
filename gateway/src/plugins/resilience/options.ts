import { z } from 'zod';

const retrySchema = z.strictObject({
  maxRetries: z.number().int().min(0).max(5).optional().describe('Extra attempts of a query fetch (never a mutation); 0 turns retries off. Default 1.'),
  initialDelayMs: z.number().int().nonnegative().optional().describe('Backoff before the first retry, doubling after each, with full jitter. Default 25.'),
  maxDelayMs: z.number().int().nonnegative().optional().describe('Longest backoff; a Retry-After asking for longer gives up instead. Default 1000.'),
});

const policySchema = z.strictObject({
  retry: retrySchema.optional().describe('Retries of query fetches on connection errors and 429, 502, 503, 504 answers.'),
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
  .describe('Policies around each subgraph fetch (retries; later breakers and bulkheads).');

export type ResilienceOptions = z.infer<typeof resilienceOptionsSchema>;
export type RetryPolicy = Required<z.infer<typeof retrySchema>>;

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 1, initialDelayMs: 25, maxDelayMs: 1000 };
