import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CostEstimator, costNamesOf, DocumentTooLarge, measureDocument } from './measure.js';
import { OperationLimits } from './operation-limits.js';

const SDL = `
  extend schema @link(url: "https://specs.apollo.dev/cost/v0.1", import: [{ name: "@cost", as: "@weight" }, "@listSize"])
  directive @weight(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  type Query {
    user(id: ID!): User
    users(first: Int = 5, last: Int): [User!]! @listSize(slicingArguments: ["first", "last"], requireOneSlicingArgument: false)
    page(first: Int): UserPage @listSize(slicingArguments: ["first"], sizedFields: ["items"], requireOneSlicingArgument: false)
    top: [User!]! @listSize(assumedSize: 3)
    plain: [User!]!
    search(text: String @weight(weight: 7)): [User!]! @listSize(assumedSize: 2)
    expensive: Report @weight(weight: 50)
    _entities(representations: [String!]!): [User]!
  }
  type Mutation { rename(name: String!): User }
  type User { id: ID! name: String friends: [User!]! @listSize(assumedSize: 4) report: Report }
  type Report @weight(weight: 9) { total: Int }
  type UserPage { items: [User!]! total: Int }
`;
const schema = buildSchema(SDL.replace(/extend schema @link\([^\n]*\n/, ''), { assumeValidSDL: true });
const estimator = new CostEstimator(schema, { defaultListSize: 10, names: costNamesOf(parse(SDL)) });
const cost = (query: string, variables: Record<string, unknown> = {}) => {
  const measured = measureDocument(query, 10_000);
  return estimator.estimate(measured, measured.operations[0]!.operation, variables);
};

describe('measureDocument', () => {
  it('measures depth as field nesting, aliases, root fields, directives and fields', () => {
    const [op] = measureDocument('query Q @a { a: user(id: 1) { ...F friends @b { id } } b: __typename } fragment F on User { name n2: name }', 1000).operations;
    expect(op).toMatchObject({ name: 'Q', depth: 3, aliases: 3, rootFields: 2, directives: 2, fields: 6 });
  });

  it('counts a fragment wherever it is spread, measuring it once: a doubling chain of 60 is measured at once', () => {
    const chain = Array.from({ length: 60 }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const [op] = measureDocument(`{ user(id: 1) { ...F0 } } ${chain} fragment F60 on User { name }`, 100_000).operations;
    expect(op!.fields).toBe(1 + 2 ** 60);
    expect(op!.depth).toBe(2);
  });

  it('stops parsing at the token limit and counts tokens otherwise', () => {
    expect(() => measureDocument(`{ ${'a '.repeat(200)}}`, 100)).toThrow(DocumentTooLarge);
    expect(measureDocument('{ a b(x: 1) }', 100).tokens).toBe(9);
  });

  it('counts introspection lists nested in one another, inside fragments too', () => {
    const measure = (q: string) => measureDocument(q, 10_000).operations[0]!.introspectionLists;
    expect(measure('{ __schema { types { fields { args { name } } } } }')).toBe(3);
    expect(measure('{ __schema { types { ...T } } } fragment T on __Type { fields { type { fields { name } } } }')).toBe(3);
    expect(measure('{ __type(name: "User") { fields { type { fields { type { fields { name } } } } } } }')).toBe(3);
    expect(measure('{ user(id: 1) { friends { friends { id } } } }')).toBe(0);
  });
});

describe('CostEstimator (Apollo demand control semantics)', () => {
  it('costs objects 1, scalars 0, and multiplies lists by the default size', () => {
    expect(cost('{ user(id: 1) { id name } }')).toBe(1);
    expect(cost('{ plain { id } }')).toBe(10);
    expect(cost('{ plain { friends { id } } }')).toBe(10 * (1 + 4));
  });

  it('sizes a list by its largest slicing argument (literal, variable, argument default)', () => {
    expect(cost('{ users(first: 3, last: 7) { id } }')).toBe(7);
    expect(cost('query($n: Int) { users(first: $n) { id } }', { n: 12 })).toBe(12);
    expect(cost('query($n: Int = 4) { users(first: $n) { id } }')).toBe(4);
    expect(cost('{ users { id } }')).toBe(5);
  });

  it('uses assumedSize, and sizedFields for connections', () => {
    expect(cost('{ top { id } }')).toBe(3);
    expect(cost('{ page(first: 6) { items { id } total } }')).toBe(1 + 6);
  });

  it('reads @cost under its imported name on fields, types and arguments; a mutation adds 10', () => {
    expect(cost('{ expensive { total } }')).toBe(50);
    expect(cost('{ user(id: 1) { report { total } } }')).toBe(1 + 9);
    expect(cost('{ search(text: "x") { id } }')).toBe(2 * (1 + 7));
    expect(cost('{ search { id } }')).toBe(2);
    expect(cost('mutation { rename(name: "x") { id } }')).toBe(10 + 1);
  });

  it('costs fragments once and reuses them; sizes _entities by its representations', () => {
    expect(cost('{ plain { ...F } top { ...F } } fragment F on User { friends { id } }')).toBe(10 * (1 + 4) + 3 * (1 + 4));
    expect(cost('query($r: [String!]!) { _entities(representations: $r) { id } }', { r: ['a', 'b', 'c'] })).toBe(3);
  });
});

describe('OperationLimits', () => {
  const limits = new OperationLimits({ all: { depth: 3, cost: 20 }, plans: { free: { cost: 5 }, big: { tokens: 50_000 } }, defaultListSize: 10 });
  const owner = {};
  const est = limits.estimatorFor(owner, () => SDL)!;

  it('checks the plan\'s maxima, falling back to all and the defaults', () => {
    expect(limits.limitsOf('free')).toMatchObject({ cost: 5, depth: 3, aliases: 30 });
    expect(limits.check('{ plain { id } }', undefined, {}, undefined, est)).toEqual({ cost: 10 });
    expect(limits.check('{ plain { id } }', undefined, {}, 'free', est).exceeded).toEqual({ limit: 'cost', measured: 10, max: 5 });
    expect(limits.check('{ user(id: 1) { friends { friends { id } } } }', undefined, {}, undefined, est).exceeded).toEqual({ limit: 'depth', measured: 4, max: 3 });
  });

  it('holds every operation to the structural limits and costs the one that runs', () => {
    const doc = 'query A { plain { id } } query B { user(id: 1) { id } }';
    expect(limits.check(doc, 'B', {}, 'free', est)).toEqual({ cost: 1 });
    expect(limits.check(doc, 'A', {}, 'free', est).exceeded?.limit).toBe('cost');
  });

  it('parses up to the largest plan\'s token limit, and refuses past each plan\'s own', () => {
    const big = `{ user(id: 1) { ${'__typename '.repeat(6000)}} }`;
    expect(limits.check(big, undefined, {}, undefined, est).exceeded).toMatchObject({ limit: 'tokens', max: 5000 });
    expect(limits.check(big, undefined, {}, 'big', est).exceeded).toMatchObject({ limit: 'fields', measured: 6001 });
  });

  it('reports a syntax error without measuring', () => {
    expect(limits.check('{ user(', undefined, {}, undefined, est).syntaxError?.message).toMatch(/Syntax Error/);
  });
});
