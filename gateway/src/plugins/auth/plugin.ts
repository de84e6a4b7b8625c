import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { EdgeRefusal, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { createApiKeyVerifier } from './api-keys.js';
import { IdentitySigner } from './identity-token.js';
import { createJwtVerifier } from './jwt.js';
import type { AuthOptions } from './options.js';

function readPrivateKey(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`auth.identity.privateKeyFile ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

export const JWKS_PATH = '/.well-known/jwks.json';

/** The environment variable through which `--workers` hands its workers one development identity key. */
export const WORKERS_IDENTITY_KEY = 'FRONTDESK_WORKERS_IDENTITY_KEY';

/**
 * Authentication at the edge: a bearer JWT or an API key becomes `context.identity`; no
 * credential is anonymous; a present but invalid one is a 401 for the whole request with the
 * reason. The identity reaches subgraphs only as a short-lived token signed by the gateway.
 */
export function createAuthPlugin(options: AuthOptions, ctx: PluginContext): FrontdeskPlugin {
  const verifyJwt = options.jwt ? createJwtVerifier(options.jwt) : undefined;
  const apiKeyHeader = options.apiKeys?.header ?? 'x-api-key';
  const byApiKey = options.apiKeys ? createApiKeyVerifier(options.apiKeys, ctx.redis, ctx.logger) : undefined;
  const privateKeyPem =
    options.identity.privateKeyPem ??
    (options.identity.privateKeyFile ? readPrivateKey(options.identity.privateKeyFile) : undefined) ??
    (cluster.isWorker ? process.env[WORKERS_IDENTITY_KEY] : undefined);
  if (!privateKeyPem && ctx.production) {
    throw new Error(
      'auth.identity.privateKeyPem or privateKeyFile is required with NODE_ENV=production (env IDENTITY_PRIVATE_KEY or IDENTITY_PRIVATE_KEY_FILE): every replica must sign identity tokens with the same key, or subgraphs refuse the tokens of all replicas but one',
    );
  }
  if (!privateKeyPem) ctx.logger.warn('auth.identity has no key: identity tokens are signed with a key made at start-up, which no other replica shares (development only)');
  else if (!options.identity.privateKeyPem && !options.identity.privateKeyFile) ctx.logger.warn('auth.identity has no key: the workers sign identity tokens with a key made at start-up, which no other replica shares (development only)');
  const signer = new IdentitySigner({ ...options.identity, ...(privateKeyPem ? { privateKeyPem } : {}) });
  const identityHeader = options.identity.header;
  let jwksBody: string | undefined;
  void signer.jwks.then((jwks) => (jwksBody = JSON.stringify(jwks)));

  return {
    name: 'auth',
    // Not async: a remembered token is answered without a promise (and a refusal is thrown as is).
    authenticate(req: IncomingMessage) {
      const authorization = req.headers.authorization;
      if (authorization !== undefined) {
        // A header seen before with a token still valid: found by the header itself (no parsing).
        const known = verifyJwt?.remembered(authorization);
        if (known) return known;
        const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
        if (!match) throw new EdgeRefusal('UNAUTHENTICATED', 'Invalid credentials: use "Authorization: Bearer <JWT>"', { 'www-authenticate': 'Bearer' });
        if (!verifyJwt) throw new EdgeRefusal('UNAUTHENTICATED', 'Bearer tokens are not accepted here', { 'www-authenticate': 'Bearer' });
        return verifyJwt(match[1]!, authorization);
      }
      const key = req.headers[apiKeyHeader];
      if (key === undefined) return undefined;
      // A key sent to a gateway that takes none is refused, not taken as anonymous: the caller
      // would otherwise be served (and limited) as someone else without knowing it.
      if (!byApiKey) throw new EdgeRefusal('UNAUTHENTICATED', 'API keys are not accepted by this gateway');
      if (typeof key === 'string') return byApiKey(key);
      throw new EdgeRefusal('UNAUTHENTICATED', 'Invalid API key: send one');
    },
    subgraph: {
      async willSendSubgraphRequest(options) {
        const headers = options.request.http?.headers;
        if (!headers) return;
        // Whatever the client sent under this name never travels on: only the gateway's token.
        headers.delete(identityHeader);
        const identity = 'context' in options ? options.context?.identity : undefined;
        if (identity) headers.set(identityHeader, await signer.token(identity));
      },
    },
    routes: {
      [JWKS_PATH]: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
        res.end(jwksBody ?? '{"keys":[]}');
      },
    },
    apollo: {
      async serverWillStart() {
        await signer.jwks;
        const apiKeys = options.apiKeys ? `${options.apiKeys.keys.length} configured${options.apiKeys.redis ? ' + redis' : ''}` : 'off';
        ctx.logger.info({ jwt: Boolean(options.jwt), apiKeys, jwks: JWKS_PATH }, 'authentication on');
      },
    },
  };
}
