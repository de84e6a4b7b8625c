export { createMetricsPlugin } from './plugin.js';
export { metricsOptionsSchema, type MetricsOptions } from './options.js';
