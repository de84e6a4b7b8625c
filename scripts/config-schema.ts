import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { grpcMappingSchema } from '../adapters/grpc/mapping.js';
import { restMappingSchema } from '../adapters/rest/mapping.js';
import { soapMappingSchema } from '../adapters/soap/mapping.js';
import { configJsonSchema } from '../gateway/src/core/config-schema.js';
import { permissionsFileSchema } from '../gateway/src/plugins/authorization/options.js';
import { projectPath } from '../subgraphs/shared/paths.js';

function jsonSchema(schema: z.ZodType, title: string): string {
  return `${JSON.stringify({ ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }), title }, null, 2)}\n`;
}

/** JSON Schemas of the adapter mapping files, for editors. */
export const restMappingJsonSchema = (): string => jsonSchema(restMappingSchema, 'Frontdesk REST adapter mapping');
export const grpcMappingJsonSchema = (): string => jsonSchema(grpcMappingSchema, 'Frontdesk gRPC adapter mapping');
export const soapMappingJsonSchema = (): string => jsonSchema(soapMappingSchema, 'Frontdesk SOAP adapter mapping');
/** The permissions files: schema/permissions.yaml and each subgraph's permissions.yaml. */
export const permissionsJsonSchema = (): string => jsonSchema(permissionsFileSchema, 'Frontdesk permissions');

// `npm run config-schema` regenerates the published JSON Schemas; tests fail when they are stale.
if (process.argv[1]?.endsWith('config-schema.ts') || process.argv[1]?.endsWith('config-schema.js')) {
  for (const [path, text] of [
    [projectPath('gateway', 'config.schema.json'), configJsonSchema()],
    [projectPath('adapters', 'rest', 'mapping.schema.json'), restMappingJsonSchema()],
    [projectPath('adapters', 'grpc', 'mapping.schema.json'), grpcMappingJsonSchema()],
    [projectPath('adapters', 'soap', 'mapping.schema.json'), soapMappingJsonSchema()],
    [projectPath('gateway', 'permissions.schema.json'), permissionsJsonSchema()],
  ] as const) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
