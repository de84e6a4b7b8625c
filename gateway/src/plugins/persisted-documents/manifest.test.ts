import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { manifestText } from '../../../../scripts/manifest.js';
import { projectPath } from '../../../../subgraphs/shared/paths.js';
import { buildManifest, normalized, readManifest, sha256 } from './manifest.js';

describe('buildManifest', () => {
  it('makes one entry per named operation with the fragments it uses, id the SHA-256 of the body', () => {
    const manifest = buildManifest([
      { path: 'a.graphql', text: 'query A { user { ...U } } fragment U on User { id ...N } fragment Unused on User { id }' },
      { path: 'b.graphql', text: 'fragment N on User { name } mutation B { rename { id } }' },
    ]);
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    expect(manifest.operations.map((op) => [op.name, op.type])).toEqual([['A', 'query'], ['B', 'mutation']]);
    const a = manifest.operations[0]!;
    expect(a.body).toContain('fragment N on User');
    expect(a.body).not.toContain('Unused');
    expect(a.id).toBe(sha256(a.body));
  });

  it('refuses anonymous operations and duplicate names', () => {
    expect(() => buildManifest([{ path: 'x.graphql', text: '{ a }' }])).toThrow(/x.graphql: every operation of a manifest needs a name/);
    expect(() => buildManifest([{ path: 'x.graphql', text: 'query A { a }' }, { path: 'y.graphql', text: 'query A { b }' }])).toThrow(/y.graphql: operation A is defined twice/);
  });

  it('reads Apollo and Relay manifests alike', () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    const relay = join(dir, 'persisted-queries.json');
    writeFileSync(relay, JSON.stringify({ abc: 'query R { a }' }));
    expect(readManifest(relay)).toEqual([{ id: 'abc', name: 'R', type: 'query', body: 'query R { a }' }]);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '[1]');
    expect(() => readManifest(broken)).toThrow(/neither an Apollo manifest nor a Relay/);
    expect(normalized('query R {\n  a,  # c\n}')).toBe(normalized('query R { a }'));
  });

  it('the committed demo manifest is built from schema/operations (npm run manifest)', () => {
    expect(readFileSync(projectPath('schema', 'persisted-query-manifest.json'), 'utf8')).toBe(manifestText(projectPath('schema', 'operations'), 'apollo'));
  });
});
