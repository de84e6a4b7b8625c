import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { restMappingSchema } from '../adapters/rest/mapping.js';
import { configJsonSchema } from '../gateway/src/core/config-schema.js';
import { projectPath } from '../subgraphs/shared/paths.js';

/** JSON Schema of the REST mapping files, for editors. */
export function restMappingJsonSchema(): string {
  const schema = z.toJSONSchema(restMappingSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Frontdesk REST adapter mapping' }, null, 2)}\n`;
}

// `npm run config-schema` regenerates the published JSON Schemas; tests fail when they are stale.
if (process.argv[1]?.endsWith('config-schema.ts') || process.argv[1]?.endsWith('config-schema.js')) {
  for (const [path, text] of [
    [projectPath('gateway', 'config.schema.json'), configJsonSchema()],
    [projectPath('adapters', 'rest', 'mapping.schema.json'), restMappingJsonSchema()],
  ] as const) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
