import { z } from 'zod';

export const accessLogOptionsSchema = z
  .strictObject({
    slowRequestMs: z
      .number()
      .int()
      .nonnegative()
      .default(1000)
      .describe('Requests slower than this many milliseconds are logged at warn level. Default 1000.'),
    includeQuery: z
      .boolean()
      .default(false)
      .describe('Log the operation text with each request (may contain literals with user data). Default false.'),
    sampling: z
      .strictObject({
        successesPerSecond: z
          .number()
          .int()
          .nonnegative()
          .default(50)
          .describe('Successful requests logged in full each second; past it only a share (`ratio`) of them. Errors and slow requests are always logged. Default 50.'),
        ratio: z.number().min(0).max(1).default(0.01).describe('Share of successful requests logged past successesPerSecond. Default 0.01.'),
      })
      .prefault({})
      .describe('Bounds the access log under load: every error and slow request, successes up to a rate and then a sample; a line every 10 s counts what was left out.'),
  })
  .describe('One structured log line per GraphQL request: operation, status, duration, error codes.');

export type AccessLogOptions = z.infer<typeof accessLogOptionsSchema>;
