import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusSpecs, runCorpusSpec, type CorpusOutcome } from '../../adapters/init/corpus.js';
import type { AdapterKind } from '../../adapters/init/init.js';
import { GOOGLE_PROTOS } from '../../adapters/grpc/load.js';
import { projectPath } from '../../subgraphs/shared/paths.js';

/**
 * Real public specs (adapters/corpus/README.md): `npm run adapter -- init` writes each one's
 * mapping with no hand-written line, the adapter's own loader generates the subgraph, and it
 * composes with the demo supergraph; then again with every suggested entity accepted. Every
 * failure must be the one the committed report (bench/results/adapter-corpus-*.json) lists.
 */
const work = mkdtempSync(join(tmpdir(), 'frontdesk-corpus-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PROTOS = readFileSync(projectPath('adapters', 'corpus', 'google-protos.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));

interface Kind {
  kind: AdapterKind;
  dir: string;
  specs: string[];
  report: string;
  least: number;
  rate: number;
}

const KINDS: Kind[] = [
  { kind: 'rest', dir: projectPath('adapters', 'corpus', 'openapi'), specs: corpusSpecs(projectPath('adapters', 'corpus', 'openapi'), 'rest'), report: 'adapter-corpus-openapi', least: 100, rate: 0.95 },
  { kind: 'soap', dir: projectPath('adapters', 'corpus', 'wsdl'), specs: corpusSpecs(projectPath('adapters', 'corpus', 'wsdl'), 'soap'), report: 'adapter-corpus-wsdl', least: 40, rate: 0.95 },
  { kind: 'grpc', dir: GOOGLE_PROTOS!, specs: PROTOS.map((file) => join(GOOGLE_PROTOS!, file)), report: 'adapter-corpus-protos', least: 50, rate: 1 },
];

describe('the corpus holds what it promises', () => {
  it('OpenAPI: Swagger 2.0, 3.0 and 3.1 documents, several over 1 MB', () => {
    const versions = { swagger: 0, '3.0': 0, '3.1': 0, large: 0 };
    for (const spec of KINDS[0]!.specs) {
      const doc = JSON.parse(readFileSync(spec, 'utf8')) as { swagger?: string; openapi?: string };
      if (doc.swagger === '2.0') versions.swagger += 1;
      else if (doc.openapi?.startsWith('3.0')) versions['3.0'] += 1;
      else if (doc.openapi?.startsWith('3.1')) versions['3.1'] += 1;
      if (statSync(spec).size > 1_000_000) versions.large += 1;
    }
    expect(versions.swagger).toBeGreaterThanOrEqual(10);
    expect(versions['3.0']).toBeGreaterThanOrEqual(50);
    expect(versions['3.1']).toBeGreaterThanOrEqual(10);
    expect(versions.large).toBeGreaterThanOrEqual(4);
  });

  it('WSDL: at least 40 service descriptions; protos: the 50 listed', () => {
    expect(KINDS[1]!.specs.length).toBeGreaterThanOrEqual(40);
    expect(KINDS[2]!.specs).toHaveLength(50);
  });
});

describe.each(KINDS)('init + generate + compose on the $kind corpus', ({ kind, dir, specs, report, least, rate }) => {
  it(`builds and composes at least the promised share of ${kind} specs, with suggested entities that compose, and fails only as reported`, { timeout: 300_000 }, async () => {
    expect(specs.length).toBeGreaterThanOrEqual(least);
    const outcomes: CorpusOutcome[] = [];
    for (const spec of specs) outcomes.push(await runCorpusSpec(kind, dir, spec, join(work, kind)));
    const failed = outcomes.filter((o) => !o.ok);
    expect(outcomes.filter((o) => o.ok).length / outcomes.length, failed.map((o) => `${o.spec}: ${o.reason}`).join('\n')).toBeGreaterThanOrEqual(rate);
    // Suggestions, once accepted, still build and compose.
    const withEntities = outcomes.filter((o) => o.entities > 0);
    expect(withEntities.filter((o) => o.entitiesOk !== true).map((o) => `${o.spec}: ${o.reason}`)).toEqual([]);
    // Every failure is in the committed report, with a reason.
    const committed = JSON.parse(readFileSync(projectPath('bench', 'results', `${report}.json`), 'utf8')) as { outcomes: CorpusOutcome[] };
    const reported = committed.outcomes.filter((o) => !o.ok);
    expect(failed.map((o) => o.spec).sort()).toEqual(reported.map((o) => o.spec).sort());
    for (const o of reported) expect(o.reason, o.spec).toMatch(/\w/);
    expect(committed.outcomes).toHaveLength(outcomes.length);
  });
});
