export { createAuthorizationPlugin, readSecurityDirectives } from './plugin.js';
export { authorizationOptionsSchema, type AuthorizationOptions } from './options.js';
