import { dirname, resolve } from 'node:path';
import type protobuf from 'protobufjs';
import { createLogger } from '../../gateway/src/core/logger.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { interpolateHeaders, loadMappingFile, urlList } from '../toolkit/mapping.js';
import { startAdapterSubgraph, type AdapterServerOptions } from '../toolkit/server.js';
import { channelCredentials, GrpcTarget } from './client.js';
import { generateGrpcSubgraph, type GeneratedGrpcSubgraph } from './generate.js';
import { loadByReflection, loadProtoFiles } from './load.js';
import { grpcMappingSchema, type GrpcMapping } from './mapping.js';
import { buildGrpcResolvers } from './resolvers.js';

export interface LoadedGrpcAdapter {
  mapping: GrpcMapping;
  generated: GeneratedGrpcSubgraph;
  root: protobuf.Root;
}

/** The instances: TARGET_ADDRESS (several separated by commas), else target.addresses or target.address. */
export function addressesOf(mapping: GrpcMapping, override?: string): string[] {
  if (override) return urlList(override);
  return mapping.target.addresses ?? (mapping.target.address ? [mapping.target.address] : []);
}

/** Reads a gRPC mapping and its .proto files (or, without files, the server's reflection) and generates the subgraph. */
export async function loadGrpcAdapter(mappingPath: string, address?: string): Promise<LoadedGrpcAdapter> {
  const mapping = loadMappingFile(mappingPath, grpcMappingSchema);
  const base = dirname(mappingPath);
  if (mapping.target.tls !== false && mapping.target.tls.ca) mapping.target.tls.ca = resolve(base, mapping.target.tls.ca);
  // Reflection asks the first instance.
  const target = addressesOf(mapping, address)[0]!;
  const files = mapping.protos.map((p) => resolve(base, p));
  const root =
    files.length > 0
      ? await loadProtoFiles(
          files,
          mapping.includeDirs.map((d) => resolve(base, d)),
        )
      : await loadByReflection(target, channelCredentials(mapping.target.tls), mapping.target.deadlineMs * 5);
  const origin = mapping.protos.length > 0 ? mapping.protos.join(', ') : `reflection at ${target}`;
  return { mapping, generated: generateGrpcSubgraph(root, mapping, origin, files.length > 0 ? files : undefined), root };
}

export interface GrpcAdapterOptions extends AdapterServerOptions {
  /** Overrides target.address (env TARGET_ADDRESS in main.ts). */
  address?: string;
}

export type RunningGrpcAdapter = RunningSubgraph & { generated: GeneratedGrpcSubgraph; mapping: GrpcMapping };

/** Starts a gRPC adapter subgraph: generated schema, one channel to the service, /health and /ready. */
export async function startGrpcAdapter(options: GrpcAdapterOptions): Promise<RunningGrpcAdapter> {
  const env = options.env ?? process.env;
  const { mapping, generated } = await loadGrpcAdapter(options.mappingPath, options.address);
  const logger = createLogger(options.logLevel ?? 'info', { service: mapping.subgraph });
  logger.debug({ addresses: addressesOf(mapping, options.address) }, 'gRPC adapter loaded');
  const target = new GrpcTarget({
    service: mapping.service,
    addresses: addressesOf(mapping, options.address),
    resilience: mapping.target.resilience,
    logger,
    deadlineMs: mapping.target.deadlineMs,
    tls: mapping.target.tls,
    metadata: interpolateHeaders(mapping.target.metadata, env),
    maxStreamItems: mapping.target.maxStreamItems,
  });
  const running = await startAdapterSubgraph(options, mapping, generated.sdl, buildGrpcResolvers(generated, mapping, target), async () => target.close());
  return { ...running, generated, mapping };
}
