import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { IdentitySigner } from '../../gateway/src/plugins/auth/index.js';
import { startAccounts } from '../../subgraphs/accounts/server.js';
import { startReviews } from '../../subgraphs/reviews/server.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { COMMITTED_SUPERGRAPH, gql, startTestGateway } from '../support/servers.js';

// Query.me: the verified identity travels gateway -> accounts as the gateway's signed token.
const SECRET = 'a-test-hmac-secret-of-at-least-32-chars';
const identityKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
let accounts: RunningSubgraph;
let reviews: RunningSubgraph;
let gateway: RunningGateway;

const token = (sub: string) =>
  new SignJWT({ scope: 'orders:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

beforeAll(async () => {
  const jwks = await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: identityKey }).jwks;
  [accounts, reviews] = await Promise.all([startAccounts({ logLevel: 'silent', identity: { jwks } }), startReviews({ logLevel: 'silent', identity: { jwks } })]);
  gateway = await startTestGateway({
    supergraph: { path: COMMITTED_SUPERGRAPH, watch: false },
    // products, inventory and orders are not started: this test stays within accounts and reviews.
    subgraphs: { accounts: { url: accounts.url }, reviews: { url: reviews.url } },
    auth: { jwt: { algorithms: ['HS256'], hmacSecret: SECRET }, identity: { privateKeyPem: identityKey } },
  });
});
afterAll(async () => {
  await gateway?.stop();
  await Promise.all([accounts?.stop(), reviews?.stop()]);
});

describe('Query.me', () => {
  it("returns the caller's own data", async () => {
    const { body } = await gql(gateway.url, '{ me { id name email reviews { rating } } }', { headers: { authorization: `Bearer ${await token('u7')}` } });
    expect(body.errors).toBeUndefined();
    expect(body.data!.me).toMatchObject({ id: 'u7', email: expect.stringMatching(/7@example\.com$/) });
  });

  it('is null with UNAUTHENTICATED at its path without a token, while public fields are served', async () => {
    const { status, body } = await gql(gateway.url, '{ me { name } user(id: "u2") { name } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: null, user: { name: expect.any(String) } });
    expect(body.errors).toEqual([expect.objectContaining({ path: ['me'], extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
  });

  it('refuses a subgraph request whose identity token does not verify', async () => {
    const forged = await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60 }).token({ kind: 'user', id: 'u1', roles: [], scopes: [] });
    const response = await fetch(accounts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-frontdesk-identity': forged },
      body: JSON.stringify({ query: '{ me { name } }' }),
    });
    expect(response.status).toBe(401);
  });
});
