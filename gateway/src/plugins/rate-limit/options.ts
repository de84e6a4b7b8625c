import { z } from 'zod';

const windowSchema = z.strictObject({
  limit: z.number().int().positive().describe('Units allowed per window: requests, or cost units when weight is cost.'),
  windowSeconds: z.number().int().positive().describe('The window, in seconds.'),
});

const quotaSchema = z.strictObject({
  requests: z.number().int().positive().optional().describe('Requests allowed in the period.'),
  cost: z.number().int().positive().optional().describe('Cost units allowed in the period (each request weighs its estimated cost).'),
});

export const planSchema = z.strictObject({
  rate: windowSchema.optional().describe('The sustained rate: a fixed window counted in Redis (shared by every replica) or in memory.'),
  burst: windowSchema.optional().describe('Extra units over a longer window, taken once the rate is spent (rate-limiter-flexible BurstyRateLimiter).'),
  maxCost: z.number().int().positive().optional().describe('The most estimated cost one operation of the plan may have (needs limits); more is 400 QUERY_TOO_COMPLEX.'),
  allowedOperations: z
    .array(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'an operation name'))
    .optional()
    .describe('Only these operation names run for the plan (a safelist by name); others are 400 OPERATION_NOT_ALLOWED.'),
  tenant: windowSchema.optional().describe('A rate shared by every client of one tenant (the identity\'s tenant claim), beside each client\'s own.'),
  daily: quotaSchema.optional().describe('Quota per UTC day; past it 429 QUOTA_EXCEEDED until midnight UTC.'),
  monthly: quotaSchema.optional().describe('Quota per UTC calendar month.'),
  operations: z
    .record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'an operation name'), windowSchema)
    .optional()
    .describe('Rates per operation name (per client), beside the plan rate.'),
  rootFields: z
    .record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'a root field name'), windowSchema)
    .optional()
    .describe('Rates per root field (per client): an operation asking the field (of Query or Mutation) counts once against it.'),
});
export type PlanLimits = z.infer<typeof planSchema>;

const abuseSchema = z.strictObject({
  refusals: z.number().int().positive().default(20).describe('Refusals within the window that block a client. Default 20.'),
  windowSeconds: z.number().int().positive().default(60).describe('The window refusals are counted over, in seconds. Default 60.'),
  blockSeconds: z.number().int().positive().default(60).describe('The first block, in seconds; each further block of the same client doubles it. Default 60.'),
  maxBlockSeconds: z.number().int().positive().default(3600).describe('The longest block, in seconds. Default 3600.'),
  codes: z
    .array(z.string().regex(/^[A-Z_]+$/))
    .default(['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'QUERY_TOO_COMPLEX'])
    .describe('The refusals that count. Default UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, QUOTA_EXCEEDED, QUERY_TOO_COMPLEX.'),
});
export type AbuseOptions = z.infer<typeof abuseSchema>;

export const rateLimitsOptionsSchema = z
  .strictObject({
    all: planSchema.default({}).describe('Limits of every caller; a plan overrides them key by key.'),
    plans: z
      .record(z.string().min(1), planSchema)
      .default({})
      .describe('By the caller\'s plan (the token\'s or API key\'s `plan` claim; `anonymous` for callers without credentials).'),
    weight: z.enum(['cost', 'requests']).default('cost').describe('cost: a request weighs its estimated cost (operation limits on; at least 1), requests: 1. Default cost.'),
    onStoreFailure: z
      .enum(['open', 'closed'])
      .default('open')
      .describe('When Redis fails: open counts in this replica\'s memory meanwhile, closed refuses with 503 SERVICE_UNAVAILABLE. Default open.'),
    keyPrefix: z.string().min(1).default('frontdesk:rl').describe('Prefix of the counters in Redis. Default frontdesk:rl.'),
    abuse: abuseSchema
      .optional()
      .describe('Blocks a client (or the address of a caller without valid credentials) that collects too many refusals; GET/POST /admin/blocks lists and lifts blocks.'),
  })
  .describe('Rate limits and quotas per client (API key client, user, or client IP for anonymous callers), from the caller\'s plan.');

export type RateLimitsOptions = z.infer<typeof rateLimitsOptionsSchema>;
