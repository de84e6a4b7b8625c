import { describe, expect, it } from 'vitest';
import { generateRestSubgraph } from './generate.js';
import { restMappingSchema, type RestMapping } from './mapping.js';
import { normalizeOpenApi, type OpenApiDocument } from './openapi.js';
import { formEncoded } from '../toolkit/http-client.js';

const base = { service: 'svc', subgraph: 'svc', spec: 'spec.json', target: { url: 'http://127.0.0.1:1' }, permissions: {} };

function mapping(extra: Record<string, unknown> = {}): RestMapping {
  return restMappingSchema.parse({ ...base, ...extra });
}

function doc(paths: Record<string, unknown>, schemas: Record<string, unknown> = {}, openapi = '3.1.0'): OpenApiDocument {
  return { openapi, paths, components: { schemas } } as OpenApiDocument;
}

const json = (schema: unknown) => ({ '200': { description: 'ok', content: { 'application/json': { schema } } } });

describe('generateRestSubgraph', () => {
  it('turns GET operations into queries and others into mutations, with readable names', () => {
    const generated = generateRestSubgraph(
      doc({
        '/things/{thing_id}': { get: { operationId: 'get_thing_by_id', parameters: [{ name: 'thing_id', in: 'path', required: true, schema: { type: 'string' } }], responses: json({ $ref: '#/components/schemas/Thing' }) } },
        '/things': { post: { operationId: 'CreateThing', requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } }, responses: json({ $ref: '#/components/schemas/Thing' }) } },
      }, { Thing: { type: 'object', required: ['thing_id'], properties: { thing_id: { type: 'string' }, 'display-name': { type: 'string' }, count: { type: 'integer' } } } }),
      mapping(),
      'spec.json',
    );
    expect(generated.sdl).toContain('getThingById(thingId: ID!): Thing');
    expect(generated.sdl).toContain('createThing(input: ThingInput): Thing');
    expect(generated.sdl).toMatch(/type Thing @shareable @cacheControl\(inheritMaxAge: true\) \{\n {2}thingId: ID!\n {2}displayName: String\n {2}count: Int\n\}/);
    expect(generated.warnings).toEqual([]);
  });

  it('maps int64 and out-of-range integers to Int64, never to a truncating Int', () => {
    const generated = generateRestSubgraph(
      doc({ '/n': { get: { operationId: 'n', responses: json({ type: 'object', properties: { a: { type: 'integer', format: 'int64' }, b: { type: 'integer', maximum: 5000000000 }, c: { type: 'integer', format: 'int32' } } }) } } }),
      mapping(),
      'spec.json',
    );
    expect(generated.sdl).toMatch(/a: Int64\n {2}b: Int64\n {2}c: Int\n/);
  });

  it('reads 3.0 nullable and 3.1 type arrays', () => {
    const schema = { type: 'object', required: ['a', 'b'], properties: { a: { type: 'string', nullable: true }, b: { type: ['string', 'null'] } } };
    const v30 = generateRestSubgraph(doc({ '/x': { get: { operationId: 'x', responses: json(schema) } } }, {}, '3.0.3'), mapping(), 's');
    expect(v30.sdl).toMatch(/a: String\n {2}b: String\n/);
    const v31 = generateRestSubgraph(doc({ '/x': { get: { operationId: 'x', responses: json(schema) } } }), mapping(), 's');
    expect(v31.sdl).toMatch(/a: String!\n {2}b: String\n/);
  });

  it.each([
    ['an external $ref', { $ref: 'other.json#/Thing' }, /spec\.json#\/paths\/~1x\/get\/responses\/200\/content\/application~1json\/schema: external \$ref other\.json#\/Thing is not supported/],
    ['a $ref that does not resolve', { $ref: '#/components/schemas/Nope' }, /\$ref #\/components\/schemas\/Nope does not resolve/],
    ['"not"', { not: { type: 'string' } }, /"not" cannot be expressed in GraphQL \(set degradeUnsupported/],
    ['an unknown type', { type: 'decimal' }, /unknown type "decimal"/],
  ])('fails at start-up on %s, naming the spec location', (_name, schema, message) => {
    expect(() => generateRestSubgraph(doc({ '/x': { get: { operationId: 'x', responses: json(schema) } } }), mapping(), 'spec.json')).toThrow(message);
  });

  it('degrades what it cannot express to JSON with a warning where the mapping allows it', () => {
    const generated = generateRestSubgraph(doc({ '/x': { get: { operationId: 'x', responses: json({ not: { type: 'string' } }) } } }), mapping({ degradeUnsupported: true }), 'spec.json');
    expect(generated.sdl).toContain('x: JSON');
    expect(generated.warnings).toEqual(['spec.json#/paths/~1x/get/responses/200/content/application~1json/schema: "not" cannot be expressed in GraphQL; mapped to JSON']);
  });

  it('fails on non-JSON request bodies (or leaves their operation out, degraded) and on mapped field collisions; numbers colliding default names, properties and parameters', () => {
    expect(() =>
      generateRestSubgraph(doc({ '/u': { post: { operationId: 'upload', requestBody: { content: { 'multipart/form-data': { schema: { type: 'object' } } } }, responses: {} } } }), mapping(), 's'),
    ).toThrow(/only JSON and form request bodies are supported \(multipart\/form-data\)/);
    // Default names that read alike: the later one numbered, with a warning.
    const alike = generateRestSubgraph(doc({ '/a': { get: { operationId: 'list', responses: json({ type: 'string' }) } }, '/b': { get: { operationId: 'List', responses: json({ type: 'string' }) } } }), mapping(), 's');
    expect(alike.operations.map((o) => `${o.operationId}:${o.field}`)).toEqual(['list:list', 'List:list2']);
    expect(alike.warnings).toEqual(['s#/paths/~1b/get: field list is taken by an earlier operation; List is list2']);
    // Paths that read alike without operationIds: the later operationId numbered too.
    const paths = generateRestSubgraph(doc({ '/fs/{Path}': { post: { responses: json({ type: 'string' }) } }, '/fs/Path': { post: { responses: json({ type: 'string' }) } } }), mapping(), 's');
    expect(paths.operations.map((o) => `${o.operationId}:${o.field}`)).toEqual(['postFsPath:postFsPath', 'postFsPath2:postFsPath2']);
    // An operation the generator cannot build: an error, or left out with its reason when degraded.
    const odd = doc({ '/m': { get: { operationId: 'matrix', parameters: [{ name: 'x', in: 'matrix', schema: { type: 'string' } }], responses: json({ type: 'string' }) } }, '/n': { get: { operationId: 'normal', responses: json({ type: 'string' }) } } });
    expect(() => generateRestSubgraph(odd, mapping(), 's')).toThrow(/parameter location matrix is not supported/);
    const partial = generateRestSubgraph(odd, mapping({ degradeUnsupported: true }), 's');
    expect(partial.operations.map((o) => o.operationId)).toEqual(['normal']);
    expect(partial.warnings).toEqual(['s#/paths/~1m/get/parameters/0: parameter location matrix is not supported; operation matrix left out']);
    // A name the mapping gives twice is the user's to fix.
    expect(() =>
      generateRestSubgraph(doc({ '/a': { get: { operationId: 'a', responses: json({ type: 'string' }) } }, '/b': { get: { operationId: 'b', responses: json({ type: 'string' }) } } }), mapping({ operations: { a: { field: 'same' }, b: { field: 'same' } } }), 's'),
    ).toThrow(/two operations map to Query\.same/);
    const degraded = generateRestSubgraph(
      doc({
        '/u': { post: { operationId: 'upload', requestBody: { content: { 'multipart/form-data': { schema: { type: 'object' } } } }, responses: {} } },
        '/v': { get: { operationId: 'view', responses: json({ type: 'string' }) } },
      }),
      mapping({ degradeUnsupported: true }),
      's',
    );
    expect(degraded.operations.map((o) => o.operationId)).toEqual(['view']);
    expect(degraded.warnings).toEqual(['s#/paths/~1u/post/requestBody: only JSON and form request bodies are supported (multipart/form-data); operation upload left out']);
    const numbered = generateRestSubgraph(
      doc({
        '/a': {
          get: {
            operationId: 'a',
            parameters: [
              { name: 'max_results', in: 'query', schema: { type: 'integer' } },
              { name: 'max_results', in: 'header', schema: { type: 'integer' } },
            ],
            responses: json({ type: 'object', properties: { first_name: { type: 'string' }, firstName: { type: 'string' }, '1': { type: 'string' }, '-1': { type: 'string' } } }),
          },
        },
      }),
      mapping(),
      's',
    );
    expect(numbered.sdl).toContain('a(maxResults: Int, maxResultsHeader: Int): AResult');
    expect(numbered.sdl).toMatch(/_1: String\n {2}firstName: String\n {2}firstName_2: String\n {2}_1_2: String/);
    // Free-form objects and unions inside allOf are JSON; boolean enums are Boolean.
    const loose = generateRestSubgraph(
      doc({ '/b': { get: { operationId: 'b', responses: json({ type: 'object', properties: { any: { type: 'object' }, flag: { type: 'boolean', enum: [true, false] }, mixed: { allOf: [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }] } } }) } } }),
      mapping(),
      's',
    );
    expect(loose.sdl).toMatch(/any: JSON\n {2}flag: Boolean\n {2}mixed: JSON/);
  });

  it('fails when the mapping names what the spec does not have', () => {
    const spec = doc({ '/t/{id}': { get: { operationId: 'getT', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: json({ $ref: '#/components/schemas/T' }) } } }, { T: { type: 'object', properties: { id: { type: 'string' } } } });
    expect(() => generateRestSubgraph(spec, mapping({ operations: { nope: { field: 'x' } } }), 's')).toThrow('mapping names operation nope, which s does not define');
    expect(() => generateRestSubgraph(spec, mapping({ entities: { T: { key: 'uuid', single: { operation: 'getT', parameter: 'id' } } } }), 's')).toThrow('key field uuid does not exist on T');
    expect(() => generateRestSubgraph(spec, mapping({ entities: { T: { key: 'id', single: { operation: 'getT', parameter: 'tid' } } } }), 's')).toThrow('getT has no parameter tid');
    expect(() => generateRestSubgraph(spec, mapping({ entities: { T: { key: 'id', batch: { operation: 'getT', parameter: 'id' } } } }), 's')).toThrow('batch parameter id is not a list');
    expect(() => generateRestSubgraph(spec, mapping({ cacheHints: { Nope: { maxAge: 1 } } }), 's')).toThrow('cacheHints: Nope is not a generated object type');
    expect(() => generateRestSubgraph(spec, mapping({ renames: { types: { Nope: 'X' } } }), 's')).toThrow('mapping renames type Nope');
    const ok = generateRestSubgraph(spec, mapping({ entities: { T: { key: 'id', single: { operation: 'getT', parameter: 'id' } } }, cacheHints: { T: { maxAge: 5, scope: 'PRIVATE' } } }), 's');
    expect(ok.sdl).toContain('type T @key(fields: "id") @cacheControl(maxAge: 5, scope: PRIVATE) {');
  });

  it('skips cookie parameters with a warning', () => {
    const generated = generateRestSubgraph(doc({ '/c': { get: { operationId: 'c', parameters: [{ name: 'session', in: 'cookie', schema: { type: 'string' } }], responses: json({ type: 'string' }) } } }), mapping(), 's');
    expect(generated.sdl).toContain('  c: String');
    expect(generated.warnings).toEqual(['s#/paths/~1c/get/parameters/0: cookie parameter session is not exposed']);
  });
});

describe('real-world OpenAPI shapes', () => {
  it('reads a Swagger 2.0 document, converted to OpenAPI 3 (definitions, body parameters, produces)', async () => {
    const swagger = {
      swagger: '2.0',
      info: { title: 'pets', version: '1' },
      host: 'pets.example.com',
      basePath: '/v1',
      produces: ['application/json'],
      paths: {
        '/pets/{petId}': { get: { operationId: 'getPet', parameters: [{ name: 'petId', in: 'path', required: true, type: 'string' }], responses: { '200': { description: 'ok', schema: { $ref: '#/definitions/Pet' } } } } },
        '/pets': { post: { operationId: 'addPet', consumes: ['application/json'], parameters: [{ name: 'pet', in: 'body', schema: { $ref: '#/definitions/Pet' } }], responses: { '201': { description: 'made', schema: { $ref: '#/definitions/Pet' } } } } },
      },
      definitions: { Pet: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, name: { type: 'string' } } } },
    };
    const converted = await normalizeOpenApi(swagger, 'pets.json');
    expect(converted.openapi).toMatch(/^3\.0/);
    const generated = generateRestSubgraph(converted, mapping(), 'pets.json');
    expect(generated.sdl).toContain('getPet(petId: ID!): Pet');
    expect(generated.sdl).toContain('addPet(input: PetInput): Pet');
    // The caller's document is left as it was.
    expect(swagger.definitions.Pet).toBeDefined();
    await expect(normalizeOpenApi({ swagger: '1.2' }, 'old.json')).rejects.toThrow(/only OpenAPI 3\.0 and 3\.1, and Swagger 2\.0/);
  });

  it('reads */* and +json responses as JSON, and sends a form body as a form', () => {
    const generated = generateRestSubgraph(
      doc({
        '/a': { get: { operationId: 'a', responses: { '200': { description: 'ok', content: { '*/*': { schema: { type: 'object', properties: { x: { type: 'string' } } } } } } } } },
        '/b': { get: { operationId: 'b', responses: { '200': { description: 'ok', content: { 'text/html': { schema: { type: 'string' } }, 'application/vnd.api+json; charset=utf-8': { schema: { type: 'integer' } } } } } } },
        '/c': { post: { operationId: 'c', requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { q: { type: 'string' } } } } } }, responses: json({ type: 'string' }) } },
      }),
      mapping(),
      'spec.json',
    );
    expect(generated.sdl).toMatch(/a: AResult\n/);
    expect(generated.sdl).toMatch(/b: Int\n/);
    expect(generated.operations.find((o) => o.operationId === 'c')!.body).toMatchObject({ encoding: 'form' });
    expect(formEncoded({ q: 'a b', tags: ['x', 'y'], skip: null, nested: { k: 1 } })).toBe('q=a+b&tags=x&tags=y&nested=%7B%22k%22%3A1%7D');
  });

  it('names colliding enum values apart, in spec order, and resolves percent-encoded references', () => {
    const generated = generateRestSubgraph(
      doc(
        { '/s': { get: { operationId: 's', parameters: [{ name: 'sort', in: 'query', schema: { type: 'string', enum: ['date', '-date', 'date', 'name'] } }], responses: json({ $ref: '#/components/schemas/Pet%20Info' }) } } },
        { 'Pet Info': { type: 'object', properties: { id: { type: 'string' } } } },
      ),
      mapping(),
      'spec.json',
    );
    expect(generated.sdl).toMatch(/enum SSort \{\n {2}DATE\n {2}DATE_2\n {2}NAME\n\}/);
    expect(generated.sdl).toContain('s(sort: SSort): PetInfo');
  });
});
