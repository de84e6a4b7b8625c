export { createResiliencePlugin } from './plugin.js';
export { resilienceOptionsSchema, type ResilienceOptions } from './options.js';
