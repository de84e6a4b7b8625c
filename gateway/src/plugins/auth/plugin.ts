import type { IncomingMessage } from 'node:http';
import { EdgeRefusal, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { createApiKeyVerifier } from './api-keys.js';
import { IdentitySigner } from './identity-token.js';
import { createJwtVerifier } from './jwt.js';
import type { AuthOptions } from './options.js';

export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * Authentication at the edge: a bearer JWT or an API key becomes `context.identity`; no
 * credential is anonymous; a present but invalid one is a 401 for the whole request with the
 * reason. The identity reaches subgraphs only as a short-lived token signed by the gateway.
 */
export function createAuthPlugin(options: AuthOptions, ctx: PluginContext): FrontdeskPlugin {
  const verifyJwt = options.jwt ? createJwtVerifier(options.jwt) : undefined;
  const apiKeyHeader = options.apiKeys?.header;
  const byApiKey = options.apiKeys ? createApiKeyVerifier(options.apiKeys, ctx.redis, ctx.logger) : undefined;
  const signer = new IdentitySigner(options.identity);
  const identityHeader = options.identity.header;
  let jwksBody: string | undefined;
  void signer.jwks.then((jwks) => (jwksBody = JSON.stringify(jwks)));

  return {
    name: 'auth',
    // Not async: a remembered token is answered without a promise (and a refusal is thrown as is).
    authenticate(req: IncomingMessage) {
      const authorization = req.headers.authorization;
      if (authorization !== undefined) {
        const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
        if (!match) throw new EdgeRefusal('UNAUTHENTICATED', 'Invalid credentials: use "Authorization: Bearer <JWT>"', { 'www-authenticate': 'Bearer' });
        if (!verifyJwt) throw new EdgeRefusal('UNAUTHENTICATED', 'Bearer tokens are not accepted here', { 'www-authenticate': 'Bearer' });
        return verifyJwt(match[1]!);
      }
      const key = apiKeyHeader ? req.headers[apiKeyHeader] : undefined;
      if (typeof key === 'string' && byApiKey) return byApiKey(key);
      if (Array.isArray(key)) throw new EdgeRefusal('UNAUTHENTICATED', 'Invalid API key: send one');
      return undefined;
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
