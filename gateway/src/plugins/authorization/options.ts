import { z } from 'zod';

export const authorizationOptionsSchema = z
  .strictObject({
    mode: z
      .enum(['filter', 'reject'])
      .default('filter')
      .describe('filter: denied fields are null with an error, the rest runs (Apollo Router); reject: the whole operation is refused. Default filter.'),
    permissionsFile: z
      .string()
      .optional()
      .describe('YAML file of graphql-shield rules keyed by type and field, relative to the working directory.'),
    directives: z.boolean().default(true).describe('Enforce @authenticated and @requiresScopes from the supergraph. Default true.'),
    strict: z
      .boolean()
      .default(false)
      .describe('A rule in permissionsFile for a type or field the supergraph lacks stops the start (and rejects a reload) instead of logging a warning. Default false.'),
  })
  .describe('Authorization before planning: supergraph directives and graphql-shield rules, once per field.');

export type AuthorizationOptions = z.output<typeof authorizationOptionsSchema>;

/** One rule of the permissions file (see README): atoms combined with and/or/not. */
export type RuleSpec =
  | 'allow'
  | 'deny'
  | 'authenticated'
  | { role: string | string[] }
  | { scope: string | string[] }
  | { plan: string | string[] }
  | { sameUser: string }
  | { sameTenant: string }
  | { owner: string }
  | { rule: string }
  | { and: RuleSpec[] }
  | { or: RuleSpec[] }
  | { not: RuleSpec };

const ruleSchema: z.ZodType<RuleSpec> = z.lazy(() =>
  z.union([
    z.enum(['allow', 'deny', 'authenticated']),
    z.strictObject({ role: z.union([z.string(), z.array(z.string()).min(1)]).describe('Caller has one of these roles.') }),
    z.strictObject({ scope: z.union([z.string(), z.array(z.string()).min(1)]).describe('Caller has all of these scopes.') }),
    z.strictObject({ plan: z.union([z.string(), z.array(z.string()).min(1)]).describe('Caller is on one of these plans.') }),
    z.strictObject({ sameUser: z.string().describe('The argument at this dotted path (input.customerId) equals the signed-in user id.') }),
    z.strictObject({ sameTenant: z.string().describe('The argument at this dotted path equals the caller tenant.') }),
    z.strictObject({ owner: z.string().describe('Subgraphs only: the parent object field at this dotted path equals the signed-in user id.') }),
    z.strictObject({ rule: z.string().describe('A named rule from rules.') }),
    z.strictObject({ and: z.array(ruleSchema).min(1) }),
    z.strictObject({ or: z.array(ruleSchema).min(1) }),
    z.strictObject({ not: ruleSchema }),
  ]),
);

export const permissionsFileSchema = z.strictObject({
  rules: z.record(z.string(), ruleSchema).default({}).describe('Named rules, used as { rule: name }.'),
  types: z
    .record(z.string(), z.record(z.string(), ruleSchema))
    .default({})
    .describe('Type name to field name (or "*" for every field of the type) to a rule.'),
});

export type Permissions = z.output<typeof permissionsFileSchema>;
