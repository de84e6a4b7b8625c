export { createRateLimitPlugin } from './plugin.js';
export { rateLimitsOptionsSchema, type RateLimitsOptions } from './options.js';
