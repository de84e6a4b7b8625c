import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { tempDir } from '../support/servers.js';

// The built tool (`npm test` builds before vitest runs), as a backend team runs it.
const SCRIPT = projectPath('dist', 'scripts', 'adapter.js');
const PETSTORE = projectPath('adapters', 'corpus', 'openapi', 'swagger2', 'petstore.json');

async function adapterTool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SCRIPT, ...args], { cwd: projectPath() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('npm run adapter -- init, check and stub', () => {
  it('init writes a mapping with every operation, names that compose, suggested entities and permissions; accepting a suggestion is one line', { timeout: 60_000 }, async () => {
    const out = join(tempDir(), 'petstore.rest.yaml');
    const init = await adapterTool(['init', 'rest', PETSTORE, '--service', 'petstore', '--out', out]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('7 query and 11 mutation fields');
    // The demo supergraph has Product, User... and placeOrder: prefixed types, a renamed field.
    expect(init.stdout).toContain('type prefix Petstore');
    expect(init.stdout).toContain('field placeOrder (placeOrder) is petstorePlaceOrder');
    expect(init.stdout).toContain('PetstorePet @key(fields: "id") by getPetById(petId)');
    expect(init.stdout).toContain('#/paths/~1pet~1uploadImage/post/requestBody: only JSON and form request bodies are supported (multipart/form-data); operation uploadFile left out');
    expect(init.stdout).toContain('composes with the supergraph');

    // A mapping someone may have edited is never overwritten without --force.
    const again = await adapterTool(['init', 'rest', PETSTORE, '--service', 'petstore', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists already');
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=.*adapters\/rest\/mapping\.schema\.json$/m);
    for (const op of ['getPetById', 'findPetsByStatus', 'updatePet', 'partialUpdate', 'deletePet', 'placeOrder', 'createUser', 'loginUser']) expect(text).toMatch(new RegExp(`^  ${op}:$`, 'm'));
    expect(text).toContain('typePrefix: Petstore');
    expect(text).toMatch(/Query:\n {6}"\*": authenticated/);
    expect(text).toMatch(/Mutation:\n {6}"\*":\n {8}role: admin/);
    expect(text).toContain('#   PetstorePet: { key: id, single: { operation: getPetById, parameter: petId } }');

    // Accept the suggestion: uncomment `entities:` and its line (and give the entity a rule).
    const accepted = text
      .replace('# entities:', 'entities:')
      .replace('#   PetstorePet: {', '  PetstorePet: {')
      .replace('permissions:\n  types:\n', 'permissions:\n  types:\n    PetstorePet:\n      "*": authenticated\n');
    writeFileSync(out, accepted);
    const check = await adapterTool(['check', out]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('builds subgraph petstore: 7 query and 11 mutation fields');
    expect(check.stdout).toContain('composes with the supergraph');
  });

  it('check reports a mapping that does not build, or does not compose, with the reason and exit code 1', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.rest.yaml'), `service: p\nsubgraph: p\nspec: ${PETSTORE}\ntarget: { url: "http://localhost:1" }\npermissions: {}\ndegradeUnsupported: true\noperations:\n  noSuchOperation: { field: x }\n`);
    const broken = await adapterTool(['check', join(dir, 'broken.rest.yaml')]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('does not build');
    expect(broken.stdout).toContain('mapping names operation noSuchOperation');
    // Without the type prefix the generated Product, User and Order clash with the supergraph's.
    writeFileSync(join(dir, 'clash.rest.yaml'), `service: p\nsubgraph: p\nspec: ${PETSTORE}\ntarget: { url: "http://localhost:1" }\npermissions: {}\ndegradeUnsupported: true\n`);
    const clash = await adapterTool(['check', join(dir, 'clash.rest.yaml')]);
    expect(clash.code).toBe(1);
    expect(clash.stdout).toMatch(/types other subgraphs define too \(set typePrefix\): .*User/);
    expect(clash.stdout).toContain('does not compose with the supergraph');
  });

  it('init takes a WSDL and a .proto; stub serves sample answers generated from the spec', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const soap = await adapterTool(['init', 'soap', projectPath('adapters', 'corpus', 'wsdl', 'kdsoap', 'BLZService.wsdl'), '--service', 'blz', '--out', join(dir, 'blz.soap.yaml')]);
    expect(soap.code, soap.stderr).toBe(0);
    expect(soap.stdout).toContain('1 query and 0 mutation fields');
    expect(readFileSync(join(dir, 'blz.soap.yaml'), 'utf8')).toMatch(/operations:\n {2}getBank:\n {4}field: getBank\n {4}kind: query/);
    const protos = projectPath('node_modules', 'google-proto-files');
    const grpc = await adapterTool(['init', 'grpc', join(protos, 'google/cloud/kms/v1/service.proto'), '--service', 'kms', '--out', join(dir, 'kms.grpc.yaml'), '--include-dir', protos]);
    expect(grpc.code, grpc.stderr).toBe(0);
    expect(grpc.stdout).toMatch(/CryptoKey @key\(fields: "name"\) by google\.cloud\.kms\.v1\.KeyManagementService\.GetCryptoKey\(name\)/);
    expect(readFileSync(join(dir, 'kms.grpc.yaml'), 'utf8')).toMatch(/methods:\n {2}google\.cloud\.kms\.v1\.KeyManagementService\.ListKeyRings:\n {4}field: listKeyRings\n {4}kind: query/);

    // A spec that cannot be read leaves no mapping behind.
    const missing = await adapterTool(['init', 'rest', join(dir, 'nowhere.json'), '--service', 'gone', '--out', join(dir, 'gone.rest.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/adapter init: .*nowhere\.json/);
    expect(existsSync(join(dir, 'gone.rest.yaml'))).toBe(false);
    const unknownKind = await adapterTool(['init', 'graphql', PETSTORE, '--service', 'x']);
    expect(unknownKind.code).toBe(1);
    expect(unknownKind.stderr).toContain('init needs rest, soap or grpc');

    await adapterTool(['init', 'rest', PETSTORE, '--service', 'petstore', '--out', join(dir, 'petstore.rest.yaml')]);
    const child = spawn(process.execPath, [SCRIPT, 'stub', join(dir, 'petstore.rest.yaml')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const found = / at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
          if (found) resolve(found[1]!);
        });
        child.once('exit', (code) => reject(new Error(`stub exited ${code}`)));
      });
      const pet = await fetch(`${url}/pet/7`);
      expect(pet.status).toBe(200);
      expect(await pet.json()).toMatchObject({ id: 1, name: 'stub', photoUrls: ['stub'], status: 'available' });
      expect((await fetch(`${url}/no/such/path`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
