import { describe, expect, it } from 'vitest';
import { createEntityLoader } from './batching.js';
import { failureFromGrpcStatus, failureFromHttpStatus, failureFromTransportError, legacyError } from './errors.js';
import { ShapeRegistry, type Shape } from './shape.js';
import { parseJsonLossless, stringifyJsonLossless } from './json.js';
import { hintFromCacheControl, interpolateEnv, interpolateHeaders } from './mapping.js';
import { camelCase, constantCase, inferKind, pascalCase } from './names.js';
import { withValueTypeDefaults } from './server.js';
import { Int64Scalar } from './scalars.js';
import { propagatedHeaders } from './context.js';
import { withEnvelopeHeader } from '../soap/client.js';
import { createLogger } from '../../gateway/src/core/logger.js';

describe('names', () => {
  it('makes readable GraphQL names from wire names', () => {
    expect(camelCase('weight_kg')).toBe('weightKg');
    expect(camelCase('get_book_by_id')).toBe('getBookById');
    expect(camelCase('X-Branch')).toBe('xBranch');
    expect(camelCase('HTTPStatus')).toBe('httpStatus');
    expect(pascalCase('category_summary')).toBe('CategorySummary');
    expect(constantCase('checked-out')).toBe('CHECKED_OUT');
    expect(constantCase('2xl')).toBe('_2XL');
    expect(constantCase('true')).toBe('TRUE_');
  });
});

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 exact and leaves everything else alone', () => {
    expect(parseJsonLossless('{"a": 9007199254740993, "b": -9223372036854775808, "c": 12.5, "d": "9007199254740993", "e": 42, "f": 1e21}')).toEqual({
      a: '9007199254740993',
      b: '-9223372036854775808',
      c: 12.5,
      d: '9007199254740993',
      e: 42,
      f: 1e21,
    });
    expect(parseJsonLossless('["say \\"9007199254740993\\"", 9007199254740991]')).toEqual(['say "9007199254740993"', 9007199254740991]);
  });

  it('writes bigint as exact number literals', () => {
    expect(stringifyJsonLossless({ a: 9007199254740993n, b: 'x', c: [1n] })).toBe('{"a":9007199254740993,"b":"x","c":[1]}');
  });

  it('still rejects malformed JSON', () => {
    expect(() => parseJsonLossless('{"a": ')).toThrow(SyntaxError);
  });
});

describe('Int64 scalar', () => {
  it('serializes strings, safe numbers and bigints, and refuses what it cannot represent exactly', () => {
    expect(Int64Scalar.serialize('9223372036854775807')).toBe('9223372036854775807');
    expect(Int64Scalar.serialize(42)).toBe('42');
    expect(Int64Scalar.serialize(2n ** 60n)).toBe('1152921504606846976');
    expect(() => Int64Scalar.serialize(2 ** 60)).toThrow(/exactly/);
    expect(() => Int64Scalar.parseValue('12a')).toThrow(/integer in a string/);
    expect(() => Int64Scalar.parseValue('99999999999999999999999')).toThrow(/out of range|integer in a string/);
  });
});

describe('legacy error mapping', () => {
  it.each([
    [404, 'NOT_FOUND'],
    [400, 'BAD_USER_INPUT'],
    [422, 'BAD_USER_INPUT'],
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [504, 'UPSTREAM_TIMEOUT'],
    [500, 'UPSTREAM_UNAVAILABLE'],
    [503, 'UPSTREAM_UNAVAILABLE'],
    [429, 'UPSTREAM_UNAVAILABLE'],
    [409, 'UPSTREAM_ERROR'],
  ])('maps HTTP %i to %s', (status, code) => {
    expect(legacyError('svc', failureFromHttpStatus(status)).extensions.code).toBe(code);
  });

  it('maps transport errors', () => {
    expect(failureFromTransportError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toEqual({ kind: 'unavailable', detail: 'ECONNREFUSED' });
    expect(failureFromTransportError(new DOMException('t', 'TimeoutError'))).toEqual({ kind: 'timeout' });
    expect(failureFromTransportError(Object.assign(new Error('x'), { cause: { code: 'ECONNRESET' } }))).toEqual({ kind: 'unavailable', detail: 'ECONNRESET' });
  });
});

describe('cache hints from Cache-Control', () => {
  it.each([
    ['public, max-age=60', { maxAge: 60, scope: 'PUBLIC' }],
    ['private, max-age=30', { maxAge: 30, scope: 'PRIVATE' }],
    ['max-age=60, s-maxage=10', { maxAge: 10, scope: 'PUBLIC' }],
    ['no-store', { maxAge: 0 }],
    ['no-cache, max-age=60', { maxAge: 0 }],
    ['public', undefined],
    [undefined, undefined],
  ])('%s', (header, hint) => {
    expect(hintFromCacheControl(header)).toEqual(hint);
  });
});

describe('environment interpolation', () => {
  it('fills ${NAME} from the environment and drops headers whose variable is unset', () => {
    expect(interpolateEnv('Bearer ${TOKEN}', { TOKEN: 's3cret' })).toBe('Bearer s3cret');
    expect(interpolateEnv('Bearer ${TOKEN}', {})).toBeUndefined();
    expect(interpolateHeaders({ Authorization: 'Bearer ${TOKEN}', 'X-Fixed': 'yes' }, {})).toEqual({ 'x-fixed': 'yes' });
  });
});

describe('entity loaders', () => {
  const notFound = (key: string) => new Error(`missing ${key}`);

  it('turns the references of one tick into batch calls of at most maxBatchSize', async () => {
    const calls: string[][] = [];
    const loader = createEntityLoader<string>({
      batch: async (keys) => {
        calls.push([...keys]);
        return new Map(keys.filter((k) => k !== 'k3').map((k) => [k, `v-${k}`]));
      },
      maxBatchSize: 2,
      concurrency: 1,
      notFound,
    });
    const results = await Promise.allSettled(['k1', 'k2', 'k3', 'k4', 'k1'].map((k) => loader.load(k)));
    expect(calls).toEqual([['k1', 'k2'], ['k3', 'k4']]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['v-k1', 'v-k2', 'missing k3', 'v-k4', 'v-k1']);
  });

  it('fails only the keys of a failed batch call', async () => {
    const loader = createEntityLoader<string>({
      batch: async (keys) => {
        if (keys.includes('bad')) throw new Error('upstream down');
        return new Map(keys.map((k) => [k, k]));
      },
      maxBatchSize: 1,
      concurrency: 1,
      notFound,
    });
    const [good, bad] = await Promise.allSettled([loader.load('good'), loader.load('bad')]);
    expect(good).toEqual({ status: 'fulfilled', value: 'good' });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'upstream down' } });
  });

  it('bounds concurrent single-item calls', async () => {
    let inFlight = 0;
    let peak = 0;
    const loader = createEntityLoader<string>({
      single: async (key) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        if (key === 'k5') throw notFound(key);
        return key.toUpperCase();
      },
      maxBatchSize: 100,
      concurrency: 3,
      notFound,
    });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const results = await Promise.allSettled(keys.map((k) => loader.load(k)));
    expect(peak).toBe(3);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'K0' });
  });
});

describe('gRPC status mapping', () => {
  it.each([
    [5, 'NOT_FOUND'],
    [3, 'BAD_USER_INPUT'],
    [16, 'UNAUTHENTICATED'],
    [7, 'FORBIDDEN'],
    [14, 'UPSTREAM_UNAVAILABLE'],
    [4, 'UPSTREAM_TIMEOUT'],
    [9, 'UPSTREAM_ERROR'],
    [13, 'UPSTREAM_ERROR'],
  ])('maps status %i to %s', (status, code) => {
    expect(legacyError('svc', failureFromGrpcStatus(status)).extensions.code).toBe(code);
  });
});

describe('protobuf codecs', () => {
  const registry = new ShapeRegistry({ int64: 'string' });
  const scalar = (name: 'DateTime' | 'Duration' | 'JSON' | 'String', codec: Shape['codec']): Shape => ({ kind: 'scalar', scalar: name, nullable: true, codec });

  it('decodes Timestamp, Duration, wrappers and Struct', () => {
    expect(registry.toGraphQL({ seconds: '1420070400', nanos: 500_000_000 }, scalar('DateTime', 'timestamp'), 's')).toEqual(new Date('2015-01-01T00:00:00.500Z'));
    expect(registry.toGraphQL({ seconds: '3600', nanos: 500_000_000 }, scalar('Duration', 'duration'), 's')).toBe('3600.5s');
    expect(registry.toGraphQL({ value: 'x' }, scalar('String', 'wrapper'), 's')).toBe('x');
    expect(registry.toGraphQL(null, scalar('String', 'wrapper'), 's')).toBeNull();
    expect(
      registry.toGraphQL({ fields: { a: { stringValue: 'b' }, n: { nullValue: 0 }, l: { listValue: { values: [{ numberValue: 1 }] } } } }, scalar('JSON', 'struct'), 's'),
    ).toEqual({ a: 'b', n: null, l: [1] });
  });

  it('encodes them back', () => {
    expect(registry.toWire('2015-01-01T00:00:00.500Z', scalar('DateTime', 'timestamp'))).toEqual({ seconds: '1420070400', nanos: 500_000_000 });
    expect(registry.toWire(new Date('1969-12-31T23:59:59.250Z'), scalar('DateTime', 'timestamp'))).toEqual({ seconds: '-1', nanos: 250_000_000 });
    expect(registry.toWire('-1.5s', scalar('Duration', 'duration'))).toEqual({ seconds: '-1', nanos: -500_000_000 });
    expect(registry.toWire({ a: [true, null] }, scalar('JSON', 'struct'))).toEqual({
      fields: { a: { listValue: { values: [{ boolValue: true }, { nullValue: 'NULL_VALUE' }] } } },
    });
  });

  it('refuses a Timestamp it cannot read as BAD_UPSTREAM_RESPONSE', () => {
    const result = registry.toGraphQL({ seconds: 'soon' }, scalar('DateTime', 'timestamp'), 'svc');
    expect(result).toMatchObject({ message: 'svc sent an invalid response: expected a Timestamp at $', extensions: { code: 'BAD_UPSTREAM_RESPONSE' } });
  });
});

describe('identity to legacy services', () => {
  const base = { requestId: 'r-1', logger: createLogger('silent'), headers: { 'x-caller': 'forged', 'accept-language': 'de', 'x-frontdesk-identity': 'tok' } };
  const identity = { kind: 'user' as const, id: 'u1', roles: ['admin', 'ops'], scopes: ['a', 'b'], tenant: 'acme' };

  it('sends the claims the mapping names, and never a client header of the same name', () => {
    const mapping = { 'x-caller': 'id', 'x-roles': 'roles', 'x-tenant': 'tenant', 'x-plan': 'plan', 'x-token': 'token' } as const;
    expect(propagatedHeaders({ ...base, identity }, ['accept-language', 'x-caller'], mapping)).toEqual({
      'x-request-id': 'r-1',
      'accept-language': 'de',
      'x-caller': 'u1',
      'x-roles': 'admin ops',
      'x-tenant': 'acme',
      'x-token': 'tok',
    });
    expect(propagatedHeaders(base, ['accept-language', 'x-caller'], mapping)).toEqual({ 'x-request-id': 'r-1', 'accept-language': 'de' });
  });

  it('puts a per-call element into the SOAP Header, creating one when the envelope has none', () => {
    const withHeader = '<soap:Envelope><soap:Header><wsse:Security/></soap:Header><soap:Body><x/></soap:Body></soap:Envelope>';
    expect(withEnvelopeHeader(withHeader, '<c:Caller/>')).toBe('<soap:Envelope><soap:Header><wsse:Security/><c:Caller/></soap:Header><soap:Body><x/></soap:Body></soap:Envelope>');
    const bare = '<env:Envelope xmlns:env="urn:e"><env:Body><x/></env:Body></env:Envelope>';
    expect(withEnvelopeHeader(bare, '<c:Caller/>')).toBe('<env:Envelope xmlns:env="urn:e"><env:Header><c:Caller/></env:Header><env:Body><x/></env:Body></env:Envelope>');
  });
});

describe('permissions of generated subgraphs', () => {
  const sdl = `
    type Query { order(id: ID!): Order, quote: Quote }
    type Mutation { place: Order }
    type Order @key(fields: "id") { id: ID!, lines: [Line!]! }
    type Line { sku: String, price: Money }
    type Money { amount: String }
    type Quote { total: Money }
  `;

  it('lets whoever may read a field read the value types it returns; entities and root types stay deny by default', () => {
    const permissions = withValueTypeDefaults(sdl, { rules: {}, types: { Query: { order: 'authenticated' }, Quote: { total: { role: 'admin' } } } });
    expect(permissions.types).toEqual({
      Query: { order: 'authenticated' },
      Quote: { total: { role: 'admin' } },
      Line: { '*': 'allow' },
      Money: { '*': 'allow' },
    });
  });
});

describe('query or mutation by the operation name', () => {
  it('reads the leading verb, in any case style, and the batch form', () => {
    expect(['GetOrder', 'getOrder', 'get_order', 'ListOrders', 'BatchGetOrders', 'SearchAll', 'IsValid', 'checkVat'].map((n) => inferKind(n))).toEqual(Array(8).fill('query'));
    expect(['CreateOrder', 'placeOrder', 'BatchCreate', 'Getaway', 'Delete'].map((n) => inferKind(n))).toEqual(Array(5).fill('mutation'));
    expect(inferKind('FetchThings', ['Get'])).toBe('mutation');
  });
});
