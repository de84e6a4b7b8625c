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
  })
  .describe('One structured log line per GraphQL request: operation, status, duration, error codes.');

export type AccessLogOptions = z.infer<typeof accessLogOptionsSchema>;
