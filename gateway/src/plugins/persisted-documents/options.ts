import { z } from 'zod';

const manifestName = z.string().regex(/^[\w.-]+$/, 'a manifest name');

export const persistedDocumentsOptionsSchema = z
  .strictObject({
    apq: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Automatic persisted queries: a client sends a hash, then the text once. Default true.'),
        ttlSeconds: z.number().int().positive().default(86_400).describe('How long a registered text is kept. Default 86400.'),
        maxQueryBytes: z.number().int().positive().default(65_536).describe('Longest text registered. Default 65536.'),
      })
      .prefault({})
      .describe('APQ, stored in Redis when redis.url is set (shared by replicas), in memory otherwise.'),
    manifests: z
      .array(
        z.strictObject({
          name: manifestName.describe('Name used by safelists, e.g. web.'),
          path: z.string().min(1).describe("An Apollo persisted query manifest (format apollo-persisted-query-manifest) or Relay's persisted-queries.json."),
        }),
      )
      .default([])
      .describe('Trusted documents: the operations clients were built with.'),
    enforcement: z
      .enum(['off', 'log', 'enforce'])
      .default('off')
      .describe(
        'enforce: only operations of the caller\'s manifests run, by id or by full text; any other is 400 OPERATION_NOT_ALLOWED. log: they run and are logged (to roll enforcement out). off: manifests only resolve ids. Default off.',
      ),
    safelists: z
      .strictObject({
        plans: z.record(z.string(), z.array(manifestName)).default({}).describe('Manifests each plan may use ("anonymous" without an identity).'),
        clients: z.record(z.string(), z.array(manifestName)).default({}).describe('Manifests each API-key client may use (by client id); wins over its plan.'),
      })
      .prefault({})
      .describe('Who may use which manifest; a caller named nowhere may use every manifest.'),
  })
  .describe('Persisted operations: APQ and trusted documents (safelisting).');

export type PersistedDocumentsOptions = z.infer<typeof persistedDocumentsOptionsSchema>;
