import { z } from 'zod';
import { FAILURE_BY_CODE } from '../toolkit/errors.js';
import { queryVerbsSchema } from '../toolkit/names.js';
import { cacheHintSchema, callerIndependentSchema, forwardHeadersSchema, identityClaimSchema, identityHeadersSchema, legacyResilienceSchema, permissionsFileSchema } from '../toolkit/mapping.js';

const graphqlName = z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'a GraphQL name');
const errorCode = z.enum(Object.keys(FAILURE_BY_CODE) as [string, ...string[]]);
const faults = z
  .array(z.strictObject({ match: z.string().describe('Regular expression on the fault string.'), code: errorCode }))
  .default([])
  .describe('Fault strings that mean something else than the fault code says, e.g. "not found" -> NOT_FOUND.');

const operationSchema = z.strictObject({
  field: graphqlName.optional().describe('Field name. Default: camelCase of the operation name.'),
  kind: z.enum(['query', 'mutation']).optional().describe('Default: query for a listed operation; by its leading verb (queryVerbs) with include all.'),
  arguments: z.record(z.string(), graphqlName).default({}).describe('Request element to argument name.'),
  inputArgument: graphqlName.optional().describe('Pass the whole request as one input object argument with this name.'),
  result: z.string().optional().describe('Response element to return instead of the whole response.'),
  faults,
});

export const soapMappingSchema = z
  .strictObject({
    service: z.string().min(1).describe('Name of the legacy service in errors and logs.'),
    subgraph: z.string().regex(/^[A-Za-z_][\w-]*$/),
    wsdl: z.string().min(1).describe('WSDL 1.1: a path relative to this file, or an http(s) URL.'),
    wsdlAuth: z
      .strictObject({ username: z.string(), password: z.string() })
      .optional()
      .describe('HTTP basic auth for fetching a WSDL URL; ${NAME} from the environment.'),
    port: z.string().optional().describe('wsdl:port to use, as Service.Port. Default: the first one.'),
    target: z.strictObject({
      url: z.string().optional().describe('Endpoint; default the port address in the WSDL. Env TARGET_URL overrides (several separated by commas).'),
      urls: z.array(z.string().min(1)).min(1).optional().describe('Endpoints of several instances, balanced and guarded (resilience). Instead of url.'),
      resilience: legacyResilienceSchema,
      timeoutMs: z.number().int().positive().default(3_000).describe('Deadline of every call in ms. Default 3000.'),
      maxConnections: z.number().int().positive().default(32).describe('Keep-alive connections. Default 32.'),
      concurrency: z.number().int().positive().default(8),
      maxBatchSize: z.number().int().positive().default(100),
    }),
    security: z
      .strictObject({
        usernameToken: z
          .strictObject({
            username: z.string().describe('${NAME} from the environment.'),
            password: z.string().describe('${NAME} from the environment; never the secret itself.'),
            passwordType: z.enum(['PasswordText', 'PasswordDigest']).default('PasswordText'),
            timestamp: z.boolean().default(true),
          })
          .optional(),
      })
      .default({})
      .describe('WS-Security for every call.'),
    soapHeaders: z
      .array(z.string())
      .default([])
      .describe('Custom SOAP header elements as XML, e.g. <tns:Channel>frontdesk</tns:Channel>; ${NAME} from the environment.'),
    forwardHeaders: forwardHeadersSchema,
    callerIndependent: callerIndependentSchema,
    identity: z
      .strictObject({
        headers: identityHeadersSchema,
        soapHeader: z
          .strictObject({
            element: z.string().regex(/^[A-Za-z_][\w.-]*$/).describe('Local name of the header element, e.g. Caller.'),
            namespace: z.string().min(1).describe('Namespace URI of the element and its children.'),
            fields: z
              .record(z.string().regex(/^[A-Za-z_][\w.-]*$/), identityClaimSchema)
              .refine((fields) => Object.keys(fields).length > 0, 'name at least one child element')
              .describe('Child element local name to claim.'),
          })
          .optional()
          .describe('A SOAP header element per call, e.g. <Caller><UserId>u1</UserId></Caller>.'),
      })
      .prefault({})
      .describe('How the verified caller is passed to the service: HTTP headers and/or a SOAP header element.'),
    permissions: permissionsFileSchema.describe(
      'Who may read which field of the generated subgraph (graphql-shield, deny by default; federation fields always allowed). README "Authorization".',
    ),
    operations: z.record(z.string(), operationSchema).default({}).describe('Operations exposed as Query or Mutation fields.'),
    entities: z
      .record(
        graphqlName,
        z.strictObject({
          key: graphqlName,
          type: z.string().optional().describe('complexType the entity is (owned); absent: extend an entity owned elsewhere.'),
          batch: z
            .strictObject({ operation: z.string(), keys: z.string(), result: z.string(), resultKey: z.string() })
            .optional(),
          single: z.strictObject({ operation: z.string(), key: z.string(), result: z.string().optional() }).optional(),
          operationFields: z
            .record(
              graphqlName,
              z.strictObject({
                operation: z.string(),
                key: z.string().describe('Request element that takes the entity key.'),
                arguments: z.record(z.string(), graphqlName).default({}),
                result: z.string().optional(),
                faults,
              }),
            )
            .default({})
            .describe('Fields resolved by calling an operation with the entity key; other request elements are arguments.'),
        }),
      )
      .default({}),
    references: z
      .record(
        z.string().regex(/^\w+\.\w+$/, 'Type.element'),
        z.strictObject({ field: graphqlName, entity: graphqlName, nullable: z.boolean().default(true) }),
      )
      .default({})
      .describe('An element holding another entity\'s key becomes a reference to that entity, e.g. OrderLine.productId -> product: Product.'),
    renames: z
      .strictObject({
        types: z.record(z.string(), graphqlName).default({}),
        fields: z.record(z.string(), graphqlName).default({}),
      })
      .prefault({}),
    cacheHints: z.record(z.string(), cacheHintSchema).default({}),
    include: z
      .enum(['all', 'listed'])
      .optional()
      .describe('all: every operation of the port, query or mutation by its leading verb; listed: only `operations`. Default: listed when operations are given, all without.'),
    queryVerbs: queryVerbsSchema,
    typePrefix: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]*$/, 'a PascalCase prefix')
      .optional()
      .describe('Put before every generated type name (Money becomes BillingMoney): for types whose names other subgraphs use already. Entities, references and cache hints then name the prefixed types; renames.types still wins.'),
    degradeUnsupported: z
      .boolean()
      .default(false)
      .describe('Schema constructs the generator cannot express (xs:any, groups, unknown types) become JSON or are left out with a warning, and an operation that still fails is skipped with its reason, instead of failing the build.'),
  })
  .describe('How a SOAP service becomes a federated subgraph.');

export type SoapMapping = z.output<typeof soapMappingSchema>;
