import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { composeServices } from '@apollo/composition';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource } from '@apollo/gateway';
import { QueryPlanner } from '@apollo/query-planner';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CASES, type FixtureCase } from '../../../../test/fixtures/federation/cases.js';
import { compilePlan, executePlan, type GatewayGraphQLRequestContext } from './execute-plan.js';

// Frontdesk's executor against @apollo/gateway's own executeQueryPlan, in process, on the same
// plans and the same subgraph answers: every case of the federation suite, then the same with the
// subgraphs' answers damaged in every way a broken subgraph can damage them. The answers Frontdesk's
// executor reads are deep-frozen, so a write to a shared answer fails the comparison.

type Answer = { data?: unknown; errors?: unknown[] };
type Damage = (answer: Answer, fetch: number, variables: Record<string, unknown>) => Answer;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** A changed copy of a JSON answer: `change` sees every object of `data` and may replace it. */
function rewrite(value: unknown, change: (object: Record<string, unknown>, path: string) => unknown, path = ''): unknown {
  if (Array.isArray(value)) return value.map((item, i) => rewrite(item, change, `${path}.${i}`));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = rewrite(item, change, `${path}.${key}`);
  return change(copy, path);
}

const DAMAGES: Record<string, Damage> = {
  'leaf values of the wrong type': (a) => ({ ...a, data: rewrite(a.data, (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' && k !== '__typename' ? 42.5 : typeof v === 'number' ? 'x' : v]))) }),
  'nulls everywhere': (a) => ({ ...a, data: rewrite(a.data, (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === '__typename' || k === '_entities' ? v : null]))) }),
  'unknown __typename': (a) => ({ ...a, data: rewrite(a.data, (o) => ('__typename' in o ? { ...o, __typename: 'Nope' } : o)) }),
  'missing fields': (a) => ({ ...a, data: rewrite(a.data, (o) => Object.fromEntries(Object.entries(o).filter((_, i) => i % 2 === 0))) }),
  'objects where lists are': (a) => ({ ...a, data: rewrite(a.data, (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) && k !== '_entities' ? (v[0] ?? {}) : v]))) }),
  'lists where objects are': (a) => ({ ...a, data: rewrite(a.data, (o, path) => (path.split('.').length > 3 ? [o] : o)) }),
  'too few entities': (a) => {
    const data = a.data as { _entities?: unknown[] } | null;
    return data?._entities ? { ...a, data: { _entities: data._entities.slice(1) } } : a;
  },
  // As a subgraph that fails some entities (the same ones whichever fetch asks them), in the order of the representations.
  'errors with paths': (a, _fetch, variables) => {
    const representations = (variables.representations ?? []) as unknown[];
    const failing = representations.flatMap((r, i) => (JSON.stringify(r).length % 3 === 0 ? [{ message: `broken ${JSON.stringify(r)}`, path: ['_entities', i, 'name'], extensions: { code: 'BROKEN' } }] : []));
    return { ...a, errors: [...failing, { message: 'no path' }] };
  },
  'no data at all': (a, fetch) => (fetch % 2 === 0 ? { errors: [{ message: 'down' }] } : a),
  'extra and inherited keys': (a) => ({ ...a, data: rewrite(a.data, (o) => ({ ...o, constructor: 'c', toString: { x: 1 }, extra: [1, 2] })) }),
};

interface Setup {
  planner: QueryPlanner;
  supergraph: Supergraph;
  apiGraphQL: GraphQLSchema;
  supergraphGraphQL: GraphQLSchema;
  schemas: Map<string, GraphQLSchema>;
}

function setUp(fixture: FixtureCase): Setup {
  const composed = composeServices(fixture.subgraphs.map((s) => ({ name: s.name, url: `http://${s.name}`, typeDefs: parse(s.sdl) })));
  if (composed.errors) throw new Error(composed.errors.map(String).join('\n'));
  const supergraph = Supergraph.build(composed.supergraphSdl);
  return {
    planner: new QueryPlanner(supergraph),
    supergraph,
    apiGraphQL: supergraph.apiSchema().toGraphQLJSSchema(),
    supergraphGraphQL: supergraph.schema.toGraphQLJSSchema(),
    schemas: new Map(fixture.subgraphs.map((s) => [s.name, buildSubgraphSchema([{ typeDefs: parse(s.sdl), resolvers: s.resolvers as never }])])),
  };
}

/** Data sources answering from the real subgraph schemas in process, each answer damaged as asked (or not). */
function services(setup: Setup, damage: Damage | undefined, freeze: boolean): Record<string, GraphQLDataSource> {
  let fetches = 0;
  return Object.fromEntries(
    [...setup.schemas].map(([name, schema]) => [
      name,
      {
        async process({ request }) {
          const result = JSON.parse(JSON.stringify(await graphql({ schema, source: request.query!, variableValues: request.variables ?? {} }))) as Answer;
          const answer = damage ? damage(result, fetches++, request.variables ?? {}) : result;
          return (freeze ? deepFreeze(answer) : answer) as never;
        },
      } satisfies GraphQLDataSource,
    ]),
  );
}

async function both(setup: Setup, query: string, variables: Record<string, unknown> | undefined, damage?: Damage): Promise<[string, string]> {
  const document = parse(query);
  const operationContext = buildOperationContext({ schema: setup.apiGraphQL, operationDocument: document });
  const plan = setup.planner.buildQueryPlan(operationFromDocument(setup.supergraph.apiSchema(), document));
  const request = (): GatewayGraphQLRequestContext => ({ request: { query, variables }, document, context: {}, metrics: {}, logger: console }) as unknown as GatewayGraphQLRequestContext;
  const outcome = async (run: () => Promise<unknown>) => {
    try {
      return JSON.stringify(await run());
    } catch (error) {
      return `threw ${(error as Error).message}`;
    }
  };
  const apollo = await outcome(() =>
    executeQueryPlan(plan, services(setup, damage, false), request() as never, operationContext, setup.supergraphGraphQL, setup.supergraph.apiSchema(), undefined),
  );
  const compiled = compilePlan(plan, operationContext, setup.supergraph.apiSchema());
  expect(compiled, 'Frontdesk runs this plan').toBeDefined();
  const frontdesk = await outcome(() => executePlan(compiled!, request(), services(setup, damage, true), setup.supergraphGraphQL));
  return [frontdesk, apollo];
}

for (const fixture of CASES) {
  describe(`Frontdesk's executor against Apollo's: ${fixture.name}`, () => {
    const setup = setUp(fixture);
    const queries = fixture.queries.filter((q) => !q.query.trimStart().startsWith('mutation'));

    it.each(queries)('$name', async ({ query, variables }) => {
      const [frontdesk, apollo] = await both(setup, query, variables);
      expect(frontdesk).toBe(apollo);
    });

    it.each(Object.keys(DAMAGES))('every query, with %s', async (damage) => {
      for (const { name, query, variables } of queries) {
        const [frontdesk, apollo] = await both(setup, query, variables, DAMAGES[damage]);
        expect(frontdesk, name).toBe(apollo);
      }
    });
  });
}
