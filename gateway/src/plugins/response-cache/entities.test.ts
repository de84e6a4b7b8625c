import { buildSchema, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { entityKeysOf, entityTag, extractEntities, prepareOperation } from './entities.js';
import { hintFromCacheControl } from '../../core/cache-hints.js';

const api = buildSchema(`
  type Query { product(id: ID!): Product  node: Node  search: [Result!]! }
  type Mutation { addReview(productId: ID!): Review! }
  interface Node { id: ID! }
  union Result = Product | Price
  type Product implements Node { id: ID! sku: String! name: String! price: Price reviews: [Review!]! }
  type Review implements Node { id: ID! body: String! product: Product author(format: String!): User }
  type User { id: ID! }
  type Price { amount: String! }
`);
// The join directives as composition writes them (only the parts entityKeysOf reads).
const supergraph = `
  type Product @join__type(graph: A, key: "id") @join__type(graph: B, key: "sku") { id: ID! }
  type Review @join__type(graph: B, key: "id") { id: ID! }
  type User @join__type(graph: C, key: "missing") { id: ID! }
  type Price @join__type(graph: A) { amount: String! }
`;
const keys = entityKeysOf(supergraph, api);

describe('entityKeysOf', () => {
  it('takes the first key of each entity whose fields are in the API schema', () => {
    expect([...keys].map(([type, key]) => [type, key.fields])).toEqual([
      ['Product', ['id']],
      ['Review', ['id']],
    ]);
  });
});

describe('prepareOperation', () => {
  it('adds the key under a reserved alias, and no __typename where the schema fixes the type', () => {
    const prepared = prepareOperation(parse('{ product(id: "p1") { name price { amount } } }'), api, keys)!;
    expect(print(prepared.document)).toContain('product(id: "p1") {\n    name\n    price {\n      amount\n    }\n    __fd_k_id: id\n  }');
    expect(prepared.types).toEqual(['Price', 'Product']);
    expect(prepared.reserved).toBe(true);
    const result = { data: { product: { name: 'Sofa', price: { amount: '1' }, __fd_k_id: 'p1' } } as Record<string, unknown> };
    expect([...extractEntities(result, keys, prepared.shape)]).toEqual(['Product:p1']);
    expect(result.data).toEqual({ product: { name: 'Sofa', price: { amount: '1' } } });
  });

  it('falls back to __typename everywhere when one response key can hold different types', () => {
    const query = '{ node { ... on Product { r: price { amount } } ... on Review { r: product { id } } } }';
    const prepared = prepareOperation(parse(query), api, keys)!;
    expect(prepared.shape).toBeUndefined();
    expect(print(prepared.document)).toContain('r: product {\n        id\n        __fd_t: __typename\n      }');
  });

  it('reads what the client selected itself under its own name instead of adding it', () => {
    const own = prepareOperation(parse('{ product(id: "p1") { __typename id name } }'), api, keys)!;
    const printed = print(own.document);
    expect(printed).not.toContain('__fd_');
    // Nothing added: a result that is neither stored nor purged with needs no walk at all.
    expect(own.reserved).toBe(false);
    const result = { data: { product: { __typename: 'Product', id: 'p1', name: 'Sofa' } } as Record<string, unknown> };
    expect([...extractEntities(result, keys)]).toEqual(['Product:p1']);
    expect(result.data).toEqual({ product: { __typename: 'Product', id: 'p1', name: 'Sofa' } });
    // An alias named like the key is not the key: the key is added under the reserved alias.
    expect(print(prepareOperation(parse('{ product(id: "p1") { id: name } }'), api, keys)!.document)).toContain('__fd_k_id: id');
  });

  it('counts the key a fragment always selects, never one under @skip or @include or a narrower type', () => {
    const viaFragments = prepareOperation(parse('fragment P on Product { id } { product(id: "p1") { ...P name } again: product(id: "p2") { ... on Product { id } ... { name } } }'), api, keys)!;
    expect(print(viaFragments.document)).not.toContain('__fd_');
    expect(viaFragments.reserved).toBe(false);
    const result = { data: { product: { id: 'p1', name: 'Sofa' }, again: { id: 'p2', name: 'Lamp' } } as Record<string, unknown> };
    expect([...extractEntities(result, keys, viaFragments.shape)].sort()).toEqual(['Product:p1', 'Product:p2']);
    for (const query of [
      'query Q($x: Boolean!) { product(id: "p1") { id @include(if: $x) name } }',
      'query Q($x: Boolean!) { product(id: "p1") { ...P @skip(if: $x) name } } fragment P on Product { id }',
      'query Q($x: Boolean!) { product(id: "p1") { ... @include(if: $x) { id } name } }',
    ]) {
      expect(print(prepareOperation(parse(query), api, keys)!.document)).toContain('__fd_k_id: id');
    }
  });

  it('identifies the entity types behind interfaces and unions', () => {
    const printed = print(prepareOperation(parse('{ node { id } search { ... on Price { amount } } }'), api, keys)!.document);
    expect(printed).toContain('... on Product {\n      __fd_k_id: id\n    }');
    expect(printed).toContain('... on Review {\n      __fd_k_id: id\n    }');
  });

  it('adds the entities a mutation result references, without required arguments', () => {
    const printed = print(prepareOperation(parse('mutation { addReview(productId: "p1") { id } }'), api, keys)!.document);
    expect(printed).toContain('__fd_r_product: product {\n      __fd_t: __typename\n      __fd_k_id: id\n    }');
    expect(printed).not.toContain('author');
  });

  it('refuses an operation that uses a reserved alias', () => {
    expect(prepareOperation(parse('{ product(id: "p1") { __fd_t: name } }'), api, keys)).toBeUndefined();
  });
});

describe('extractEntities', () => {
  it('collects entity tags, removes every reserved field and the errors they alone caused', () => {
    const result = {
      data: {
        product: {
          name: 'Sofa',
          __fd_t: 'Product',
          __fd_k_id: 'p1',
          reviews: [{ body: 'ok', __fd_t: 'Review', __fd_k_id: 'r1', __fd_r_product: { __fd_t: 'Product', __fd_k_id: 'p2' } }],
        },
        other: { __fd_t: 'Product', __fd_k_id: null },
      } as Record<string, unknown>,
      errors: [{ path: ['product', '__fd_k_id'] }, { path: ['product', 'name'] }],
    };
    expect([...extractEntities(result, keys)].sort()).toEqual(['Product:p1', 'Product:p2', 'Review:r1']);
    expect(result.data).toEqual({ product: { name: 'Sofa', reviews: [{ body: 'ok' }] }, other: {} });
    expect(result.errors).toEqual([{ path: ['product', 'name'] }]);
  });

  it('names composite keys by their sorted fields', () => {
    expect(entityTag('Sku', { b: 2, a: 'x' })).toBe('Sku:{"a":"x","b":2}');
    expect(entityTag('Product', { id: 'p1' })).toBe('Product:p1');
  });
});

describe('hintFromCacheControl', () => {
  it.each([
    ['max-age=60, public', { maxAge: 60, scope: 'PUBLIC' }],
    ['private, max-age=30', { maxAge: 30, scope: 'PRIVATE' }],
    ['no-store', { maxAge: 0, scope: 'PUBLIC' }],
    ['max-age=abc', { maxAge: 0, scope: 'PUBLIC' }],
  ])('reads %s', (header, hint) => {
    expect(hintFromCacheControl(header)).toEqual(hint);
  });

  it('is undefined without the header, so the configured default applies', () => {
    expect(hintFromCacheControl(null)).toBeUndefined();
  });
});
