import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Pieces every adapter's mapping file shares. */
export const cacheHintSchema = z.strictObject({
  maxAge: z.number().int().nonnegative().describe('Seconds the value may be cached.'),
  scope: z.enum(['PUBLIC', 'PRIVATE']).optional().describe('PRIVATE: cached per user only. Default PUBLIC.'),
});
export type CacheHint = z.infer<typeof cacheHintSchema>;

export { legacyResilienceSchema } from './resilience.js';
import { legacyResilienceSchema } from './resilience.js';

/** Several URLs in one environment variable (TARGET_URL), separated by commas. */
export function urlList(value: string): string[] {
  return value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

export const targetSchema = z.strictObject({
  url: z.string().min(1).optional().describe('Base URL of the legacy service; env TARGET_URL overrides it (several separated by commas).'),
  urls: z.array(z.string().min(1)).min(1).optional().describe('Base URLs of several instances of the service, balanced and guarded (resilience). Instead of url.'),
  resilience: legacyResilienceSchema,
  timeoutMs: z.number().int().positive().default(2_000).describe('Deadline of one legacy call in ms. Default 2000.'),
  maxConnections: z.number().int().positive().default(32).describe('Keep-alive connections to the service. Default 32.'),
  concurrency: z.number().int().positive().default(8).describe('Single-item lookups in flight per batch. Default 8.'),
  maxBatchSize: z.number().int().positive().default(100).describe('Most keys in one batch call. Default 100.'),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('Headers sent on every call; ${NAME} takes the value of environment variable NAME.'),
}).refine((t) => (t.url === undefined) !== (t.urls === undefined), { message: 'set one of url and urls' });

export const forwardHeadersSchema = z
  .array(z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name'))
  .default([])
  .describe('Client request headers passed on to the legacy service (x-request-id always is).');

/** What of the verified caller a legacy service can be told: a claim, or the gateway's token itself. */
export const identityClaimSchema = z
  .enum(['id', 'kind', 'roles', 'scopes', 'tenant', 'plan', 'token'])
  .describe('id, kind (user or client), roles and scopes (space-separated), tenant, plan, or token (the gateway-signed identity token, for services that verify it against the gateway JWKS).');
export type IdentityClaim = z.infer<typeof identityClaimSchema>;

export const callerIndependentSchema = z
  .boolean()
  .default(false)
  .describe(
    "The service answers the same whoever calls: the caller's identity it is sent (identity headers) and its Vary headers do not make answers private. Default false: such answers are PRIVATE to the caller at the gateway's cache.",
  );

export const identityHeadersSchema = z
  .record(z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name'), identityClaimSchema)
  .default({})
  .describe('Name to claim. Sent only for signed-in callers; a client header of the same name is never passed on.');

/** Permissions of the generated subgraph (graphql-shield, deny by default): README "Authorization". */
export { permissionsFileSchema } from '../../gateway/src/plugins/authorization/options.js';

export class MappingError extends Error {
  override name = 'MappingError';
}

/** Reads and validates a YAML mapping file; errors name the file, the key path and the problem. */
export function loadMappingFile<T extends z.ZodType>(path: string, schema: T): z.output<T> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new MappingError(`Cannot read mapping ${path}: ${(error as Error).message}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      return `  - ${issue.path.join('.') || '(root)'}: ${issue.message}${keys}`;
    });
    throw new MappingError(`Invalid mapping ${path}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * Resolves ${NAME} from the environment: secrets live there, never in the mapping file. A header
 * whose variable is unset is left out (returned as undefined) so that optional credentials work.
 */
export function interpolateEnv(value: string, env: NodeJS.ProcessEnv): string | undefined {
  let missing = false;
  const result = value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_match, name: string) => {
    const found = env[name];
    if (found === undefined || found === '') missing = true;
    return found ?? '';
  });
  return missing ? undefined : result;
}

export function interpolateHeaders(headers: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const resolved = interpolateEnv(value, env);
    if (resolved !== undefined) out[name.toLowerCase()] = resolved;
  }
  return out;
}

/**
 * A legacy HTTP Cache-Control header as a cache hint, for types the mapping gives none:
 * max-age (or s-maxage), private as PRIVATE, and no-store/no-cache as not cacheable.
 */
export function hintFromCacheControl(header: string | undefined): CacheHint | undefined {
  if (!header) return undefined;
  const directives = new Map<string, string | true>();
  for (const part of header.split(',')) {
    const [name, value] = part.trim().split('=');
    if (name) directives.set(name.toLowerCase(), value?.replace(/"/g, '') ?? true);
  }
  if (directives.has('no-store') || directives.has('no-cache')) return { maxAge: 0 };
  const age = directives.get('s-maxage') ?? directives.get('max-age');
  if (typeof age !== 'string' || !/^\d+$/.test(age)) return undefined;
  return { maxAge: Number(age), scope: directives.has('private') ? 'PRIVATE' : 'PUBLIC' };
}
