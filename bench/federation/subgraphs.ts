import { createServer, type Server } from 'node:http';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { SUBGRAPH_SDL } from './schemas.js';

/**
 * The four fixture subgraphs of the federation scenario, in one process of their own: plain
 * node:http servers over buildSubgraphSchema that answer from fixed data, and remember the bytes
 * of each distinct request body, so that after the first request they cost almost nothing and the
 * gateway under test is what the benchmark measures.
 * `node dist/bench/federation/subgraphs.js PORT_ACCOUNTS PORT_INVENTORY PORT_PRODUCTS PORT_REVIEWS`
 */
// FIXTURE_SCALE=deep (the deep scenario): 16 users, 16 products and 48 reviews, three per user
// and per product, so that the deep query answers about 90 KB.
const DEEP = process.env.FIXTURE_SCALE === 'deep';
const SIZES = DEEP ? { users: 16, products: 16, reviews: 48 } : { users: 8, products: 8, reviews: 16 };
const USERS = Array.from({ length: SIZES.users }, (_, i) => ({ id: String(i + 1), name: `User ${i + 1}`, username: `@user${i + 1}`, birthday: 1980 + i }));
const PRODUCTS = Array.from({ length: SIZES.products }, (_, i) => ({ upc: String(i + 1), name: `Product ${i + 1}`, price: 100 + i * 150, weight: 10 + i * 5 }));
const INVENTORY = new Map(PRODUCTS.map((p, i) => [p.upc, { inStock: i % 3 !== 0 }]));
const REVIEWS = Array.from({ length: SIZES.reviews }, (_, i) => ({
  id: String(i + 1),
  body: `Review ${i + 1}: ${'good '.repeat(1 + (i % 4)).trim()}`,
  authorId: USERS[i % USERS.length]!.id,
  upc: PRODUCTS[(i * 7) % PRODUCTS.length]!.upc,
}));

type Reference<T extends string> = { [K in T]: string };

const resolvers = {
  accounts: {
    Query: {
      me: () => USERS[0],
      user: (_: unknown, args: { id: string }) => USERS.find((u) => u.id === args.id) ?? null,
      users: () => USERS,
    },
    User: { __resolveReference: (ref: Reference<'id'>) => USERS.find((u) => u.id === ref.id) ?? null },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: Reference<'upc'> & { price?: number; weight?: number }) => ({ ...ref, ...INVENTORY.get(ref.upc) }),
      // Free above 1000, else half the weight: needs price and weight from products (@requires).
      shippingEstimate: (product: { price?: number; weight?: number }) =>
        product.price === undefined || product.weight === undefined ? null : product.price > 1000 ? 0 : Math.round(product.weight / 2),
    },
  },
  products: {
    Query: { topProducts: (_: unknown, args: { first: number }) => PRODUCTS.slice(0, args.first) },
    Product: { __resolveReference: (ref: Reference<'upc'>) => PRODUCTS.find((p) => p.upc === ref.upc) ?? null },
  },
  reviews: {
    Review: {
      __resolveReference: (ref: Reference<'id'>) => REVIEWS.find((r) => r.id === ref.id) ?? null,
      author: (review: { authorId: string }) => ({ __typename: 'User', id: review.authorId, username: USERS.find((u) => u.id === review.authorId)!.username }),
      product: (review: { upc: string }) => ({ __typename: 'Product', upc: review.upc }),
    },
    User: {
      __resolveReference: (ref: Reference<'id'>) => ref,
      reviews: (user: { id: string }) => REVIEWS.filter((r) => r.authorId === user.id),
      username: (user: { id: string }) => USERS.find((u) => u.id === user.id)?.username ?? null,
    },
    Product: {
      __resolveReference: (ref: Reference<'upc'>) => ref,
      reviews: (product: { upc: string }) => REVIEWS.filter((r) => r.upc === product.upc),
    },
  },
};

/** Requests received by all four subgraphs (GET /_stats on any of them): the gateways' subgraph fetches. */
let fetches = 0;

function serve(schema: GraphQLSchema): Server {
  const answers = new Map<string, Buffer>();
  return createServer((req, res) => {
    if (req.method === 'GET') {
      const body = req.url === '/_stats' ? JSON.stringify({ fetches }) : '{"status":"ready"}';
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    fetches += 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let answer = answers.get(body);
      if (!answer) {
        const { query, variables, operationName } = JSON.parse(body) as { query: string; variables?: Record<string, unknown>; operationName?: string };
        // Entity resolution is asynchronous in buildSubgraphSchema.
        const result = await execute({ schema, document: parse(query), variableValues: variables ?? {}, operationName: operationName ?? null });
        answer = Buffer.from(JSON.stringify(result));
        if (answers.size < 10_000) answers.set(body, answer);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length }).end(answer);
    });
  });
}

export async function startFederationSubgraphs(ports: number[]): Promise<Server[]> {
  const names = ['accounts', 'inventory', 'products', 'reviews'] as const;
  return Promise.all(
    names.map(async (name, i) => {
      const schema = buildSubgraphSchema([{ typeDefs: parse(SUBGRAPH_SDL[name]), resolvers: resolvers[name] as never }]);
      const server = serve(schema);
      await new Promise<void>((resolve) => server.listen(ports[i], '127.0.0.1', resolve));
      return server;
    }),
  );
}

if (process.argv[1]?.endsWith('subgraphs.js')) {
  const ports = process.argv.slice(2).map(Number);
  const servers = await startFederationSubgraphs(ports);
  process.on('SIGTERM', () => {
    for (const server of servers) server.close();
    process.exit(0);
  });
}
