import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { IdentitySigner } from '../../gateway/src/plugins/auth/index.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { composeToFile, gql, startTestGateway, tempDir } from '../support/servers.js';

// Authentication at the gateway against a real JWKS server, identity forwarded to a real subgraph.
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'frontdesk';
const issuerKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const identityKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const API_KEY = 'fd_live_3b1f2c9e8a7d';

let jwks: Server;
let jwksFetches = 0;
let jwksUrl: string;
let echo: RunningSubgraph;
let gateway: RunningGateway;

function sign(claims: Record<string, unknown>, options: { key?: KeyObject; kid?: string; alg?: string; exp?: number; nbf?: number; iss?: string; aud?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'orders:read catalog:read', roles: ['customer'], tenant: 'acme', plan: 'pro', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1' })
    .setSubject('u1')
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(options.nbf ?? now - 5)
    .setExpirationTime(options.exp ?? now + 300)
    .sign(options.key ?? issuerKeys.privateKey);
}

beforeAll(async () => {
  const jwk: JWK = { ...(await exportJWK(issuerKeys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    jwksFetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  // The subgraph trusts the gateway's identity key, from its JWKS.
  echo = await startEcho({ identity: { jwks: await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: identityKey }).jwks } });
  const path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
  gateway = await startTestGateway({
    supergraph: { path, watch: false },
    auth: {
      jwt: { algorithms: ['RS256'], jwksUrl, issuer: ISSUER, audience: AUDIENCE, clockSkewSeconds: 5, jwksCooldownMs: 60_000 },
      apiKeys: { keys: [{ sha256: createHash('sha256').update(API_KEY).digest('hex'), clientId: 'partner-shop', plan: 'partner', scopes: ['catalog:read'] }] },
      identity: { privateKeyPem: identityKey },
    },
  });
});
beforeEach(() => {
  jwksFetches = 0;
});
afterAll(async () => {
  await gateway?.stop();
  await echo?.stop();
  jwks?.close();
});

const whoami = async (headers: Record<string, string>) => gql(gateway.url, '{ whoami requestId }', { headers });

describe('bearer JWTs', () => {
  it('turns a valid token into an identity that reaches the subgraph', async () => {
    const { status, body } = await whoami({ authorization: `Bearer ${await sign({})}` });
    expect(status).toBe(200);
    expect(JSON.parse(body.data!.whoami as string)).toEqual({ kind: 'user', id: 'u1', roles: ['customer'], scopes: ['orders:read', 'catalog:read'], tenant: 'acme', plan: 'pro' });
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['expired', async () => sign({}, { exp: now() - 60 }), 'Invalid token: expired'],
    ['not yet valid', async () => sign({}, { nbf: now() + 600 }), 'Invalid token: not yet valid'],
    ['from the wrong issuer', async () => sign({}, { iss: 'https://evil.test' }), 'Invalid token: wrong issuer'],
    ['for the wrong audience', async () => sign({}, { aud: 'someone-else' }), 'Invalid token: wrong audience'],
    ['with a bad signature', async () => sign({}, { key: otherKeys.privateKey }), 'Invalid token: bad signature'],
    [
      'with alg none',
      async () => {
        const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'u1', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 })}.`;
      },
      'Invalid token: signing algorithm not allowed',
    ],
    [
      'signed HS256 with the public key (RS/HS confusion)',
      async () => {
        const secret = new TextEncoder().encode(issuerKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
        return new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('u1').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now() + 300).sign(secret);
      },
      'Invalid token: signing algorithm not allowed',
    ],
    ['that is not a JWT', async () => 'not.a.jwt', 'Invalid token: malformed'],
  ])('refuses a token %s with 401 and the reason', async (_name, token, message) => {
    const { status, headers, body } = await whoami({ authorization: `Bearer ${await token()}` });
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toBe('Bearer');
    expect(body).toEqual({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('refetches the JWKS once for an unknown kid, then refuses; a flood of kids does not refetch', async () => {
    const path = join(tempDir(), 'supergraph.graphql');
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    const strict = await startTestGateway({
      supergraph: { path, watch: false },
      auth: { jwt: { algorithms: ['RS256'], jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 500 } },
    });
    try {
      const ask = async (token: string) => gql(strict.url, '{ requestId }', { headers: { authorization: `Bearer ${token}` } });
      expect((await ask(await sign({}))).status).toBe(200);
      expect(jwksFetches).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      const unknown = await ask(await sign({}, { kid: 'rotated-2' }));
      expect(unknown.status).toBe(401);
      expect(unknown.body.errors![0]!.message).toBe('Invalid token: unknown signing key');
      expect(jwksFetches).toBe(2);
      // Twenty more unknown kids within the cooldown: no request reaches the issuer.
      for (let i = 0; i < 20; i += 1) expect((await ask(await sign({}, { kid: `flood-${i}` }))).status).toBe(401);
      expect(jwksFetches).toBe(2);
      expect((await ask(await sign({}))).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });

  it('refuses a non-bearer Authorization header', async () => {
    const { status, body } = await whoami({ authorization: 'Basic dTE6cGFzcw==' });
    expect(status).toBe(401);
    expect(body.errors![0]!.message).toMatch(/Bearer/);
  });
});

describe('API keys', () => {
  it('maps a known key to its client, plan and scopes', async () => {
    const { body } = await whoami({ 'x-api-key': API_KEY });
    expect(JSON.parse(body.data!.whoami as string)).toEqual({ kind: 'client', id: 'partner-shop', roles: [], scopes: ['catalog:read'], plan: 'partner' });
  });

  it('refuses an unknown key with 401, never as anonymous', async () => {
    const { status, body } = await whoami({ 'x-api-key': 'fd_live_guess' });
    expect(status).toBe(401);
    expect(body.errors![0]).toEqual({ message: 'Invalid API key', extensions: { code: 'UNAUTHENTICATED' } });
  });
});

describe('identity forwarding', () => {
  it('serves anonymous requests with no identity', async () => {
    const { status, body } = await whoami({});
    expect(status).toBe(200);
    expect(body.data!.whoami).toBeNull();
  });

  it('never forwards an identity header sent by the client', async () => {
    const forged = await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60 }).token({ kind: 'user', id: 'admin', roles: ['admin'], scopes: [] });
    const anonymous = await gql(gateway.url, '{ whoami header(name: "x-frontdesk-identity") }', { headers: { 'x-frontdesk-identity': forged } });
    expect(anonymous.body.data).toEqual({ whoami: null, header: null });
    const signedIn = await gql(gateway.url, '{ whoami header(name: "x-frontdesk-identity") }', {
      headers: { 'x-frontdesk-identity': forged, authorization: `Bearer ${await sign({})}` },
    });
    expect(JSON.parse(signedIn.body.data!.whoami as string).id).toBe('u1');
    expect(signedIn.body.data!.header).not.toBe(forged);
  });

  it('publishes the identity key at /.well-known/jwks.json', async () => {
    const response = await fetch(new URL('/.well-known/jwks.json', gateway.url));
    const body = (await response.json()) as { keys: JWK[] };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(body.keys[0]!.d).toBeUndefined();
  });
});
