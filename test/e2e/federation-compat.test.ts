import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { CASES } from '../fixtures/federation/cases.js';
import { canonical, startApolloGateway, startFixture, type RunningFixture } from '../support/federation.js';
import { composeToFile, startTestGateway, tempDir } from '../support/servers.js';

// The federation compatibility suite: small supergraphs covering what federation can express,
// each query answered by vanilla @apollo/gateway and by Frontdesk with every feature on
// (authentication, authorization with rules, the response cache missing, hitting and answering
// at the edge, shared fetches, the access log). The answers must be identical after key sorting,
// and a miss must make exactly the subgraph fetches Apollo makes.
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SECRET = 'the-federation-suite-secret-of-32-chars';
const signedIn = async () => ({
  authorization: `Bearer ${await new SignJWT({ scope: 'read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))}`,
});

interface Answer {
  status: number;
  text: string;
  cache: string | null;
}

async function post(url: string, query: string, variables: Record<string, unknown> | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: response.status, text: canonical(await response.json()), cache: response.headers.get('x-cache') };
}

for (const fixture of CASES) {
  describe(`federation: ${fixture.name}`, () => {
    let subgraphs: RunningFixture;
    let apollo: { url: string; stop(): Promise<void> };
    let frontdesk: RunningGateway;

    beforeAll(async () => {
      subgraphs = await startFixture(fixture.subgraphs);
      apollo = await startApolloGateway(readFileSync(subgraphs.path, 'utf8'));
      // Rules on every root field and on types, all of which let these callers through.
      const permissions = join(tempDir(), 'permissions.yaml');
      writeFileSync(permissions, 'types:\n  Query:\n    "*":\n      or: [authenticated, allow]\n');
      frontdesk = await startTestGateway(
        {
          supergraph: { path: subgraphs.path, watch: false },
          auth: { jwt: { algorithms: ['HS256'], hmacSecret: SECRET }, identity: { privateKeyPem: IDENTITY_KEY } },
          authorization: { permissionsFile: permissions, strict: true },
          // The fixtures send no Cache-Control: every answer without errors is stored.
          responseCache: { defaultMaxAgeSeconds: 60 },
          accessLog: {},
        },
        { production: true },
      );
    });
    afterAll(async () => {
      await frontdesk?.stop();
      await apollo?.stop();
      await subgraphs?.stop();
    });

    it.each(fixture.queries)('$name', async ({ query, variables }) => {
      for (const headers of [{}, await signedIn()]) {
        const before = subgraphs.fetches().total;
        const expected = await post(apollo.url, query, variables, headers);
        const apolloFetches = subgraphs.fetches().total - before;
        expect(JSON.parse(expected.text)).toHaveProperty('data');

        const runs = { ...frontdesk.planRuns };
        const miss = await post(frontdesk.url, query, variables, headers);
        expect(miss.text).toBe(expected.text);
        // Answered by Frontdesk's executor of Apollo's plan, never by Apollo's.
        if (miss.cache === 'MISS') expect(frontdesk.planRuns).toEqual({ frontdesk: runs.frontdesk + 1, apollo: runs.apollo });
        expect(miss.status).toBe(expected.status);
        expect(miss.cache).toMatch(/^(MISS|HIT)$/);
        // The cache adds no fetch: a miss makes exactly Apollo's (a hit, none).
        expect(subgraphs.fetches().total - before - apolloFetches).toBe(miss.cache === 'MISS' ? apolloFetches : 0);

        const stored = !JSON.parse(expected.text).errors;
        const hit = await post(frontdesk.url, query, variables, headers);
        expect(hit.text).toBe(expected.text);
        expect(hit.cache).toBe(stored ? 'HIT' : 'MISS');
        // The third is written at the edge from the bytes of the second.
        const edge = await post(frontdesk.url, query, variables, headers);
        expect(edge.text).toBe(expected.text);
        expect(edge.status).toBe(expected.status);
      }
    });
  });
}

// Requests in flight together share identical fetches, and Frontdesk's executor reads the one
// answer they share without copying it: every request must still get exactly Apollo's answer.
for (const fixture of CASES) {
  describe(`federation: ${fixture.name}, concurrent requests sharing fetches`, () => {
    let subgraphs: RunningFixture;
    let apollo: { url: string; stop(): Promise<void> };
    let frontdesk: RunningGateway;

    beforeAll(async () => {
      subgraphs = await startFixture(fixture.subgraphs, { delayMs: 30 });
      apollo = await startApolloGateway(readFileSync(subgraphs.path, 'utf8'));
      frontdesk = await startTestGateway({ supergraph: { path: subgraphs.path, watch: false } }, { production: true });
    });
    afterAll(async () => {
      await frontdesk?.stop();
      await apollo?.stop();
      await subgraphs?.stop();
    });

    it('answers every one of them as Apollo does, with fewer fetches', async () => {
      const queries = fixture.queries.filter((q) => !q.query.trimStart().startsWith('mutation'));
      const expected = new Map<string, string>();
      const first = subgraphs.fetches().total;
      for (const { name, query, variables } of queries) expected.set(name, (await post(apollo.url, query, variables)).text);
      const apolloFetches = subgraphs.fetches().total - first;
      const copies = 6;
      const before = subgraphs.fetches().total;
      const runs = { ...frontdesk.planRuns };
      // Each query several times, all at once, interleaved: the copies of a query share fetches,
      // and queries with fetches in common share those.
      const answers = await Promise.all(
        Array.from({ length: copies }, () => queries.map(async ({ name, query, variables }) => ({ name, answer: await post(frontdesk.url, query, variables) }))).flat(),
      );
      for (const { name, answer } of answers) expect(answer.text, name).toBe(expected.get(name));
      expect(frontdesk.planRuns.frontdesk - runs.frontdesk).toBe(answers.length);
      // Apollo makes apolloFetches for one copy of each; shared, the copies make fewer than copies x that.
      expect(subgraphs.fetches().total - before).toBeGreaterThan(0);
      expect(subgraphs.fetches().total - before).toBeLessThan(copies * apolloFetches);
    });
  });
}

describe('federation: invalidation against the reference', () => {
  let subgraphs: RunningFixture;
  let apollo: { url: string; stop(): Promise<void> };
  let frontdesk: RunningGateway;

  beforeAll(async () => {
    subgraphs = await startFixture(CASES.find((c) => c.name === 'shop')!.subgraphs);
    apollo = await startApolloGateway(readFileSync(subgraphs.path, 'utf8'));
    frontdesk = await startTestGateway({ supergraph: { path: subgraphs.path, watch: false }, responseCache: { defaultMaxAgeSeconds: 60 } });
  });
  afterAll(async () => {
    await frontdesk?.stop();
    await apollo?.stop();
    await subgraphs?.stop();
  });

  it('answers like Apollo after a mutation that selects none of what it changed', async () => {
    const query = '{ product(upc: "3") { name reviews { body } } }';
    expect((await post(frontdesk.url, query, undefined)).cache).toBe('MISS');
    expect((await post(frontdesk.url, query, undefined)).cache).toBe('HIT');
    // The new review points at product 3: the mutation purges it though the client asked only for the body.
    const added = await post(frontdesk.url, 'mutation { addReview(upc: "3", body: "Dim") { body } }', undefined);
    expect(added.text).toBe(canonical({ data: { addReview: { body: 'Dim' } } }));
    const after = await post(frontdesk.url, query, undefined);
    expect(after.cache).toBe('MISS');
    expect(after.text).toBe((await post(apollo.url, query, undefined)).text);
    expect(after.text).toContain('Dim');
  });
});

describe('federation: a subgraph that refuses what the cache adds to its fetches', () => {
  let server: Server;
  let fetches: string[];
  let frontdesk: RunningGateway;

  beforeAll(async () => {
    fetches = [];
    const sdl = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"]) type Query { product: Product } type Product @key(fields: "id") { id: ID! name: String! }';
    const schema = buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: { Query: { product: () => ({ id: 'p1', name: 'Lamp' }) } } as never }]);
    // As a subgraph whose schema differs from what the supergraph says would: it refuses any field it does not expect.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { query } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string };
        fetches.push(query);
        const answer = query.includes('__fd_') ? Promise.resolve({ errors: [{ message: 'Cannot query field "__fd_k_Product_id"' }] }) : graphql({ schema, source: query });
        void answer.then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const path = join(tempDir(), 'supergraph.graphql');
    composeToFile(path, [{ name: 'strict', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, sdl }]);
    frontdesk = await startTestGateway({ supergraph: { path, watch: false }, responseCache: { defaultMaxAgeSeconds: 60 } });
  });
  afterAll(async () => {
    await frontdesk?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('answers as planned, with one more fetch once, and stores nothing it could not tag', async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await post(frontdesk.url, '{ product { name } }', undefined);
      expect(answer.text).toBe(canonical({ data: { product: { name: 'Lamp' } } }));
      expect(answer.cache).toBe('MISS');
    }
    expect(fetches.map((q) => q.includes('__fd_'))).toEqual([true, false, false, false]);
  });
});
