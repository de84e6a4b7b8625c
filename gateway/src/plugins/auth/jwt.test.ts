import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authOptionsSchema } from './options.js';
import { createJwtVerifier } from './jwt.js';

const SECRET = 'a-unit-test-hmac-secret-of-32-chars!';
const options = (extra: Record<string, unknown> = {}) => authOptionsSchema.parse({ jwt: { algorithms: ['HS256'], hmacSecret: SECRET, clockSkewSeconds: 0, ...extra } }).jwt!;
const sign = (exp: number) => new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

afterEach(() => {
  vi.useRealTimers();
});

describe('remembered verified tokens', () => {
  it('never outlive the token: an expired token is refused although it was verified before', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const verify = createJwtVerifier(options());
    const token = await sign(1_700_000_010);
    expect(await verify(token)).toMatchObject({ id: 'u1', roles: ['admin'] });
    vi.setSystemTime(1_700_000_009_000);
    expect(await verify(token)).toMatchObject({ id: 'u1' });
    vi.setSystemTime(1_700_000_011_000);
    await expect(verify(token)).rejects.toThrow(/expired/);
  });

  it('are found by the key they were verified under (the Authorization header), until the token expires', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const verify = createJwtVerifier(options());
    const token = await sign(1_700_000_010);
    const header = `Bearer ${token}`;
    expect(verify.remembered(header)).toBeUndefined();
    expect(await verify(token, header)).toMatchObject({ id: 'u1' });
    expect(verify.remembered(header)).toMatchObject({ id: 'u1', roles: ['admin'] });
    // Only under that key: the bare token, or the header spelt otherwise, is verified anew.
    expect(verify.remembered(token)).toBeUndefined();
    expect(verify.remembered(`bearer ${token}`)).toBeUndefined();
    vi.setSystemTime(1_700_000_011_000);
    expect(verify.remembered(header)).toBeUndefined();
    await expect(verify(token, header)).rejects.toThrow(/expired/);
  });

  it('do not make a forged token acceptable', async () => {
    const verify = createJwtVerifier(options());
    const token = await sign(Math.floor(Date.now() / 1000) + 600);
    await verify(token);
    const forged = `${token.slice(0, -4)}AAAA`;
    await expect(verify(forged)).rejects.toThrow(/signature/);
  });
});
