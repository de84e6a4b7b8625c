import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadRestAdapter } from '../adapters/rest/adapter.js';
import { projectPath } from '../subgraphs/shared/paths.js';

export interface GeneratedSchema {
  subgraph: string;
  mappingPath: string;
  /** Where the generated SDL is committed: schema/generated/<subgraph>.graphql. */
  path: string;
  sdl: string;
}

/** Every adapter mapping under adapters/services, by protocol suffix. */
export function adapterMappings(): { mappingPath: string; protocol: 'rest' }[] {
  const root = projectPath('adapters', 'services');
  const found: { mappingPath: string; protocol: 'rest' }[] = [];
  for (const service of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    for (const file of readdirSync(join(root, service.name)).sort()) {
      if (file.endsWith('.rest.yaml')) found.push({ mappingPath: join(root, service.name, file), protocol: 'rest' });
    }
  }
  return found;
}

/** Generates the SDL of every adapter subgraph from its spec and mapping (what `npm run compose` commits). */
export async function generateAdapterSchemas(): Promise<GeneratedSchema[]> {
  const schemas: GeneratedSchema[] = [];
  for (const { mappingPath } of adapterMappings()) {
    const { mapping, generated } = await loadRestAdapter(mappingPath);
    schemas.push({ subgraph: mapping.subgraph, mappingPath, path: projectPath('schema', 'generated', `${mapping.subgraph}.graphql`), sdl: generated.sdl });
  }
  return schemas;
}
