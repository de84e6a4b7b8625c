export { createTracingPlugin } from './plugin.js';
export { tracingOptionsSchema, type TracingOptions } from '../../core/tracing.js';
