import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadGrpcAdapter } from '../adapters/grpc/adapter.js';
import { loadRestAdapter } from '../adapters/rest/adapter.js';
import { loadSoapAdapter } from '../adapters/soap/adapter.js';
import { projectPath } from '../subgraphs/shared/paths.js';

export interface GeneratedSchema {
  subgraph: string;
  mappingPath: string;
  /** Where the generated SDL is committed: schema/generated/<subgraph>.graphql. */
  path: string;
  sdl: string;
}

export type AdapterProtocol = 'rest' | 'grpc' | 'soap';

/** Every adapter mapping under adapters/services, by protocol suffix (<name>.rest.yaml, .grpc.yaml, .soap.yaml). */
export function adapterMappings(): { mappingPath: string; protocol: AdapterProtocol }[] {
  const root = projectPath('adapters', 'services');
  const found: { mappingPath: string; protocol: AdapterProtocol }[] = [];
  for (const service of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    for (const file of readdirSync(join(root, service.name)).sort()) {
      const match = /\.(rest|grpc|soap)\.yaml$/.exec(file);
      if (match) found.push({ mappingPath: join(root, service.name, file), protocol: match[1] as AdapterProtocol });
    }
  }
  return found;
}

/** Generates the SDL of every adapter subgraph from its spec and mapping (what `npm run compose` commits). */
export async function generateAdapterSchemas(): Promise<GeneratedSchema[]> {
  const schemas: GeneratedSchema[] = [];
  for (const { mappingPath, protocol } of adapterMappings()) {
    const { mapping, generated } =
      protocol === 'rest'
        ? await loadRestAdapter(mappingPath)
        : protocol === 'grpc'
          ? await loadGrpcAdapter(mappingPath)
          : await loadSoapAdapter(mappingPath, { credentials: false });
    schemas.push({ subgraph: mapping.subgraph, mappingPath, path: projectPath('schema', 'generated', `${mapping.subgraph}.graphql`), sdl: generated.sdl });
  }
  return schemas;
}
