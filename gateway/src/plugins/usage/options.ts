import { z } from 'zod';

export const usageOptionsSchema = z
  .strictObject({
    keyPrefix: z.string().min(1).default('frontdesk:usage').describe('Prefix of the usage counters in Redis. Default frontdesk:usage.'),
    flushIntervalMs: z.number().int().positive().default(1000).describe('How often each replica adds its counts to Redis, in ms. Default 1000.'),
    maxOperations: z.number().int().positive().default(100).describe('Operation names counted apart per client and hour; more count as (other). Default 100.'),
    maxRows: z.number().int().positive().default(10_000).describe('Clients counted apart per hour (per replica); more count as (other). Default 10000.'),
    retentionDays: z.number().int().positive().default(400).describe('How long hourly counts are kept in Redis, in days. Default 400.'),
  })
  .describe('Metering: per client, plan, operation and hour, requests, errors by code, cost units, bytes and latency buckets (GET /admin/usage, npm run usage).');

export type UsageOptions = z.infer<typeof usageOptionsSchema>;
