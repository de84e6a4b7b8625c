import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { generateGrpcSubgraph } from '../adapters/grpc/generate.js';
import { loadProtoFiles } from '../adapters/grpc/load.js';
import { grpcMappingSchema } from '../adapters/grpc/mapping.js';
import { generateRestSubgraph } from '../adapters/rest/generate.js';
import { restMappingSchema } from '../adapters/rest/mapping.js';
import { normalizeOpenApi } from '../adapters/rest/openapi.js';
import { clashingTypes } from '../adapters/toolkit/clashes.js';
import { pascalCase } from '../adapters/toolkit/names.js';
import { composeSubgraphs, readSupergraphConfig } from '../schema/composition.js';
import { projectPath } from '../subgraphs/shared/paths.js';

// The adapters' tools for backend teams:
//   npm run adapter -- corpus DIR [--kind rest|grpc] [--limit N] [--out FILE]
// builds every OpenAPI document (rest) or service .proto (grpc) under DIR with the smallest generic
// mapping (every operation; a type prefix when its names clash with the supergraph's), composes
// each with the demo supergraph, and prints the pass rate, the time per spec and the reasons of
// the failures; --out writes FILE.json and FILE.md.
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'rest' },
    limit: { type: 'string' },
    out: { type: 'string' },
  },
});
const help = 'usage: npm run adapter -- corpus DIR [--kind rest|grpc] [--limit N] [--out FILE]\n';
const fail = (message: string): never => {
  process.stderr.write(`adapter: ${message}\n${help}`);
  process.exit(1);
};

interface Outcome {
  spec: string;
  ok: boolean;
  ms: number;
  fields: number;
  prefixed: boolean;
  skipped: number;
  reason?: string;
}

function files(dir: string, keep: (path: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (keep(path)) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** A prefix from the spec's file name or package directory (`stripe.com/v1.json` -> Stripe). */
function prefixFor(path: string, kind: string): string {
  const parts = path.split('/').filter((part) => part && !/^v\d/.test(part) && part !== 'openapi.json' && part !== 'swagger.json');
  const last = kind === 'grpc' ? parts[parts.length - 2] : basename(path, extname(path)).replace(/\.(com|org|net|io|gov|dev)$/, '');
  const prefix = pascalCase((last ?? 'Spec').replace(/[^A-Za-z0-9]+/g, ' ')).replace(/[^A-Za-z0-9]/g, '');
  return /^[A-Z]/.test(prefix) ? prefix : `Api${prefix}`;
}

async function corpus(dir: string): Promise<void> {
  const kind = values.kind;
  if (kind !== 'rest' && kind !== 'grpc') fail('--kind is rest or grpc');
  const demo = readSupergraphConfig(projectPath('schema', 'supergraph.yaml'));
  const demoSdls = demo.map((s) => s.sdl);
  const specs =
    kind === 'rest'
      ? files(dir, (p) => /\.(json|ya?ml)$/.test(p))
      : files(dir, (p) => p.endsWith('.proto') && /^service \w+/m.test(readFileSync(p, 'utf8')) && !p.includes('/google/protobuf/'));
  const limit = values.limit ? Number(values.limit) : specs.length;
  const outcomes: Outcome[] = [];
  for (const spec of specs.slice(0, limit)) {
    const started = performance.now();
    const outcome: Outcome = { spec: relative(dir, spec), ok: false, ms: 0, fields: 0, prefixed: false, skipped: 0 };
    try {
      let build: (prefix?: string) => { sdl: string; fields: number; skipped: number };
      if (kind === 'rest') {
        const text = readFileSync(spec, 'utf8');
        const doc = await normalizeOpenApi(/^\s*\{/.test(text) ? JSON.parse(text) : parseYaml(text), spec);
        build = (prefix) => {
          const mapping = restMappingSchema.parse({ service: 'corpus', subgraph: 'corpus', spec, target: { url: 'http://127.0.0.1:1' }, permissions: {}, degradeUnsupported: true, ...(prefix ? { typePrefix: prefix } : {}) });
          const generated = generateRestSubgraph(doc, mapping, spec);
          return { sdl: generated.sdl, fields: generated.operations.filter((o) => o.field !== '').length, skipped: generated.warnings.filter((w) => /left out/.test(w)).length };
        };
      } else {
        const root = await loadProtoFiles([spec], [dir]);
        build = (prefix) => {
          const mapping = grpcMappingSchema.parse({ service: 'corpus', subgraph: 'corpus', protos: [spec], target: { address: '127.0.0.1:1' }, permissions: {}, ...(prefix ? { typePrefix: prefix } : {}) });
          const generated = generateGrpcSubgraph(root, mapping, spec, [spec]);
          return { sdl: generated.sdl, fields: generated.rootFields.length, skipped: generated.skipped.length };
        };
      }
      let built = build();
      if (clashingTypes(built.sdl, demoSdls).length > 0) {
        built = build(prefixFor(spec, kind));
        outcome.prefixed = true;
      }
      outcome.fields = built.fields;
      outcome.skipped = built.skipped;
      if (built.fields === 0) throw new Error('no usable operation');
      const composed = composeSubgraphs([...demo, { name: 'corpus', url: 'http://127.0.0.1:1/graphql', file: spec, sdl: built.sdl }]);
      if (!composed.ok) throw new Error(`composition: ${composed.errors[0]}`);
      outcome.ok = true;
    } catch (error) {
      outcome.reason = String((error as Error).message).replace(spec, '<spec>').slice(0, 300);
    }
    outcome.ms = Math.round(performance.now() - started);
    outcomes.push(outcome);
    process.stdout.write(`${outcome.ok ? 'ok  ' : 'FAIL'} ${String(outcome.ms).padStart(6)} ms  ${outcome.spec}${outcome.reason ? `: ${outcome.reason.slice(0, 160)}` : ''}\n`);
  }
  const passed = outcomes.filter((o) => o.ok).length;
  const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  const reasons = new Map<string, number>();
  for (const o of outcomes) {
    if (o.ok) continue;
    const key = (o.reason ?? '').replace(/#\/[^:]*:/, '#…:').replace(/"[^"]*"/g, '"…"').replace(/\b[A-Z][A-Za-z0-9]+\b/g, 'N').slice(0, 100);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const summary = [
    `${passed}/${outcomes.length} specs build and compose with the demo supergraph (${((100 * passed) / Math.max(1, outcomes.length)).toFixed(1)}%); ${outcomes.filter((o) => o.prefixed).length} needed a type prefix.`,
    `Time per spec: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${times[times.length - 1] ?? 0} ms; ${outcomes.reduce((n, o) => n + o.skipped, 0)} operations left out (reasons in the JSON).`,
  ];
  const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 20);
  process.stdout.write(`\n${summary.join('\n')}\n${top.length > 0 ? `\nFailures by reason:\n${top.map(([reason, n]) => `  ${n} × ${reason}`).join('\n')}\n` : ''}`);
  if (values.out) {
    writeFileSync(`${values.out}.json`, `${JSON.stringify({ dir, kind, date: new Date().toISOString(), passed, total: outcomes.length, outcomes }, null, 2)}\n`);
    const failures = outcomes.filter((o) => !o.ok).map((o) => `- \`${o.spec}\`: ${o.reason}`);
    writeFileSync(
      `${values.out}.md`,
      `# Adapter corpus: ${kind} specs under ${basename(dir)}\n\n${summary.join('\n')}\n\nReproduce: \`npm run adapter -- corpus ${dir} --kind ${kind}\`.\n\n## Failures\n\n${failures.join('\n') || 'none'}\n`,
    );
  }
}

const [command, dir] = positionals;
if (command === 'corpus' && dir) await corpus(dir);
else fail(command ? `unknown command ${command} (known: corpus)` : 'name a command');
