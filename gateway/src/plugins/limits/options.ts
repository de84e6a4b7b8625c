import { z } from 'zod';

const limit = (what: string) => z.number().int().positive().optional().describe(what);

/** One set of maxima; a limit left out falls back to `all`, then to the built-in default. */
export const limitSetSchema = z.strictObject({
  tokens: limit('Most lexical tokens in the document (names, punctuation, values); parsing stops past it.'),
  depth: limit('Deepest field nesting (a fragment\'s fields count where it is spread; introspection\'s __schema is not counted).'),
  aliases: limit('Most aliased fields, __typename included.'),
  rootFields: limit('Most fields at the operation\'s root.'),
  directives: limit('Most directives used in the operation.'),
  fields: limit('Most fields in total, each fragment counted wherever it is spread (duplicate fields included).'),
  introspectionLists: limit('Most introspection lists (types, fields, args...) nested in one another; a full introspection query needs 3.'),
  cost: limit('Highest estimated cost (demand control: @cost and @listSize of the supergraph).'),
});

export type LimitSet = z.infer<typeof limitSetSchema>;

/** What `limits: {}` enforces: generous for hand-written queries, far below what hurts a subgraph. */
export const DEFAULT_LIMITS = { tokens: 5000, depth: 12, aliases: 30, rootFields: 20, directives: 50, fields: 1500, introspectionLists: 3, cost: 50_000 } as const;

export const limitsOptionsSchema = z
  .strictObject({
    all: limitSetSchema.default({}).describe(`Limits of every caller. Defaults: ${JSON.stringify(DEFAULT_LIMITS)}.`),
    plans: z
      .record(z.string().regex(/^[\w.:-]+$/, 'a plan name'), limitSetSchema)
      .default({})
      .describe('Overrides by the plan of the verified identity (auth); anonymous callers have plan "anonymous".'),
    defaultListSize: z
      .number()
      .int()
      .positive()
      .default(10)
      .describe('Items assumed in a list field without @listSize and without a slicing argument. Default 10.'),
    exposeCost: z
      .boolean()
      .default(true)
      .describe('Answer `extensions.cost` when the request sends `extensions: {"cost": true}`. Default true.'),
    mode: z
      .enum(['enforce', 'measure'])
      .default('enforce')
      .describe('enforce refuses an operation over a limit (400 QUERY_TOO_COMPLEX); measure only logs it (to roll limits out). Default enforce.'),
  })
  .describe('Operation limits, checked at the edge before planning and before any subgraph call.');

export type LimitsOptions = z.infer<typeof limitsOptionsSchema>;
