import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, SignJWT } from 'jose';

/**
 * The development token issuer `npm start` runs on 127.0.0.1:4099: a fresh ES256 key per run,
 * its JWKS at /.well-known/jwks.json (the gateway's frontdesk.config.yaml trusts it), and
 * POST /token to mint a token (`npm run token -- --sub u1 --scopes orders:read`). Never for
 * production: anyone who can reach it gets any token.
 */
export const DEV_ISSUER = 'frontdesk-dev-issuer';
export const DEV_AUDIENCE = 'frontdesk';

const port = Number(process.env.PORT ?? 4099);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = `dev-${randomUUID().slice(0, 8)}`;
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://issuer').pathname;
  const send = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  if (path === '/health' || path === '/ready') return send(200, '{"status":"ready","service":"dev-issuer"}');
  if (path === '/.well-known/jwks.json') return send(200, jwks);
  if (path === '/token' && req.method === 'POST') {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      let input: { sub?: string; scopes?: string[]; roles?: string[]; tenant?: string; plan?: string; ttlSeconds?: number };
      try {
        input = JSON.parse(body || '{}') as typeof input;
      } catch {
        return send(400, '{"error":"body must be JSON"}');
      }
      if (!input.sub) return send(400, '{"error":"sub is required"}');
      const now = Math.floor(Date.now() / 1000);
      void new SignJWT({ scope: (input.scopes ?? []).join(' '), roles: input.roles ?? [], ...(input.tenant ? { tenant: input.tenant } : {}), plan: input.plan ?? 'free' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setSubject(input.sub)
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + (input.ttlSeconds ?? 3600))
        .sign(privateKey)
        .then((token) => send(200, JSON.stringify({ token })));
    });
    return;
  }
  send(404, '{"error":"not found"}');
});
// Loopback only, unless HOST says otherwise (docker-compose, where the gateway is another container).
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => process.stdout.write(`dev issuer on http://${host}:${port} (kid ${kid})\n`));
const stop = (): void => void server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
