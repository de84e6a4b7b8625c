export { createAuthPlugin, JWKS_PATH, WORKERS_IDENTITY_KEY } from './plugin.js';
export { authOptionsSchema, type AuthOptions } from './options.js';
export { createIdentityVerifier, IdentitySigner, type IdentityVerifierOptions } from './identity-token.js';
