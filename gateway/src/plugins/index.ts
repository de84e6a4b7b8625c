import { Registry } from 'prom-client';
import type { FrontdeskConfig } from '../core/config.js';
import type { FrontdeskPlugin, PluginContext } from '../core/plugin.js';
import { createAccessLogPlugin } from './access-log/index.js';
import { createAuthPlugin } from './auth/index.js';
import { createAuthorizationPlugin } from './authorization/index.js';
import { createExplorerPlugin } from './explorer/index.js';
import { createLimitsPlugin } from './limits/index.js';
import { createMetricsPlugin } from './metrics/index.js';
import { createPersistedDocumentsPlugin } from './persisted-documents/index.js';
import { createRateLimitPlugin } from './rate-limit/index.js';
import { createResiliencePlugin } from './resilience/index.js';
import { createResponseCachePlugin } from './response-cache/index.js';
import { createTracingPlugin } from './tracing/index.js';
import { createUsagePlugin } from './usage/index.js';

/**
 * The one place that wires features, in the pipeline order of DESIGN.md:
 * edge → authenticate → admit → authorize → response cache → plan + execute → observe.
 * A feature is off when its config key is absent.
 */
export function createPlugins(config: FrontdeskConfig, shared: PluginContext): FrontdeskPlugin[] {
  const plugins: FrontdeskPlugin[] = [];
  // edge: the landing page (an explorer) for browsers, off in production unless configured
  if (config.graphql.landingPage ?? !config.production) {
    plugins.push(createExplorerPlugin({ mode: config.graphql.explorer, document: config.graphql.initialDocument, graphqlPath: config.server.graphqlPath }));
  }
  // With metrics on, every feature registers its own in the one registry /metrics serves.
  const metrics = config.metrics ? new Registry() : undefined;
  const ctx: PluginContext = metrics ? { ...shared, metrics } : shared;
  // authenticate
  if (config.auth) plugins.push(createAuthPlugin(config.auth, ctx));
  // admit: persisted documents (an id becomes its text; enforcement refuses the rest)
  if (config.persistedDocuments) plugins.push(createPersistedDocumentsPlugin(config.persistedDocuments, ctx));
  // admit: operation limits (before planning and before any subgraph call)
  if (config.limits) plugins.push(createLimitsPlugin(config.limits, ctx));
  // admit: rate limits and quotas (after the limits: a request weighs its estimated cost)
  if (config.rateLimits) plugins.push(createRateLimitPlugin(config.rateLimits, ctx));
  // authorize (before planning: nothing reaches a subgraph for a denied field)
  if (config.authorization) plugins.push(createAuthorizationPlugin(config.authorization, ctx));
  // response cache (after authorization: a caller only ever gets what it may fetch)
  if (config.responseCache) plugins.push(createResponseCachePlugin(config.responseCache, ctx));
  // around each subgraph fetch: retries (their wrappers apply below the sharing of identical fetches)
  if (config.resilience) plugins.push(createResiliencePlugin(config.resilience, ctx));
  // observe
  if (config.accessLog) plugins.push(createAccessLogPlugin(config.accessLog, ctx));
  // observe: metering per client, plan, operation and hour
  if (config.usage) plugins.push(createUsagePlugin(config.usage, ctx));
  // observe: Prometheus metrics and the status page (its fetch wrapper innermost: each attempt on its instance)
  if (config.metrics && metrics) plugins.push(createMetricsPlugin(config.metrics, { ...ctx, metrics }));
  // observe: traces (its fetch wrapper innermost too: a client span per attempt on its instance)
  if (config.tracing) plugins.push(createTracingPlugin(config.tracing, ctx));
  return plugins;
}
