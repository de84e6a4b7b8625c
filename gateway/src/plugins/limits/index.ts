export { createLimitsPlugin } from './plugin.js';
export { limitsOptionsSchema, DEFAULT_LIMITS, type LimitsOptions } from './options.js';
export { OperationLimits, type LimitVerdict } from './operation-limits.js';
