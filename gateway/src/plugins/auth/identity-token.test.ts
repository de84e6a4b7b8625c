import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIdentityVerifier, IdentitySigner } from './identity-token.js';

const identity = { kind: 'user' as const, id: 'u1', roles: ['admin'], scopes: ['a', 'b'], tenant: 'acme' };

afterEach(() => {
  vi.useRealTimers();
});

describe('identity tokens', () => {
  it('remembers a verified token only until its exp, then refuses it', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), toFake: ['Date'] });
    const signer = new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60 });
    const verify = createIdentityVerifier({ jwks: await signer.jwks });
    const token = await signer.token(identity);
    expect(await verify(token)).toEqual(identity);
    expect(await verify(token)).toEqual(identity);
    vi.setSystemTime(new Date('2026-01-01T00:01:30Z'));
    await expect(verify(token)).rejects.toThrow(/exp/);
  });

  it('never accepts a token signed with another key, remembered or not', async () => {
    const signer = new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60 });
    const other = new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60 });
    const verify = createIdentityVerifier({ jwks: await signer.jwks });
    expect(await verify(await signer.token(identity))).toEqual(identity);
    await expect(verify(await other.token(identity))).rejects.toThrow();
  });
});
