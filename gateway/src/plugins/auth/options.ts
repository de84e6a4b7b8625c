import { z } from 'zod';

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const SYMMETRIC = ['HS256', 'HS384', 'HS512'] as const;

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const jwtSchema = z
  .strictObject({
    algorithms: z
      .array(z.enum([...ASYMMETRIC, ...SYMMETRIC]))
      .min(1)
      .describe('Accepted signing algorithms, explicitly; "none" is never accepted.'),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional().describe('JWKS of the issuer; cached, refreshed for an unknown kid.'),
    publicKeyPem: z.string().includes('PUBLIC KEY').optional().describe('PEM public key of the issuer (SPKI).'),
    hmacSecret: z.string().min(32).optional().describe('Shared HMAC secret (at least 32 characters); use ${NAME} to read it from the environment.'),
    issuer: stringOrList.optional().describe('Required iss claim (one of).'),
    audience: stringOrList.optional().describe('Required aud claim (one of).'),
    clockSkewSeconds: z.number().int().nonnegative().default(30).describe('Tolerance for exp and nbf, in seconds. Default 30.'),
    jwksCooldownMs: z
      .number()
      .int()
      .nonnegative()
      .default(30_000)
      .describe('Least time between two JWKS fetches, so unknown kids cannot hammer the issuer, in ms. Default 30000.'),
    jwksCacheMaxAgeMs: z.number().int().positive().default(600_000).describe('How long fetched keys are trusted, in ms. Default 600000.'),
    verifiedCacheMs: z
      .number()
      .int()
      .nonnegative()
      .default(300_000)
      .describe('How long a verified token is remembered (never past its exp), so it is not verified on every request, in ms; 0 verifies every time. Default 300000.'),
    claims: z
      .strictObject({
        userId: z.string().default('sub').describe('Claim with the user id. Default sub.'),
        roles: z.string().default('roles').describe('Claim with the roles (list or space-separated). Default roles.'),
        scopes: z.string().default('scope').describe('Claim with the scopes (list or space-separated). Default scope.'),
        tenant: z.string().default('tenant').describe('Claim with the tenant. Default tenant.'),
        plan: z.string().default('plan').describe('Claim with the usage plan. Default plan.'),
      })
      .prefault({}),
  })
  .check((ctx) => {
    const value = ctx.value;
    const sources = [value.jwksUrl, value.publicKeyPem, value.hmacSecret].filter((v) => v !== undefined).length;
    if (sources !== 1) ctx.issues.push({ code: 'custom', input: value, message: 'set exactly one of jwksUrl, publicKeyPem, hmacSecret' });
    const symmetric = value.algorithms.filter((a) => (SYMMETRIC as readonly string[]).includes(a));
    if (value.hmacSecret !== undefined && symmetric.length !== value.algorithms.length) {
      ctx.issues.push({ code: 'custom', input: value, path: ['algorithms'], message: 'hmacSecret needs HS256/HS384/HS512 only' });
    }
    if (value.hmacSecret === undefined && symmetric.length > 0) {
      // RS/HS confusion: a public key must never be usable as an HMAC secret.
      ctx.issues.push({ code: 'custom', input: value, path: ['algorithms'], message: 'HS algorithms need hmacSecret; keys are asymmetric here' });
    }
  });

/** What an API key stands for; in Redis, the JSON value under the key's hash. */
export const apiKeyRecordSchema = z.strictObject({
  clientId: z.string().min(1),
  plan: z.string().min(1).describe('Usage plan, e.g. free, pro, partner.'),
  tenant: z.string().optional(),
  scopes: z.array(z.string()).default([]),
});

const apiKeySchema = apiKeyRecordSchema.extend({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the hex SHA-256 of the key').describe('SHA-256 (hex) of the key; the key itself is never stored.'),
});

export const authOptionsSchema = z
  .strictObject({
    jwt: jwtSchema.optional().describe('Bearer JWTs.'),
    apiKeys: z
      .strictObject({
        header: z.string().regex(/^[a-z0-9-]+$/).default('x-api-key'),
        keys: z.array(apiKeySchema).default([]).describe('Keys of machine clients, stored hashed.'),
        redis: z
          .strictObject({
            prefix: z.string().default('frontdesk:apikey:').describe('Redis key of a client key: prefix + hex SHA-256 of the key. Default frontdesk:apikey:.'),
            cacheTtlMs: z
              .number()
              .int()
              .nonnegative()
              .default(30_000)
              .describe('How long a key found in Redis is trusted without asking again (revocation delay), in ms. Default 30000.'),
            negativeCacheTtlMs: z
              .number()
              .int()
              .nonnegative()
              .default(5_000)
              .describe('How long an unknown key is remembered as unknown, so floods of bad keys do not reach Redis, in ms. Default 5000.'),
            cacheEntries: z.number().int().positive().default(10_000).describe('Most keys remembered in memory. Default 10000.'),
          })
          .optional()
          .describe('Also look keys up in Redis (redis.url), shared by every replica: npm run api-key -- add.'),
      })
      .optional()
      .describe('API keys for machine clients.'),
    identity: z
      .strictObject({
        header: z.string().regex(/^[a-z0-9-]+$/).default('x-frontdesk-identity').describe('Header carrying the identity token to subgraphs.'),
        issuer: z.string().default('frontdesk-gateway'),
        audience: z.string().default('frontdesk-subgraphs'),
        ttlSeconds: z.number().int().positive().max(3600).default(60).describe('Lifetime of an identity token, in seconds. Default 60.'),
        privateKeyPem: z
          .preprocess((value) => (value === '' ? undefined : value), z.string().includes('PRIVATE KEY').optional())
          .describe('ES256 PKCS#8 key shared by every replica (${NAME} from the environment; empty is unset). Required in production (or privateKeyFile); development without one signs with a key made at start-up.'),
        privateKeyFile: z
          .preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional())
          .describe('File holding that key (a mounted Secret), read at start-up.'),
      })
      .refine((identity) => !(identity.privateKeyPem && identity.privateKeyFile), { message: 'set privateKeyPem or privateKeyFile, not both' })
      .prefault({})
      .describe('The short-lived token that carries the verified identity to subgraphs.'),
  })
  .describe('Authentication: JWTs and API keys at the gateway, identity forwarded as a signed token.');

export type AuthOptions = z.output<typeof authOptionsSchema>;
export type JwtOptions = NonNullable<AuthOptions['jwt']>;
