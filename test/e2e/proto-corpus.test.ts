import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateGrpcSubgraph } from '../../adapters/grpc/generate.js';
import { GOOGLE_PROTOS, loadProtoFiles } from '../../adapters/grpc/load.js';
import { grpcMappingSchema } from '../../adapters/grpc/mapping.js';
import { clashingTypes } from '../../adapters/toolkit/clashes.js';
import { pascalCase } from '../../adapters/toolkit/names.js';
import { composeSubgraphs, readSupergraphConfig } from '../../schema/composition.js';
import { projectPath } from '../../subgraphs/shared/paths.js';

/**
 * Real service protos (Google's, from the google-proto-files package, which bundles their
 * google/api, google/rpc, google/type and google/longrunning imports): the gRPC adapter builds
 * each from its file alone, with the smallest mapping (every method; query or mutation by verb),
 * and the result composes with the demo supergraph.
 */
const CORPUS = readFileSync(projectPath('adapters', 'corpus', 'google-protos.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));
const DEMO = readSupergraphConfig(projectPath('schema', 'supergraph.yaml'));

/** The service's name from its package path (google/cloud/billing/budgets/v1 -> Budgets). */
const prefixFor = (file: string) => pascalCase(file.split('/').slice(0, -1).filter((part) => !/^v\d/.test(part)).pop()!);

describe('gRPC adapter on 50 Google service protos', () => {
  it('lists 50 protos of the bundled package', () => {
    expect(CORPUS).toHaveLength(50);
    expect(GOOGLE_PROTOS).toBeDefined();
  });

  it.each(CORPUS)('%s builds with no mapping of its own and composes with the demo supergraph', async (file) => {
    const path = join(GOOGLE_PROTOS!, file);
    const mapping = grpcMappingSchema.parse({
      service: 'corpus',
      subgraph: 'corpus',
      protos: [path],
      target: { address: '127.0.0.1:50051' },
      permissions: { rules: {}, types: {} },
    });
    const root = await loadProtoFiles([path], []);
    let generated = generateGrpcSubgraph(root, mapping, file, [path]);
    // As init does: a clash with a type of the supergraph gives the service a type prefix.
    const clashes = clashingTypes(generated.sdl, DEMO.map((s) => s.sdl));
    if (clashes.length > 0) generated = generateGrpcSubgraph(root, { ...mapping, typePrefix: prefixFor(file) }, file, [path]);
    expect(generated.rootFields.length, `${file}: fields`).toBeGreaterThan(0);
    const outcome = composeSubgraphs([...DEMO, { name: 'corpus', url: 'http://127.0.0.1:50051/graphql', file, sdl: generated.sdl }]);
    expect(outcome.ok ? [] : outcome.errors, file).toEqual([]);
  });
});
