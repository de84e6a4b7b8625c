export { createAccessLogPlugin } from './plugin.js';
export { accessLogOptionsSchema, type AccessLogOptions } from './options.js';
