import { dirname, resolve } from 'node:path';
import { createLogger } from '../../gateway/src/core/logger.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { HttpTarget } from '../toolkit/http-client.js';
import { interpolateHeaders, loadMappingFile, urlList } from '../toolkit/mapping.js';
import { startAdapterSubgraph, type AdapterServerOptions } from '../toolkit/server.js';
import { generateRestSubgraph, type GeneratedRestSubgraph } from './generate.js';
import { restMappingSchema, type RestMapping } from './mapping.js';
import { buildRestResolvers } from './resolvers.js';
import { loadOpenApi } from './openapi.js';

export interface LoadedRestAdapter {
  mapping: RestMapping;
  generated: GeneratedRestSubgraph;
  specLocation: string;
}

/** Reads a mapping file and its OpenAPI document and generates the subgraph (no network but the spec URL). */
export async function loadRestAdapter(mappingPath: string): Promise<LoadedRestAdapter> {
  const mapping = loadMappingFile(mappingPath, restMappingSchema);
  const specLocation = /^https?:\/\//.test(mapping.spec) ? mapping.spec : resolve(dirname(mappingPath), mapping.spec);
  const doc = await loadOpenApi(specLocation);
  return { mapping, generated: generateRestSubgraph(doc, mapping, specLocation), specLocation };
}

export interface RestAdapterOptions extends AdapterServerOptions {
  /** Overrides target.url of the mapping (env TARGET_URL in main.ts). */
  targetUrl?: string;
}

export type RunningRestAdapter = RunningSubgraph & { generated: GeneratedRestSubgraph; mapping: RestMapping };

/** Starts a REST adapter subgraph: generated schema, keep-alive pool to the service, /health and /ready. */
export async function startRestAdapter(options: RestAdapterOptions): Promise<RunningRestAdapter> {
  const env = options.env ?? process.env;
  const { mapping, generated } = await loadRestAdapter(options.mappingPath);
  const logger = createLogger(options.logLevel ?? 'info', { service: mapping.subgraph });
  for (const warning of generated.warnings) logger.warn(warning);
  const target = new HttpTarget({
    service: mapping.service,
    baseUrls: options.targetUrl ? urlList(options.targetUrl) : (mapping.target.urls ?? [mapping.target.url!]),
    resilience: mapping.target.resilience,
    logger,
    timeoutMs: mapping.target.timeoutMs,
    maxConnections: mapping.target.maxConnections,
    headers: interpolateHeaders(mapping.target.headers, env),
  });
  const running = await startAdapterSubgraph(options, mapping, generated.sdl, buildRestResolvers(generated, mapping, target, env), () => target.close());
  return { ...running, generated, mapping };
}
