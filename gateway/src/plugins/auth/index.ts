export { createAuthPlugin, JWKS_PATH } from './plugin.js';
export { authOptionsSchema, type AuthOptions } from './options.js';
export { createIdentityVerifier, IdentitySigner, type IdentityVerifierOptions } from './identity-token.js';
