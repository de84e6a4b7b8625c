import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRestAdapter, type RunningRestAdapter } from '../../adapters/rest/adapter.js';
import { loadOpenApi } from '../../adapters/rest/openapi.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { CATALOG_OPENAPI_PATH, startCatalog } from '../../legacy/catalog/server.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { startLibrary, type LibraryServer } from '../fixtures/library/server.js';
import { composeToFile, gql, startTestGateway, tempDir } from '../support/servers.js';
import { identityToken, stackIdentity } from '../support/stack.js';
import { IDENTITY_HEADER } from '../../subgraphs/shared/server.js';

// The same REST adapter, with no code change, on a second and unrelated OpenAPI document.
const MAPPING = projectPath('test', 'fixtures', 'library', 'library.rest.yaml');
let library: LibraryServer;
let adapter: RunningRestAdapter;
let gateway: RunningGateway;

beforeAll(async () => {
  library = await startLibrary();
  adapter = await startRestAdapter({ mappingPath: MAPPING, targetUrl: library.url, logLevel: 'silent', env: {} });
  const path = join(tempDir(), 'supergraph.graphql');
  composeToFile(path, [{ name: 'library', url: adapter.url, sdl: adapter.generated.sdl }]);
  gateway = await startTestGateway({ supergraph: { path, watch: false } });
});
beforeEach(() => {
  library.requests.length = 0;
});
afterAll(async () => {
  await gateway?.stop();
  await adapter?.stop();
  await library?.stop();
});

async function direct(query: string) {
  const response = await fetch(adapter.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { headers: response.headers, body: (await response.json()) as Awaited<ReturnType<typeof gql>>['body'] };
}

describe('a second OpenAPI service through a gateway', () => {
  it('serves nested objects, enums, int64, date-times and free-form JSON', async () => {
    const { body } = await gql(
      gateway.url,
      '{ book(bookId: "b1") { id title status isbn pageCount publishedAt author { name } shelf { room position { row column } } metadata rating } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.book).toEqual({
      id: 'b1',
      title: 'The Dispossessed',
      status: 'AVAILABLE',
      isbn: '9780061054884',
      pageCount: 387,
      publishedAt: '1974-05-01T00:00:00.000Z',
      author: { name: 'Ursula K. Le Guin' },
      shelf: { room: 'North', position: { row: 3, column: 7 } },
      metadata: { signed: true, tags: ['sf'] },
      rating: 4.5,
    });
  });

  it('keeps an int64 beyond 2^53 exact, in responses and in request bodies', async () => {
    const { body } = await gql(gateway.url, '{ book(bookId: "b2") { isbn pageCount status rating } }');
    expect(body.data!.book).toEqual({ isbn: '9007199254740993', pageCount: null, status: 'CHECKED_OUT', rating: 'classic' });

    const added = await gql(
      gateway.url,
      'mutation { addBook(input: { title: "Parable of the Sower", authorId: "a2", status: LOST, isbn13: "9007199254740995", shelf: { room: "East" } }) { id title status isbn author { name } shelf { room } } }',
    );
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data!.addBook).toMatchObject({ title: 'Parable of the Sower', status: 'LOST', isbn: '9007199254740995', author: { name: 'Octavia E. Butler' }, shelf: { room: 'East' } });
    const post = library.requests.find((r) => r.method === 'POST')!;
    expect(post.url).toBe('/books');
    expect(post.headers['content-type']).toBe('application/json');
    // Wire names and values: snake_case, the enum's wire value, the int64 as an exact number.
    expect(post.body).toBe('{"title":"Parable of the Sower","author_id":"a2","status":"lost","isbn13":9007199254740995,"shelf":{"room":"East"}}');
  });

  it('follows a $ref cycle (Author.books -> Book.author)', async () => {
    const { body } = await gql(gateway.url, '{ getAuthor(authorId: "a1") { name books { title author { name books { title } } } } }');
    expect(body.errors).toBeUndefined();
    const author = body.data!.getAuthor as { name: string; books: { title: string; author: { name: string; books: null } }[] };
    expect(author.books.map((b) => b.title)).toEqual(['The Dispossessed', 'The Lathe of Heaven']);
    expect(author.books[0]!.author).toEqual({ name: 'Ursula K. Le Guin', books: null });
  });

  it('sends path, query (enum, exploded list) and header parameters on the wire', async () => {
    const { body } = await gql(gateway.url, '{ books(status: CHECKED_OUT, tag: ["a b", "c"], limit: 1) { id } book(bookId: "b3", xBranch: "north") { title } }', {
      headers: { 'accept-language': 'de-CH', 'x-request-id': 'lib-42' },
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ books: [{ id: 'b2' }], book: { title: 'The Lathe of Heaven' } });
    const search = library.requests.find((r) => r.url.startsWith('/books?'))!;
    expect(search.url).toBe('/books?status=checked-out&tag=a%20b&tag=c&limit=1');
    const single = library.requests.find((r) => r.url === '/books/b3')!;
    expect(single.headers['x-branch']).toBe('north');
    expect(single.headers['x-request-id']).toBe('lib-42');
    expect(single.headers['accept-language']).toBe('de-CH');
  });

  it('resolves a discriminated oneOf as a union', async () => {
    const { body } = await gql(gateway.url, '{ loans { __typename ... on BookItem { title pages } ... on DvdItem { title minutes } } }');
    expect(body.data).toEqual({
      loans: [
        { __typename: 'BookItem', title: 'Kindred', pages: 264 },
        { __typename: 'DvdItem', title: 'Solaris', minutes: 167 },
      ],
    });
  });

  it('reports a wrong shape as BAD_UPSTREAM_RESPONSE at that path and serves the rest', async () => {
    const nullable = await gql(gateway.url, '{ book(bookId: "broken") { id title pageCount } }');
    expect(nullable.body.data).toEqual({ book: { id: 'broken', title: 'Broken', pageCount: null } });
    expect(nullable.body.errors).toHaveLength(1);
    expect(nullable.body.errors![0]).toMatchObject({
      path: ['book', 'pageCount'],
      extensions: { code: 'BAD_UPSTREAM_RESPONSE' },
      message: 'library sent an invalid response: expected a 32-bit integer at $.page_count',
    });
    const required = await gql(gateway.url, '{ book(bookId: "broken") { id status } }');
    expect(required.body.data).toEqual({ book: null });
    expect(required.body.errors![0]).toMatchObject({ path: ['book', 'status'], extensions: { code: 'BAD_UPSTREAM_RESPONSE' } });
    expect(required.body.errors![0]!.message).toContain('unexpected BookStatus value "misplaced"');
  });

  it('answers 404 with NOT_FOUND naming the entity, without the legacy body', async () => {
    const { body } = await gql(gateway.url, '{ book(bookId: "zz") { title } }');
    expect(body.data).toEqual({ book: null });
    expect(body.errors![0]).toMatchObject({ message: 'Book "zz" not found', extensions: { code: 'NOT_FOUND' } });
    expect(JSON.stringify(body)).not.toContain('lib-db-7');
  });

  it('answers 422 with BAD_USER_INPUT', async () => {
    const { body } = await gql(gateway.url, 'mutation { addBook(input: { title: "", authorId: "a1" }) { id } }');
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('resolves entity references with single-item calls when there is no batch endpoint', async () => {
    const { body } = await direct('{ _entities(representations: [{ __typename: "Book", id: "b1" }, { __typename: "Book", id: "b3" }, { __typename: "Book", id: "zz" }]) { ... on Book { title } } }');
    expect(body.data).toEqual({ _entities: [{ title: 'The Dispossessed' }, { title: 'The Lathe of Heaven' }, null] });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['_entities', 2], extensions: { code: 'NOT_FOUND' } });
    expect(library.requests.map((r) => r.url).sort()).toEqual(['/books/b1', '/books/b3', '/books/zz']);
  });

  it("passes the service's Cache-Control on where the mapping sets no hint", async () => {
    const { headers } = await direct('{ book(bookId: "b1") { title } }');
    expect(headers.get('cache-control')).toBe('max-age=42, public');
  });
});

describe('loading the OpenAPI document', () => {
  it('reads it from a URL as well as from a file', async () => {
    const catalog = await startCatalog({ logLevel: 'silent' });
    try {
      expect(await loadOpenApi(`${catalog.url}/openapi.json`)).toEqual(await loadOpenApi(CATALOG_OPENAPI_PATH));
    } finally {
      await catalog.stop();
    }
  });

  it('fails with the location when the document is missing, unparsable or not OpenAPI 3', async () => {
    await expect(loadOpenApi('/nowhere/openapi.json')).rejects.toThrow('Cannot read OpenAPI document /nowhere/openapi.json: ENOENT');
    const dir = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'bad.json'), '{ "openapi": ');
    await expect(loadOpenApi(join(dir, 'bad.json'))).rejects.toThrow(/does not parse/);
    writeFileSync(join(dir, 'v1.yaml'), 'swaggerVersion: "1.2"\n');
    await expect(loadOpenApi(join(dir, 'v1.yaml'))).rejects.toThrow(/only OpenAPI 3\.0 and 3\.1, and Swagger 2\.0, are supported/);
    // Swagger 2.0 is read, converted to OpenAPI 3.0.
    writeFileSync(join(dir, 'v2.yaml'), 'swagger: "2.0"\ninfo: { title: t, version: "1" }\npaths: {}\n');
    expect((await loadOpenApi(join(dir, 'v2.yaml'))).openapi).toMatch(/^3\.0\./);
  });
});

describe('answers that depend on the caller', () => {
  const signed = async () => ({ [IDENTITY_HEADER]: await identityToken({ kind: 'user', id: 'u7', roles: [], scopes: [], tenant: 't1' }) });
  const adapterWith = async (extra: string): Promise<RunningRestAdapter> => {
    const mapping = join(projectPath('test', 'fixtures', 'library'), `caller-${Math.random().toString(36).slice(2)}.rest.yaml`);
    writeFileSync(mapping, `${readFileSync(MAPPING, 'utf8')}\n${extra}\n`);
    try {
      return await startRestAdapter({ mappingPath: mapping, targetUrl: library.url, logLevel: 'silent', env: {}, identity: await stackIdentity() });
    } finally {
      rmSync(mapping);
    }
  };
  const ask = async (url: string, query: string, headers: Record<string, string> = {}) =>
    (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) })).headers.get('cache-control');

  it('makes private an answer the service says varies (Vary), public otherwise', async () => {
    expect(await ask(adapter.url, '{ book(bookId: "b1") { title } }')).toBe('max-age=42, public');
    expect(await ask(adapter.url, '{ book(bookId: "b3") { title } }')).toBe('max-age=42, private');
  });

  it("makes private an answer fetched with the caller's identity, unless the mapping says the service answers everyone alike", async () => {
    const identity = 'identity:\n  headers:\n    x-library-user: id';
    const sending = await adapterWith(identity);
    try {
      expect(await ask(sending.url, '{ book(bookId: "b1") { title } }')).toBe('max-age=42, public');
      expect(await ask(sending.url, '{ book(bookId: "b1") { title } }', await signed())).toBe('max-age=42, private');
      expect(library.requests.at(-1)!.headers['x-library-user']).toBe('u7');
    } finally {
      await sending.stop();
    }
    const independent = await adapterWith(`${identity}\ncallerIndependent: true`);
    try {
      expect(await ask(independent.url, '{ book(bookId: "b1") { title } }', await signed())).toBe('max-age=42, public');
      expect(await ask(independent.url, '{ book(bookId: "b3") { title } }')).toBe('max-age=42, public');
    } finally {
      await independent.stop();
    }
  });
});
