import { LRUCache } from 'lru-cache';
import { WALL_CLOCK } from '../../core/clock.js';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, jwtVerify, SignJWT, createLocalJWKSet, createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Identity } from '../../core/context.js';

export interface IdentityTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  privateKeyPem?: string;
}

/**
 * Signs the short-lived ES256 token that carries a verified identity to subgraphs, and publishes
 * its public key as a JWKS. Tokens are reused per identity for half their lifetime, so signing is
 * not on every subgraph fetch.
 */
export class IdentitySigner {
  private readonly privateKey: KeyObject;
  private readonly kid: string;
  readonly jwks: Promise<{ keys: JWK[] }>;
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  constructor(private readonly options: IdentityTokenOptions) {
    this.privateKey = options.privateKeyPem
      ? createPrivateKey(options.privateKeyPem)
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const publicKey = createPublicKey(this.privateKey);
    this.kid = `frontdesk-${publicKey.export({ type: 'spki', format: 'der' }).toString('base64url').slice(-16)}`;
    this.jwks = exportJWK(publicKey).then((jwk) => ({ keys: [{ ...jwk, kid: this.kid, alg: 'ES256', use: 'sig' }] }));
  }

  async token(identity: Identity, now = Date.now()): Promise<string> {
    const key = JSON.stringify(identity);
    const cached = this.cache.get(key);
    if (cached && cached.renewAt > now) return cached.token;
    const token = await new SignJWT({
      kind: identity.kind,
      roles: identity.roles,
      scope: identity.scopes.join(' '),
      ...(identity.tenant ? { tenant: identity.tenant } : {}),
      ...(identity.plan ? { plan: identity.plan } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setSubject(identity.id)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + this.options.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { token, renewAt: now + (this.options.ttlSeconds * 1000) / 2 });
    return token;
  }
}

/** What subgraphs and adapters use to verify the gateway's identity token. */
export interface IdentityVerifierOptions {
  /** The gateway's /.well-known/jwks.json, or a JWKS object (tests). */
  jwks: string | { keys: JWK[] };
  issuer?: string;
  audience?: string;
}

/** Most verified tokens a subgraph remembers (the gateway reuses a token per identity). */
const VERIFIED_ENTRIES = 10_000;

/**
 * Verifies the gateway's identity token. The gateway reuses one token per identity for half its
 * lifetime, so a verified token is remembered until its `exp`: the ES256 check runs once per
 * token, not on every subgraph request. (A key removed from the JWKS stops new tokens at once;
 * tokens already verified with it live out their short lifetime.)
 */
export function createIdentityVerifier(options: IdentityVerifierOptions): (token: string) => Promise<Identity> {
  const keys: JWTVerifyGetKey =
    typeof options.jwks === 'string' ? createRemoteJWKSet(new URL(options.jwks), { cooldownDuration: 10_000 }) : createLocalJWKSet(options.jwks);
  // Least recently used first past the bound; an entry lives until its token's `exp`.
  const verified = new LRUCache<string, Identity>({ max: VERIFIED_ENTRIES, perf: WALL_CLOCK, ttlResolution: 0 });
  return async (token) => {
    const known = verified.get(token);
    if (known) return known;
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['ES256'],
      issuer: options.issuer ?? 'frontdesk-gateway',
      audience: options.audience ?? 'frontdesk-subgraphs',
      clockTolerance: 5,
    });
    const identity: Identity = {
      kind: payload.kind === 'client' ? 'client' : 'user',
      id: String(payload.sub),
      roles: Array.isArray(payload.roles) ? (payload.roles as string[]) : [],
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      ...(typeof payload.tenant === 'string' ? { tenant: payload.tenant } : {}),
      ...(typeof payload.plan === 'string' ? { plan: payload.plan } : {}),
    };
    if (typeof payload.exp === 'number' && payload.exp * 1000 > Date.now()) verified.set(token, identity, { ttl: payload.exp * 1000 - Date.now() });
    return identity;
  };
}
