/**
 * The federation benchmark of the field (accounts, inventory, products, reviews, as in Apollo's
 * federation demo and The Guild's gateways benchmark), in Federation 2, and its nested query.
 */
const LINK = (imports: string[]) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [${imports.map((i) => `"${i}"`).join(', ')}])`;

export const SUBGRAPH_SDL: Record<'accounts' | 'inventory' | 'products' | 'reviews', string> = {
  accounts: `${LINK(['@key', '@shareable'])}
type Query {
  me: User
  user(id: ID!): User
  users: [User]
}
type User @key(fields: "id") {
  id: ID!
  name: String
  username: String @shareable
  birthday: Int
}
`,
  inventory: `${LINK(['@key', '@external', '@requires'])}
type Product @key(fields: "upc") {
  upc: String!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}
`,
  products: `${LINK(['@key'])}
type Query {
  topProducts(first: Int = 5): [Product]
}
type Product @key(fields: "upc") {
  upc: String!
  name: String
  price: Int
  weight: Int
}
`,
  reviews: `${LINK(['@key', '@external', '@provides'])}
type Review @key(fields: "id") {
  id: ID!
  body: String
  author: User @provides(fields: "username")
  product: Product
}
type User @key(fields: "id") {
  id: ID!
  username: String @external
  reviews: [Review]
}
type Product @key(fields: "upc") {
  upc: String!
  reviews: [Review]
}
`,
};

export const FEDERATION_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query TestQuery {
  users { ...User reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } } }
  topProducts { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } }
}`;

/**
 * The deep workload (issue 24): users -> reviews -> product (with inventory's @requires field)
 * -> reviews -> author (-> reviews -> product), and the same from topProducts, on the deep
 * fixture data (FIXTURE_SCALE=deep): about 90 KB per answer, 16 subgraph fetches in Apollo's plan.
 */
export const DEEP_QUERY = FEDERATION_QUERY.replace('query TestQuery', 'query Deep');
