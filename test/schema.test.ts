import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateAdapterSchemas } from '../schema/adapters.js';
import { composeSubgraphs, readSupergraphConfig } from '../schema/composition.js';
import { grpcMappingJsonSchema, permissionsJsonSchema, restMappingJsonSchema, soapMappingJsonSchema } from '../scripts/config-schema.js';
import { projectPath } from '../subgraphs/shared/paths.js';
import { tempDir } from './support/servers.js';

const REGISTRY = projectPath('schema', 'supergraph.yaml');
const SUPERGRAPH = projectPath('schema', 'supergraph.graphql');

function runCompose(args: string[]) {
  return spawnSync(process.execPath, [projectPath('dist', 'schema', 'compose.js'), ...args], { encoding: 'utf8' });
}

describe('schema/supergraph.graphql', () => {
  it('is exactly what composing schema/supergraph.yaml produces (run npm run compose)', () => {
    const outcome = composeSubgraphs(readSupergraphConfig(REGISTRY));
    if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
    expect(readFileSync(SUPERGRAPH, 'utf8')).toBe(outcome.supergraphSdl);
  });

  it('routes every subgraph to the routing_url in the registry', () => {
    const sdl = readFileSync(SUPERGRAPH, 'utf8');
    for (const subgraph of readSupergraphConfig(REGISTRY)) {
      expect(sdl).toContain(`@join__graph(name: "${subgraph.name}", url: "${subgraph.url}")`);
    }
  });
});

describe('generated adapter schemas', () => {
  it('schema/generated/*.graphql are what the adapters generate from their spec and mapping (run npm run compose)', async () => {
    const schemas = await generateAdapterSchemas();
    expect(schemas.map((s) => s.subgraph).sort()).toEqual(['inventory', 'orders', 'products']);
    for (const schema of schemas) expect(readFileSync(schema.path, 'utf8'), schema.path).toBe(schema.sdl);
  });

  it('every adapter subgraph is in the registry and reads its generated file', async () => {
    const registry = readSupergraphConfig(REGISTRY);
    for (const schema of await generateAdapterSchemas()) {
      expect(registry.find((s) => s.name === schema.subgraph)?.file).toBe(schema.path);
    }
  });

  it('the adapters mapping.schema.json files match the mapping schemas (run npm run config-schema)', () => {
    expect(readFileSync(projectPath('adapters', 'rest', 'mapping.schema.json'), 'utf8')).toBe(restMappingJsonSchema());
    expect(readFileSync(projectPath('adapters', 'grpc', 'mapping.schema.json'), 'utf8')).toBe(grpcMappingJsonSchema());
    expect(readFileSync(projectPath('adapters', 'soap', 'mapping.schema.json'), 'utf8')).toBe(soapMappingJsonSchema());
    expect(readFileSync(projectPath('gateway', 'permissions.schema.json'), 'utf8')).toBe(permissionsJsonSchema());
  });
});

describe('npm run compose', () => {
  function brokenRegistry(): { dir: string; config: string; out: string } {
    const dir = tempDir();
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    // Two subgraphs disagree on the type of User.name: a composition error.
    writeFileSync(
      join(dir, 'a', 'schema.graphql'),
      'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])\n' +
        'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String @shareable }\n',
    );
    writeFileSync(
      join(dir, 'b', 'schema.graphql'),
      'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])\n' +
        'type Query { users: [User] }\ntype User @key(fields: "id") { id: ID! name: Int @shareable }\n',
    );
    const config = join(dir, 'supergraph.yaml');
    writeFileSync(
      config,
      'federation_version: =2.5.0\nsubgraphs:\n' +
        '  alpha:\n    routing_url: http://localhost:1/graphql\n    schema:\n      file: a/schema.graphql\n' +
        '  beta:\n    routing_url: http://localhost:2/graphql\n    schema:\n      file: b/schema.graphql\n',
    );
    const out = join(dir, 'supergraph.graphql');
    return { dir, config, out };
  }

  it('prints errors with the subgraph, the code and the message, exits 1 and leaves the file alone', () => {
    const { config, out } = brokenRegistry();
    copyFileSync(SUPERGRAPH, out);
    const before = readFileSync(out, 'utf8');
    const result = runCompose(['--config', config, '--out', out, '--skip-adapters']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/error FIELD_TYPE_MISMATCH: .*"User\.name".*subgraph "alpha".*subgraph "beta"/);
    expect(result.stderr).toContain(`${out} left unchanged`);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });

  it('names the subgraph whose SDL does not parse', () => {
    const { dir, config, out } = brokenRegistry();
    writeFileSync(join(dir, 'b', 'schema.graphql'), 'type Query {');
    const result = runCompose(['--config', config, '--out', out, '--skip-adapters']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/\[beta\] GRAPHQL_PARSE_FAILED: Syntax Error/);
  });

  it('rejects a registry with unknown keys or a missing schema file', () => {
    const { dir, config, out } = brokenRegistry();
    writeFileSync(config, readFileSync(config, 'utf8').replace('routing_url', 'routingUrl'));
    const unknown = runCompose(['--config', config, '--out', out, '--skip-adapters']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/subgraphs\.alpha/);
    writeFileSync(config, 'subgraphs:\n  alpha:\n    routing_url: http://localhost:1/graphql\n    schema:\n      file: nowhere.graphql\n');
    const missing = runCompose(['--config', config, '--out', out, '--skip-adapters']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`subgraph alpha: cannot read ${join(dir, 'nowhere.graphql')} (ENOENT)`);
  });

  it('writes the supergraph when composition succeeds', () => {
    const dir = tempDir();
    const out = join(dir, 'supergraph.graphql');
    // --skip-adapters: a test must not rewrite the committed generated schemas.
    const result = runCompose(['--out', out, '--skip-adapters']);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(SUPERGRAPH, 'utf8'));
  });
});
