import { z } from 'zod';
import { FAILURE_BY_CODE } from '../toolkit/errors.js';
import { queryVerbsSchema } from '../toolkit/names.js';
import { cacheHintSchema, callerIndependentSchema, forwardHeadersSchema, identityHeadersSchema, legacyResilienceSchema, permissionsFileSchema } from '../toolkit/mapping.js';

const graphqlName = z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'a GraphQL name');
const methodName = z.string().regex(/^[\w.]+\.\w+$/, 'a fully qualified method, e.g. pkg.v1.Service.Method');
const errorOverrides = z
  .record(z.string().regex(/^[A-Z_]+$/, 'a gRPC status name'), z.enum(Object.keys(FAILURE_BY_CODE) as [string, ...string[]]))
  .default({})
  .describe('gRPC status name to a Frontdesk error code, e.g. FAILED_PRECONDITION: BAD_USER_INPUT.');

const methodSchema = z.strictObject({
  field: graphqlName.optional().describe('Field name. Default: camelCase of the method name.'),
  kind: z.enum(['query', 'mutation']).default('query').describe('Query or Mutation. Default query.'),
  arguments: z.record(z.string(), graphqlName).default({}).describe('Request field (proto name) to argument name.'),
  result: z.string().optional().describe('Response field (proto name) to return instead of the whole message.'),
  errors: errorOverrides,
});

export const grpcMappingSchema = z
  .strictObject({
    service: z.string().min(1).describe('Name of the legacy service in errors and logs.'),
    subgraph: z.string().regex(/^[A-Za-z_][\w-]*$/).describe('Name of the subgraph in the supergraph.'),
    protos: z.array(z.string().min(1)).default([]).describe('.proto files relative to this file; empty: use server reflection.'),
    includeDirs: z.array(z.string()).default([]).describe('Import paths for the .proto files, relative to this file.'),
    target: z.strictObject({
      address: z.string().regex(/^[\w.-]+:\d+$/, 'host:port').optional().describe('The gRPC server; env TARGET_ADDRESS overrides it (several separated by commas).'),
      addresses: z.array(z.string().regex(/^[\w.-]+:\d+$/, 'host:port')).min(1).optional().describe('Several instances of the gRPC server, balanced and guarded (resilience). Instead of address.'),
      resilience: legacyResilienceSchema,
      deadlineMs: z.number().int().positive().default(2_000).describe('Deadline of every call in ms. Default 2000.'),
      tls: z
        .union([
          z.literal(false),
          z.strictObject({
            ca: z.string().optional().describe('PEM file with the CA to trust, relative to this file. Default: system roots.'),
            serverName: z.string().optional().describe('Name to verify in the server certificate.'),
          }),
        ])
        .default(false)
        .describe('TLS to the target; false for plaintext. Default false.'),
      metadata: z.record(z.string(), z.string()).default({}).describe('Metadata on every call; ${NAME} from the environment.'),
      concurrency: z.number().int().positive().default(8).describe('Single-item lookups in flight per batch. Default 8.'),
      maxBatchSize: z.number().int().positive().default(100).describe('Most keys in one batch call. Default 100.'),
      maxStreamItems: z.number().int().positive().default(100).describe('Items collected from a server stream. Default 100.'),
    }).refine((t) => (t.address === undefined) !== (t.addresses === undefined), { message: 'set one of address and addresses' }),
    forwardHeaders: forwardHeadersSchema,
    callerIndependent: callerIndependentSchema,
    identity: z
      .strictObject({ metadata: identityHeadersSchema })
      .prefault({})
      .describe('How the verified caller is passed to the service: call metadata.'),
    permissions: permissionsFileSchema.describe(
      'Who may read which field of the generated subgraph (graphql-shield, deny by default; federation fields always allowed). README "Authorization".',
    ),
    methods: z.record(methodName, methodSchema).default({}).describe('Methods exposed as Query or Mutation fields (with include all: settings of those that need any).'),
    typePrefix: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]*$/, 'a PascalCase prefix')
      .optional()
      .describe('Put before every generated type name (Money becomes BillingMoney): for types whose names other subgraphs use already. renames.types still wins.'),
    include: z
      .enum(['all', 'listed'])
      .optional()
      .describe('all: every unary and server-streaming method of the services in `protos` (all services, with reflection), query or mutation by its leading verb; listed: only `methods`. Default: listed when methods are given, all without.'),
    queryVerbs: queryVerbsSchema,
    entities: z
      .record(
        graphqlName,
        z.strictObject({
          key: graphqlName.describe('Key field for @key (type ID).'),
          message: z.string().optional().describe('Message the entity is (owned entity); absent: extend an entity owned by another subgraph.'),
          batch: z
            .strictObject({
              method: methodName,
              keys: z.string().describe('Repeated request field that takes the keys.'),
              result: z.string().describe('Repeated response field with the found items.'),
              resultKey: z.string().describe('Field of an item that holds its key.'),
            })
            .optional(),
          single: z.strictObject({ method: methodName, key: z.string().describe('Request field that takes the key.') }).optional(),
          fields: z
            .record(graphqlName, z.string())
            .default({})
            .describe('Extended entities: field name to the field of the looked-up message it comes from.'),
          methodFields: z
            .record(
              graphqlName,
              z.strictObject({
                method: methodName,
                requires: z
                  .record(graphqlName, z.strictObject({ type: z.string().regex(/^\[?\w+!?\]?!?$/, 'a GraphQL type'), into: z.string() }))
                  .default({})
                  .describe('Fields of the owning subgraph (@requires) and the request field each goes into.'),
                key: z.string().optional().describe('Request field that takes the entity key, if any.'),
                arguments: z.record(z.string(), graphqlName).default({}),
                errors: errorOverrides,
              }),
            )
            .default({})
            .describe('Fields resolved by calling a method per entity; the other request fields become arguments.'),
        }),
      )
      .default({}),
    renames: z
      .strictObject({
        types: z.record(z.string(), graphqlName).default({}).describe('Generated type name to new name.'),
        fields: z.record(z.string(), graphqlName).default({}).describe('"Type.proto_field" to field name.'),
      })
      .prefault({}),
    cacheHints: z.record(z.string(), cacheHintSchema).default({}).describe('"Type" or "Type.field" to a hint.'),
  })
  .describe('How a gRPC service becomes a federated subgraph.');

export type GrpcMapping = z.output<typeof grpcMappingSchema>;
