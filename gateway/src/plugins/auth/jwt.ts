import { LRUCache } from 'lru-cache';
import { WALL_CLOCK } from '../../core/clock.js';
import { PROCESS_SEED, fingerprint } from '../../core/fingerprint.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Identity } from '../../core/context.js';
import { EdgeRefusal } from '../../core/plugin.js';
import type { JwtOptions } from './options.js';

const CHALLENGE = { 'www-authenticate': 'Bearer' };

function refuse(reason: string): EdgeRefusal {
  return new EdgeRefusal('UNAUTHENTICATED', `Invalid token: ${reason}`, CHALLENGE);
}

/** Why a token failed, in words a client can act on; never the library's internals. */
function reasonFor(error: unknown): EdgeRefusal {
  if (error instanceof errors.JWTExpired) return refuse('expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return refuse('not yet valid');
      case 'iss':
        return refuse('wrong issuer');
      case 'aud':
        return refuse('wrong audience');
      default:
        return refuse(`invalid ${error.claim} claim`);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('bad signature');
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse('signing algorithm not allowed');
  if (error instanceof errors.JWKSNoMatchingKey) return refuse('unknown signing key');
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new EdgeRefusal('UPSTREAM_UNAVAILABLE', 'The token issuer could not be reached to verify the token');
  }
  return refuse('malformed');
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}

/**
 * Verifies bearer JWTs with jose: the key from a JWKS (cached; refetched for an unknown kid at
 * most once per cooldown), a PEM public key or an HMAC secret; exp, nbf, iss and aud checked with
 * the clock skew; only the configured algorithms (so never "none", and no RS/HS confusion).
 */
export interface JwtVerifier {
  /**
   * The caller of a token, remembered under `key` (the token by default). The auth plugin passes
   * the whole Authorization header: the next request with the same header is found by the string
   * the HTTP parser made, without taking the token out of it again.
   */
  (token: string, key?: string): Identity | Promise<Identity>;
  /** The caller remembered under `key`, if any (and not expired). */
  remembered(key: string): Identity | undefined;
}

export function createJwtVerifier(options: JwtOptions): JwtVerifier {
  let key: JWTVerifyGetKey | KeyObject | Uint8Array;
  if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.jwksCooldownMs,
      cacheMaxAge: options.jwksCacheMaxAgeMs,
      timeoutDuration: 5_000,
    });
  } else if (options.publicKeyPem) {
    key = createPublicKey(options.publicKeyPem);
  } else {
    key = new TextEncoder().encode(options.hmacSecret);
  }
  const claims = options.claims;
  // A verified token maps to the same caller until it expires: remember it (bounded, and at most
  // verifiedCacheMs, so that a key withdrawn from the JWKS stops working within that time).
  // A remembered token answers at once, without a promise.
  // Least recently used first past the bound; an entry lives until the token's `exp` or verifiedCacheMs.
  // Found by the key's fingerprint (core/fingerprint.ts), then the key compared in full: a Map of
  // the key itself would hash all of a new header string on every request. Two keys sharing a
  // fingerprint share one place: the later one replaces the earlier, which is verified again when it returns.
  const verified = new LRUCache<number, { key: string; identity: Identity }>({ max: VERIFIED_LIMIT, perf: WALL_CLOCK, ttlResolution: 0 });
  const remembered = (key: string): Identity | undefined => {
    const found = verified.get(fingerprint(key, PROCESS_SEED));
    return found !== undefined && found.key === key ? found.identity : undefined;
  };
  const verifier = (token: string, key = token): Identity | Promise<Identity> => remembered(key) ?? verifyAndRemember(token, key);
  verifier.remembered = remembered;
  return verifier;

  async function verifyAndRemember(token: string, key: string): Promise<Identity> {
    const identity = await verify(token);
    if (options.verifiedCacheMs > 0) {
      const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp * 1000;
      const ttl = Math.min(exp, Date.now() + options.verifiedCacheMs) - Date.now();
      if (ttl > 0) verified.set(fingerprint(key, PROCESS_SEED), { key, identity }, { ttl });
    }
    return identity;
  }

  async function verify(token: string): Promise<Identity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        algorithms: options.algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw reasonFor(error);
    }
    const id = payload[claims.userId];
    if (typeof id !== 'string' || id === '') throw refuse(`missing ${claims.userId} claim`);
    const tenant = payload[claims.tenant];
    const plan = payload[claims.plan];
    return {
      kind: 'user',
      id,
      roles: list(payload[claims.roles]),
      scopes: list(payload[claims.scopes]),
      ...(typeof tenant === 'string' ? { tenant } : {}),
      ...(typeof plan === 'string' ? { plan } : {}),
    };
  }
}

const VERIFIED_LIMIT = 10_000;
