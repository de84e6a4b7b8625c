import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { composeSubgraphs } from '../../../../schema/composition.js';
import { forGateway } from '../../core/supergraph.js';
import { Supergraph } from '@apollo/federation-internals';
import { EntityCatalog, entityKeysOf, entityTag, isReservedError, tagResponse, typesOf } from './entities.js';
import { hintFromCacheControl } from './hints.js';

const LINK = (imports: string) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: [${imports}])`;
const outcome = composeSubgraphs([
  {
    name: 'products',
    url: 'http://products/graphql',
    file: 'products.graphql',
    sdl: `${LINK('"@key", "@shareable"')}
      type Query { product(id: ID!): Product  node(id: ID!): Node  search: [Result!]! }
      interface Node { id: ID! }
      union Result = Product | Price
      type Product implements Node @key(fields: "id") @key(fields: "sku") { id: ID! sku: String! name: String! price: Price }
      type Price @shareable { amount: String! }`,
  },
  {
    name: 'reviews',
    url: 'http://reviews/graphql',
    file: 'reviews.graphql',
    sdl: `${LINK('"@key"')}
      type Mutation { addReview(productId: ID!): Review! }
      type Review @key(fields: "id") { id: ID! body: String! product: Product  author(format: String!): User  tags: [Product!]! }
      type Product @key(fields: "sku") { sku: String! reviews: [Review!]! }
      type User @key(fields: "id") { id: ID! }`,
  },
]);
if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
const sdl = forGateway(outcome.supergraphSdl);
const api = Supergraph.build(sdl).apiSchema().toGraphQLJSSchema();
const catalog = new EntityCatalog(sdl, api);

describe('entityKeysOf', () => {
  it('takes the first key of each entity whose fields are in the API schema', () => {
    expect([...catalog.keys].map(([type, key]) => [type, key.fields])).toEqual([
      ['Product', ['id']],
      ['Review', ['id']],
      ['User', ['id']],
    ]);
    const missing = entityKeysOf('type User @join__type(graph: C, key: "missing") { id: ID! }', buildSchema('type Query { u: User } type User { id: ID! }'));
    expect(missing.size).toBe(0);
  });
});

describe('EntityCatalog.prepare', () => {
  it('adds the key the subgraph declares under a reserved alias, and reads the entity from the response', () => {
    const prepared = catalog.prepare('products', '{ product(id: "p1") { name price { amount } } }', false)!;
    expect(prepared.query).toBe('{\n  product(id: "p1") {\n    name\n    price {\n      amount\n    }\n    __fd_k_Product_id: id\n  }\n}');
    const tags = new Set<string>();
    tagResponse({ product: { name: 'Sofa', price: { amount: '1' }, __fd_k_Product_id: 'p1' } }, prepared.shape, tags);
    expect([...tags]).toEqual(['Product:p1']);
  });

  it('adds nothing where the fetch selects the key itself, and reads it under its own name', () => {
    const prepared = catalog.prepare('products', '{ product(id: "p1") { __typename id name } }', false)!;
    expect(prepared.query).toBeUndefined();
    const tags = new Set<string>();
    tagResponse({ product: { __typename: 'Product', id: 'p1', name: 'Sofa' } }, prepared.shape, tags);
    expect([...tags]).toEqual(['Product:p1']);
    // An alias named like the key is not the key.
    expect(catalog.prepare('products', '{ product(id: "p1") { id: name } }', false)!.query).toContain('__fd_k_Product_id: id');
    // Nor is a key under a directive.
    expect(catalog.prepare('products', 'query Q($x: Boolean!) { product(id: "p1") { id @include(if: $x) } }', false)!.query).toContain('__fd_k_Product_id: id');
  });

  it('uses the key of the subgraph it fetches from (reviews knows Product by sku only)', () => {
    const query = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { reviews { body product { name: __typename } } } } }';
    const prepared = catalog.prepare('reviews', query, false)!;
    expect(prepared.query).toContain('reviews {\n        body\n        product {\n          name: __typename\n          __fd_k_Product_sku: sku\n        }\n        __fd_k_Review_id: id\n      }');
    // The _entities items themselves are known from the representations.
    expect(prepared.query).toContain('_entities(representations: $representations) {\n    ... on Product {\n      reviews {');
    const tags = new Set<string>();
    tagResponse({ _entities: [{ reviews: [{ body: 'ok', product: { name: 'Product', __fd_k_Product_sku: 'S1' }, __fd_k_Review_id: 'r1' }] }, null] }, prepared.shape, tags);
    expect([...tags].sort()).toEqual(['Product:{"sku":"S1"}', 'Review:r1'].sort());
  });

  it('identifies entities behind interfaces and unions by __typename', () => {
    const prepared = catalog.prepare('products', '{ node(id: "p1") { id } search { ... on Price { amount } } }', false)!;
    expect(prepared.query).toContain('node(id: "p1") {\n    id\n    __fd_t: __typename\n    ... on Product {\n      __fd_k_Product_id: id\n    }\n  }');
    const tags = new Set<string>();
    tagResponse({ node: { id: 'p1', __fd_t: 'Product', __fd_k_Product_id: 'p1' }, search: [{ __fd_t: 'Price' }, { __fd_t: 'Product', __fd_k_Product_id: 'p2' }] }, prepared.shape, tags);
    expect([...tags].sort()).toEqual(['Product:p1', 'Product:p2']);
  });

  it('adds to a mutation the nullable single entities its result points at', () => {
    const prepared = catalog.prepare('reviews', 'mutation { addReview(productId: "p1") { id } }', true)!;
    expect(prepared.query).toContain('__fd_r_product: product {\n      __fd_k_Product_sku: sku\n    }');
    // Not a field with required arguments, not a list.
    expect(prepared.query).not.toContain('author');
    expect(prepared.query).not.toContain('tags');
    expect(catalog.prepare('reviews', 'query { _service { sdl } }', false)!.query).toBeUndefined();
    const tags = new Set<string>();
    tagResponse({ addReview: { id: 'r9', __fd_r_product: { __fd_k_Product_sku: 'S1' } } }, prepared.shape, tags);
    expect([...tags].sort()).toEqual(['Product:{"sku":"S1"}', 'Review:r9']);
  });

  it('reads fragments where they are spread, and adds the keys inside their definitions once', () => {
    const prepared = catalog.prepare('products', '{ product(id: "p1") { ...P } } fragment P on Product { id name }', false)!;
    expect(prepared.query).toContain('fragment P on Product {\n  id\n  name\n}');
    const tags = new Set<string>();
    tagResponse({ product: { id: 'p1', name: 'Sofa', __fd_k_Product_id: 'p1' } }, prepared.shape, tags);
    expect([...tags]).toEqual(['Product:p1']);
    const nested = catalog.prepare(
      'reviews',
      'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { ...R } } } fragment R on Product { reviews { body } }',
      false,
    )!;
    expect(nested.query).toContain('fragment R on Product {\n  reviews {\n    body\n    __fd_k_Review_id: id\n  }\n}');
    const fromFragment = new Set<string>();
    tagResponse({ _entities: [{ reviews: [{ body: 'ok', __fd_k_Review_id: 'r2' }] }] }, nested.shape, fromFragment);
    expect([...fromFragment]).toEqual(['Review:r2']);
  });

  it('prepares nothing for an unknown subgraph, a query that does not parse, or one using reserved names', () => {
    expect(catalog.prepare('nope', '{ product(id: "p1") { name } }', false)).toBeNull();
    expect(catalog.prepare('products', '{ product(', false)).toBeNull();
    expect(catalog.prepare('products', '{ product(id: "p1") { __fd_t: name } }', false)).toBeNull();
  });
});

describe('tags', () => {
  it('reads representations by the supergraph key, or by another key of the type as JSON', () => {
    const tags = new Set<string>();
    catalog.tagRepresentations([{ __typename: 'Product', id: 'p1', sku: 'S1' }, { __typename: 'Product', sku: 'S2' }, { __typename: 'User', id: 'u1' }, null], tags);
    expect([...tags]).toEqual(['Product:p1', 'Product:{"sku":"S2"}', 'User:u1']);
  });

  it('widens a purge to entity interfaces with the same key', () => {
    const withInterface = composeSubgraphs([
      {
        name: 'a',
        url: 'http://a/graphql',
        file: 'a.graphql',
        sdl: `${LINK('"@key"')} type Query { media: [Media] } interface Media @key(fields: "id") { id: ID! } type Book implements Media @key(fields: "id") { id: ID! }`,
      },
    ]);
    if (!withInterface.ok) throw new Error(withInterface.errors.join('\n'));
    const gatewaySdl = forGateway(withInterface.supergraphSdl);
    const media = new EntityCatalog(gatewaySdl, Supergraph.build(gatewaySdl).apiSchema().toGraphQLJSSchema());
    expect(media.widen(['Book:1', 'Other'])).toEqual(['Book:1', 'Media:1', 'Other']);
  });

  it('names composite keys by their sorted fields', () => {
    expect(entityTag('Sku', { b: 2, a: 'x' })).toBe('Sku:{"a":"x","b":2}');
    expect(entityTag('Product', { id: 'p1' })).toBe('Product:p1');
  });

  it('knows an error raised by a reserved field', () => {
    expect(isReservedError({ path: ['product', '__fd_k_Product_id'] })).toBe(true);
    expect(isReservedError({ path: ['product', 0, 'name'] })).toBe(false);
    expect(isReservedError({})).toBe(false);
  });

  it('lists every object type an operation can return, each fragment visited once', () => {
    expect(typesOf(parse('{ product(id: "p1") { ...P price { amount } } search { __typename } } fragment P on Product { name }'), api)).toEqual(['Price', 'Product']);
    // A fragment chain that would double at every step is walked in linear time.
    const chain = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Product { ...F${i + 1} ...F${i + 1} }`).join('\n');
    expect(typesOf(parse(`{ product(id: "p1") { ...F0 } } ${chain} fragment F40 on Product { price { amount } }`), api)).toEqual(['Price', 'Product']);
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
