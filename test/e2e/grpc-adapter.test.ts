import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadGrpcAdapter, startGrpcAdapter, type RunningGrpcAdapter } from '../../adapters/grpc/adapter.js';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { startZoo, type ZooServer } from '../fixtures/zoo/server.js';
import { composeToFile, gql, startTestGateway, tempDir } from '../support/servers.js';

// The same gRPC adapter, with no code change, on an unrelated .proto, from files and by reflection.
const FROM_FILES = projectPath('test', 'fixtures', 'zoo', 'zoo.grpc.yaml');
const BY_REFLECTION = projectPath('test', 'fixtures', 'zoo', 'zoo-reflection.grpc.yaml');
let zoo: ZooServer;

beforeAll(async () => {
  zoo = await startZoo();
});
afterAll(async () => {
  await zoo?.stop();
});
beforeEach(() => {
  zoo.calls.length = 0;
});

const ANIMAL_FIELDS = `id name species enclosure { zone position { lat lon } } food calories counters { key value } tags tagNumber bornAt nickname notes feedingInterval age photo`;

describe.each([
  ['from .proto files', FROM_FILES],
  ['by server reflection', BY_REFLECTION],
])('the zoo service %s through a gateway', (_how, mappingPath) => {
  let adapter: RunningGrpcAdapter;
  let gateway: RunningGateway;

  beforeAll(async () => {
    adapter = await startGrpcAdapter({ mappingPath, address: zoo.address, logLevel: 'silent', env: { ZOO_KEY: 'k-123' } });
    const path = join(tempDir(), 'supergraph.graphql');
    composeToFile(path, [{ name: 'zoo', url: adapter.url, sdl: adapter.generated.sdl }]);
    gateway = await startTestGateway({ supergraph: { path, watch: false } });
  });
  afterAll(async () => {
    await gateway?.stop();
    await adapter?.stop();
  });

  it('converts nested messages, enums, oneof, map, repeated, int64 and well-known types', async () => {
    const { body } = await gql(gateway.url, `{ animal(id: "a1") { ${ANIMAL_FIELDS} } }`, { headers: { 'x-request-id': 'zoo-1' } });
    expect(body.errors).toBeUndefined();
    expect(body.data!.animal).toEqual({
      id: 'a1',
      name: 'Leo',
      species: 'LION',
      enclosure: { zone: 'Savanna', position: { lat: 47.38, lon: 8.57 } },
      food: 'meat',
      calories: null,
      counters: [
        { key: 'visits', value: '9007199254740993' },
        { key: 'roars', value: '12' },
      ],
      tags: ['big', 'cat'],
      tagNumber: '9223372036854775807',
      bornAt: '2015-01-01T00:00:00.500Z',
      nickname: 'King',
      notes: { keeper: 'Ann', checks: [1, true] },
      feedingInterval: '86400s',
      age: 7,
      photo: Buffer.from('roar').toString('base64'),
    });
    // Metadata: the request id, and the mapping's metadata with its secret from the environment.
    expect(zoo.calls[0]!.metadata).toMatchObject({ 'x-request-id': 'zoo-1', 'x-zoo-key': 'k-123' });
  });

  it('gives unset oneof members, wrappers and optional fields as null, and empty repeated fields as []', async () => {
    const { body } = await gql(gateway.url, '{ animal(id: "a2") { food calories nickname age tags counters { key } enclosure { zone } } }');
    expect(body.data!.animal).toEqual({ food: null, calories: 500, nickname: null, age: null, tags: [], counters: [], enclosure: null });
  });

  it('collects a server stream into a list, up to maxStreamItems', async () => {
    const { body } = await gql(gateway.url, '{ animals(species: PENGUIN, limit: 5) { id tagNumber } }');
    expect(body.data).toEqual({
      animals: [
        { id: 'p1', tagNumber: '100' },
        { id: 'p2', tagNumber: '101' },
        { id: 'p3', tagNumber: '102' },
      ],
    });
    expect(zoo.calls[0]!.request).toMatchObject({ species: 'PENGUIN', limit: 5 });
  });

  it('encodes input messages: int64, map, oneof, Timestamp, Duration, Struct, wrappers and bytes', async () => {
    const { body } = await gql(
      gateway.url,
      // The request message's fields are the mutation's arguments.
      `mutation { addAnimal(id: "", name: "Nils", species: OWL, calories: 120, counters: [{ key: "hoots", value: "9007199254740995" }],
        tags: ["night"], tagNumber: "-9223372036854775808", bornAt: "2020-02-29T12:00:00.250Z", nickname: "Nils",
        notes: { wise: true, sizes: [1, 2] }, feedingInterval: "3600.5s", age: 3, photo: "aG9vdA==",
        enclosure: { zone: "Forest", position: { lat: 1.5, lon: -2 } }) { ${ANIMAL_FIELDS} } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.addAnimal).toEqual({
      id: 'a9',
      name: 'Nils',
      species: 'OWL',
      enclosure: { zone: 'Forest', position: { lat: 1.5, lon: -2 } },
      food: null,
      calories: 120,
      counters: [{ key: 'hoots', value: '9007199254740995' }],
      tags: ['night'],
      tagNumber: '-9223372036854775808',
      bornAt: '2020-02-29T12:00:00.250Z',
      nickname: 'Nils',
      notes: { wise: true, sizes: [1, 2] },
      feedingInterval: '3600.5s',
      age: 3,
      photo: 'aG9vdA==',
    });
  });

  it('maps Empty to Boolean', async () => {
    expect((await gql(gateway.url, '{ ping }')).body).toEqual({ data: { ping: true } });
  });

  it.each([
    ['nope', 'NOT_FOUND'],
    ['denied', 'FORBIDDEN'],
    ['invalid', 'BAD_USER_INPUT'],
    ['unauth', 'UNAUTHENTICATED'],
    ['gone', 'UPSTREAM_UNAVAILABLE'],
    ['internal', 'UPSTREAM_ERROR'],
  ])('maps the status for id %s to %s without the details', async (id, code) => {
    const { body } = await gql(gateway.url, `{ animal(id: "${id}") { name } }`);
    expect(body.data).toEqual({ animal: null });
    expect(body.errors![0]!.extensions!.code).toBe(code);
    expect(JSON.stringify(body)).not.toContain('secret detail');
  });

  it('resolves owned entities with single calls', async () => {
    const response = await fetch(adapter.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _entities(representations: [{ __typename: "Animal", id: "a1" }, { __typename: "Animal", id: "a3" }]) { ... on Animal { name food } } }' }),
    });
    expect(await response.json()).toEqual({ data: { _entities: [{ name: 'Leo', food: 'meat' }, { name: 'Hedwig', food: 'mice' }] } });
    expect(zoo.calls.map((c) => c.request.id).sort()).toEqual(['a1', 'a3']);
  });
});

describe('gRPC adapter start-up', () => {
  it('generates the same schema from reflection as from the .proto files', async () => {
    const files = await loadGrpcAdapter(FROM_FILES);
    const reflected = await loadGrpcAdapter(BY_REFLECTION, zoo.address);
    expect(reflected.generated.sdl).toBe(files.generated.sdl);
  });

  it('rejects a client-streaming method with a clear message', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'feed.grpc.yaml'),
      `service: zoo\nsubgraph: zoo\npermissions: {}\nprotos: [${projectPath('test', 'fixtures', 'zoo', 'zoo.proto')}]\ntarget:\n  address: 127.0.0.1:1\nmethods:\n  zoo.v1.Zoo.Feed:\n    field: feed\n`,
    );
    await expect(loadGrpcAdapter(join(dir, 'feed.grpc.yaml'))).rejects.toThrow('zoo.v1.Zoo.Feed is client-streaming; only unary and server-streaming methods can be exposed');
  });

  it('fails with the file and the problem for a missing .proto or an unknown method', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.grpc.yaml'), 'service: zoo\nsubgraph: zoo\npermissions: {}\nprotos: [missing.proto]\ntarget:\n  address: 127.0.0.1:1\n');
    await expect(loadGrpcAdapter(join(dir, 'a.grpc.yaml'))).rejects.toThrow(`Cannot read .proto file ${join(dir, 'missing.proto')}: ENOENT`);
    writeFileSync(
      join(dir, 'b.grpc.yaml'),
      `service: zoo\nsubgraph: zoo\npermissions: {}\nprotos: [${projectPath('test', 'fixtures', 'zoo', 'zoo.proto')}]\ntarget:\n  address: 127.0.0.1:1\nmethods:\n  zoo.v1.Zoo.Fly:\n    field: fly\n`,
    );
    await expect(loadGrpcAdapter(join(dir, 'b.grpc.yaml'))).rejects.toThrow('mapping names zoo.v1.Zoo.Fly, but Zoo has no method Fly');
  });

  it('fails clearly when reflection is unreachable', async () => {
    await expect(loadGrpcAdapter(BY_REFLECTION, '127.0.0.1:9')).rejects.toThrow(/Server reflection on 127\.0\.0\.1:9 failed/);
  });
});
