import { z } from 'zod';
import { cacheHintSchema, callerIndependentSchema, forwardHeadersSchema, identityHeadersSchema, permissionsFileSchema, targetSchema } from '../toolkit/mapping.js';

const graphqlName = z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'a GraphQL name');

const operationSchema = z.strictObject({
  field: graphqlName.optional().describe('Field name on Query or Mutation. Default: camelCase of the operationId.'),
  kind: z.enum(['query', 'mutation', 'hidden']).optional().describe('Default: query for GET, mutation otherwise.'),
  arguments: z.record(z.string(), graphqlName).default({}).describe('Parameter (wire name) to argument name.'),
  exclude: z.array(z.string()).default([]).describe('Parameters not exposed as arguments.'),
  result: z.string().optional().describe('Dotted path to unwrap in the response, e.g. items.'),
  bodyArgument: graphqlName.default('input').describe('Argument that carries the request body. Default input.'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra headers for this operation; ${NAME} from the environment.'),
});

const lookupSchema = z.strictObject({
  operation: z.string().describe('operationId'),
  parameter: z.string().describe('Parameter (wire name) that takes the key, or the list of keys for a batch.'),
  result: z.string().optional().describe('Dotted path of the entity list (batch) or the entity (single) in the response.'),
});

export const restMappingSchema = z
  .strictObject({
    service: z.string().min(1).describe('Name of the legacy service in errors and logs.'),
    subgraph: z.string().regex(/^[A-Za-z_][\w-]*$/).describe('Name of the subgraph in the supergraph.'),
    spec: z.string().min(1).describe('OpenAPI 3.0/3.1 document: a path relative to this file, or an http(s) URL.'),
    target: targetSchema,
    forwardHeaders: forwardHeadersSchema,
    callerIndependent: callerIndependentSchema,
    identity: z
      .strictObject({ headers: identityHeadersSchema })
      .prefault({})
      .describe('How the verified caller is passed to the service: HTTP headers.'),
    permissions: permissionsFileSchema.describe(
      'Who may read which field of the generated subgraph (graphql-shield, deny by default; federation fields always allowed). README "Authorization".',
    ),
    operations: z.record(z.string(), operationSchema).default({}).describe('Per operationId settings.'),
    include: z.enum(['all', 'listed']).default('all').describe('all: every operation; listed: only those under operations.'),
    entities: z
      .record(
        graphqlName,
        z.strictObject({
          key: z.string().min(1).describe('Key field (GraphQL name) for @key.'),
          batch: lookupSchema.optional(),
          single: lookupSchema.optional(),
        }),
      )
      .default({})
      .describe('Generated types that are federation entities, and how to resolve them.'),
    renames: z
      .strictObject({
        types: z.record(z.string(), graphqlName).default({}).describe('Generated type name to new name.'),
        fields: z.record(z.string(), graphqlName).default({}).describe('"Type.wire_name" to field name.'),
      })
      .prefault({}),
    cacheHints: z.record(z.string(), cacheHintSchema).default({}).describe('"Type" or "Type.field" to a hint.'),
    typePrefix: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]*$/, 'a PascalCase prefix')
      .optional()
      .describe('Put before every generated type name (Money becomes BillingMoney): for types whose names other subgraphs use already. Entities, cache hints and field renames then name the prefixed types; renames.types wins over it.'),
    degradeUnsupported: z
      .boolean()
      .default(false)
      .describe('Map schema constructs the generator cannot express to JSON with a warning instead of failing.'),
  })
  .describe('How an OpenAPI service becomes a federated subgraph.');

export type RestMapping = z.output<typeof restMappingSchema>;
export type RestOperationMapping = z.output<typeof operationSchema>;
