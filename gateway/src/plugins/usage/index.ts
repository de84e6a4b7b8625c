export { createUsagePlugin } from './plugin.js';
export { usageOptionsSchema, type UsageOptions } from './options.js';
export { UsageMeter, toCsv, type UsageRow } from './meter.js';
