import { z } from 'zod';

export const metricsOptionsSchema = z
  .strictObject({
    path: z.string().regex(/^\/[A-Za-z0-9/_.-]*$/, 'an absolute path').default('/metrics').describe('Path of the Prometheus scrape endpoint. Default /metrics.'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe('Serve /metrics on this port of its own (plain HTTP, `host`), not on the gateway\'s; 0 picks a free one. Default: the gateway\'s port.'),
    host: z.string().min(1).default('0.0.0.0').describe('Address the own metrics port listens on. Default 0.0.0.0.'),
    topOperations: z.number().int().positive().max(1000).default(50).describe('Operation names labelled apart (the most frequent); the rest read `other`. Default 50.'),
    topClients: z.number().int().positive().max(1000).default(20).describe('Client names labelled apart (the most frequent); the rest read `other`. Default 20.'),
    processMetrics: z.boolean().default(true).describe('Node process metrics (CPU, memory, event loop lag, GC). Default true.'),
    statusPage: z
      .boolean()
      .default(true)
      .describe('Serve the status and usage page at /status (its data at GET /admin/status, role admin). Default true.'),
  })
  .describe('Prometheus metrics (prom-client) and the status page; README "Observability".');

export type MetricsOptions = z.infer<typeof metricsOptionsSchema>;
