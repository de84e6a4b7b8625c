import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { corpusSpecs, corpusSummary, runCorpusSpec, type CorpusOutcome } from '../adapters/init/corpus.js';
import { checkMapping, initMapping, kindOf, type AdapterKind } from '../adapters/init/init.js';
import { startGrpcStub, startRestStub, startSoapStub } from '../adapters/init/stub.js';

// The adapters' tools for backend teams:
//   init KIND SPEC --service NAME  writes a mapping with every operation, names that compose with
//                                  the supergraph, suggested entities and permissions
//   check MAPPING                  builds a mapping as the adapter does and composes it
//   stub MAPPING                   serves sample answers for every operation of the spec
//   corpus DIR [--kind K]          init + generate + compose on every spec under DIR: the pass
//                                  rate, the time per spec and the failures' reasons; --out FILE
//                                  writes FILE.json and FILE.md
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'rest' },
    limit: { type: 'string' },
    out: { type: 'string' },
    service: { type: 'string' },
    'include-dir': { type: 'string', multiple: true },
    supergraph: { type: 'string' },
    list: { type: 'string' },
    port: { type: 'string' },
    force: { type: 'boolean', default: false },
  },
});
const help = [
  'usage: npm run adapter -- init rest|soap|grpc SPEC --service NAME [--out FILE] [--include-dir DIR]... [--force]',
  '       npm run adapter -- check MAPPING [--supergraph FILE]',
  '       npm run adapter -- stub MAPPING [--port N]',
  '       npm run adapter -- corpus DIR [--kind rest|soap|grpc] [--list FILE] [--limit N] [--out FILE]',
  '',
].join('\n');
const fail = (message: string): never => {
  process.stderr.write(`adapter: ${message}\n${help}`);
  process.exit(1);
};

async function corpus(dir: string): Promise<void> {
  const kind = values.kind as AdapterKind;
  if (!['rest', 'soap', 'grpc'].includes(kind)) fail('--kind is rest, soap or grpc');
  // --list FILE: the specs named in FILE (one path under DIR a line), else every spec under DIR.
  const specs = values.list
    ? readFileSync(values.list, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#'))
        .map((line) => join(dir, line.trim()))
    : corpusSpecs(dir, kind);
  const limit = values.limit ? Number(values.limit) : specs.length;
  const work = mkdtempSync(join(tmpdir(), 'frontdesk-corpus-'));
  const outcomes: CorpusOutcome[] = [];
  try {
    for (const spec of specs.slice(0, limit)) {
      const outcome = await runCorpusSpec(kind, dir, spec, work);
      outcomes.push(outcome);
      process.stdout.write(`${outcome.ok ? 'ok  ' : 'FAIL'} ${String(outcome.ms).padStart(6)} ms  ${outcome.spec}${outcome.reason ? `: ${outcome.reason.slice(0, 160)}` : ''}\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const summary = corpusSummary(outcomes);
  const reasons = new Map<string, number>();
  for (const o of outcomes) {
    if (o.ok) continue;
    const key = (o.reason ?? '').replace(/#\/[^:]*:/, '#…:').replace(/"[^"]*"/g, '"…"').replace(/\b[A-Z][A-Za-z0-9]+\b/g, 'N').slice(0, 100);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 20);
  process.stdout.write(`\n${summary.join('\n')}\n${top.length > 0 ? `\nFailures by reason:\n${top.map(([reason, n]) => `  ${n} × ${reason}`).join('\n')}\n` : ''}`);
  if (values.out) {
    const passed = outcomes.filter((o) => o.ok).length;
    writeFileSync(`${values.out}.json`, `${JSON.stringify({ dir: basename(dir), kind, date: new Date().toISOString(), passed, total: outcomes.length, outcomes }, null, 2)}\n`);
    const failures = outcomes.filter((o) => !o.ok).map((o) => `- \`${o.spec}\`: ${o.reason}`);
    writeFileSync(
      `${values.out}.md`,
      `# Adapter corpus: ${kind} specs under ${basename(dir)}\n\n${summary.join('\n')}\n\nReproduce: \`npm run adapter -- corpus ${relative(process.cwd(), dir) || dir} --kind ${kind}${values.list ? ` --list ${relative(process.cwd(), values.list)}` : ''}\`.\n\n## Failures\n\n${failures.join('\n') || 'none'}\n`,
    );
  }
}

async function init(kind: string | undefined, spec: string | undefined): Promise<void> {
  if (kind !== 'rest' && kind !== 'soap' && kind !== 'grpc') fail('init needs rest, soap or grpc');
  if (!spec) fail('init needs the spec file');
  if (!values.service) fail('init needs --service NAME');
  const result = await initMapping({ kind: kind as AdapterKind, spec: spec!, service: values.service!, out: values.out, includeDirs: values['include-dir'], supergraph: values.supergraph, force: values.force });
  const b = result.built;
  const lines = [
    `wrote ${relative(process.cwd(), result.mappingPath)}: ${b.rootFields.filter((f) => f.kind === 'query').length} query and ${b.rootFields.filter((f) => f.kind === 'mutation').length} mutation fields`,
    ...(result.typePrefix ? [`type prefix ${result.typePrefix}: generated type names clash with the supergraph's`] : []),
    ...result.renamedFields.map((r) => `field ${r.from} (${r.operation}) is ${r.to}: the supergraph has ${r.from} already`),
    ...(b.suggestions.length > 0 ? [`${b.suggestions.length} suggested entities (commented out at the end; one line each to accept):`, ...b.suggestions.map((s) => `  ${s.type} @key(fields: "${s.key}") by ${s.via}`)] : ['no entity suggested: no get-by-id or batch operation found']),
    ...(b.skipped.length > 0 ? [`not mapped as the spec has it (${b.skipped.length}):`, ...b.skipped.map((s) => `  ${s.what ? `${s.what}: ` : ''}${s.why}`)] : []),
    result.composition.ok ? 'composes with the supergraph' : `does not compose with the supergraph:\n${result.composition.errors.map((e) => `  ${e}`).join('\n')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!result.composition.ok) process.exitCode = 1;
}

async function check(mappingPath: string): Promise<void> {
  const result = await checkMapping(mappingPath, values.supergraph);
  if (result.error || !result.built) {
    process.stdout.write(`${mappingPath} does not build:\n  ${result.error}\n`);
    process.exitCode = 1;
    return;
  }
  const b = result.built;
  const lines = [
    `${mappingPath} (${result.kind}) builds subgraph ${b.subgraph}: ${b.rootFields.filter((f) => f.kind === 'query').length} query and ${b.rootFields.filter((f) => f.kind === 'mutation').length} mutation fields`,
    ...(b.skipped.length > 0 ? [`not mapped as the spec has it (${b.skipped.length}):`, ...b.skipped.map((s) => `  ${s.what ? `${s.what}: ` : ''}${s.why}`)] : []),
    ...(result.clashes.length > 0 ? [`types other subgraphs define too (set typePrefix): ${result.clashes.join(', ')}`] : []),
    result.composition.ok ? 'composes with the supergraph' : `does not compose with the supergraph:\n${result.composition.errors.map((e) => `  ${e}`).join('\n')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!result.composition.ok) process.exitCode = 1;
}

/** Serves a stub of the mapping's service generated from its spec until stopped. */
async function stub(mappingPath: string): Promise<void> {
  const kind = kindOf(mappingPath);
  const port = Number(values.port ?? 0);
  const server = kind === 'rest' ? await startRestStub(mappingPath, port) : kind === 'soap' ? await startSoapStub(mappingPath, port) : await startGrpcStub(mappingPath, port);
  process.stdout.write(`stub of ${mappingPath} (${kind}) at ${server.url}: sample answers for every operation; point the mapping's target there (TARGET_URL / TARGET_ADDRESS)\n`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const [command, first, second] = positionals;
try {
  if (command === 'corpus' && first) await corpus(first);
  else if (command === 'init') await init(first, second);
  else if (command === 'check' && first) await check(first);
  else if (command === 'stub' && first) await stub(first);
  else fail(command ? `unknown command ${command} or missing argument (known: init, check, stub, corpus)` : 'name a command');
} catch (error) {
  process.stderr.write(`adapter ${command}: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
