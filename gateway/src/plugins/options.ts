import { accessLogOptionsSchema } from './access-log/options.js';
import { authOptionsSchema } from './auth/options.js';
import { authorizationOptionsSchema } from './authorization/options.js';
import { limitsOptionsSchema } from './limits/options.js';
import { metricsOptionsSchema } from './metrics/options.js';
import { tracingOptionsSchema } from '../core/tracing.js';
import { persistedDocumentsOptionsSchema } from './persisted-documents/options.js';
import { rateLimitsOptionsSchema } from './rate-limit/options.js';
import { resilienceOptionsSchema } from './resilience/options.js';
import { responseCacheOptionsSchema } from './response-cache/options.js';
import { usageOptionsSchema } from './usage/options.js';

/**
 * Config keys of the feature plugins, merged into the one strict config schema. A feature is off
 * when its key is absent.
 */
export const pluginOptionsShape = {
  auth: authOptionsSchema.optional(),
  persistedDocuments: persistedDocumentsOptionsSchema.optional(),
  limits: limitsOptionsSchema.optional(),
  rateLimits: rateLimitsOptionsSchema.optional(),
  authorization: authorizationOptionsSchema.optional(),
  responseCache: responseCacheOptionsSchema.optional(),
  accessLog: accessLogOptionsSchema.optional(),
  resilience: resilienceOptionsSchema.optional(),
  usage: usageOptionsSchema.optional(),
  metrics: metricsOptionsSchema.optional(),
  tracing: tracingOptionsSchema.optional(),
};
