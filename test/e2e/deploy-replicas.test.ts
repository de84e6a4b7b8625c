import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startProcess, type Proc } from '../../bench/harness.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { configMapData, renderOverlay } from '../support/kubernetes.js';
import { deleteKeys, SHARED_REDIS_URL } from '../support/redis.js';
import { composeToFile, gql, tempDir } from '../support/servers.js';

// Two gateway processes started as the production manifests start them: the rendered ConfigMap's
// config and permissions, the identity key from the Secret's file, the overlay's environment. The
// subgraph verifies identity tokens with the JWKS of the first replica only, so a request signed
// in through the second works only if both sign with the key they share.
const prefix = `deploy-test-${randomUUID()}:`;
let issuer: Server;
let echo: RunningSubgraph;
const replicas: { url: string; proc: Proc }[] = [];
let token: (sub: string) => Promise<string>;

beforeAll(async () => {
  const objects = renderOverlay('production');
  const files = configMapData(objects, 'frontdesk-gateway-config');
  const env = configMapData(objects, 'frontdesk-gateway-env');
  const dir = tempDir();
  // Where the Deployment mounts them, here.
  const keyFile = join(dir, 'private-key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  writeFileSync(join(dir, 'permissions.yaml'), files['permissions.yaml']!);
  const config = join(dir, 'frontdesk.config.yaml');
  writeFileSync(config, files['frontdesk.config.yaml']!.replace('/var/run/secrets/frontdesk/identity/private-key.pem', keyFile).replace('/etc/frontdesk/permissions.yaml', join(dir, 'permissions.yaml')));

  // The company's token issuer, as AUTH_ISSUER and AUTH_AUDIENCE of the overlay name it.
  const signing = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(signing.publicKey)), kid: 'company', alg: 'ES256' }] });
  issuer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  token = (sub) =>
    new SignJWT({ scope: 'orders:read' })
      .setProtectedHeader({ alg: 'ES256', kid: 'company' })
      .setSubject(sub)
      .setIssuer(env.AUTH_ISSUER!)
      .setAudience(env.AUTH_AUDIENCE!)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signing.privateKey);

  const ports = [await freePort(), await freePort()];
  echo = await startEcho({ identity: { jwks: `http://127.0.0.1:${ports[0]}/.well-known/jwks.json` } });
  const supergraph = join(dir, 'supergraph.graphql');
  composeToFile(supergraph, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
  const processEnv = {
    ...env,
    NODE_ENV: 'production',
    POD_NAMESPACE: 'frontdesk',
    AUTH_JWKS_URL: `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/jwks.json`,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    SUPERGRAPH_PATH: supergraph,
    // The overlay enforces trusted documents; the echo operations are in no manifest.
    TRUSTED_DOCUMENTS: 'off',
  };
  for (const port of ports) {
    replicas.push({ url: `http://127.0.0.1:${port}/graphql`, proc: await startProcess('dist/gateway/src/main.js', ['--config', config, '--port', String(port)], processEnv, `http://127.0.0.1:${port}/ready`) });
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.proc.stop()));
  await echo?.stop();
  issuer?.close();
  await deleteKeys(SHARED_REDIS_URL, prefix);
});

describe('two replicas from the production manifests', () => {
  it('serve signed-in requests through either, the subgraph trusting the first replica\'s JWKS only', async () => {
    const headers = { authorization: `Bearer ${await token('u-42')}` };
    for (const replica of replicas) {
      const { status, body } = await gql(replica.url, '{ whoami }', { headers });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(JSON.parse(body.data!.whoami as string)).toMatchObject({ kind: 'user', id: 'u-42', scopes: ['orders:read'] });
    }
    // Both publish the one key.
    const [a, b] = await Promise.all(replicas.map(async (replica) => (await fetch(new URL('/.well-known/jwks.json', replica.url))).json()));
    expect(a).toEqual(b);
  });

  it('refuses a token of another issuer on either', async () => {
    const stranger = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'company' })
      .setSubject('u-1')
      .setIssuer('https://elsewhere.example/')
      .setAudience('frontdesk')
      .setExpirationTime('5m')
      .sign((await generateKeyPair('ES256')).privateKey);
    for (const replica of replicas) {
      const { status, body } = await gql(replica.url, '{ whoami }', { headers: { authorization: `Bearer ${stranger}` } });
      expect(status).toBe(401);
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
