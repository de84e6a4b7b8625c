import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { camelCase } from '../toolkit/names.js';
import { checkMapping, initMapping, type AdapterKind } from './init.js';
import { readSupergraphConfig } from '../../schema/composition.js';
import { projectPath } from '../../subgraphs/shared/paths.js';

/** The outcome of `init` + generate + compose on one spec, with no hand-written mapping. */
export interface CorpusOutcome {
  spec: string;
  ok: boolean;
  ms: number;
  fields: number;
  prefixed: boolean;
  renamedFields: number;
  skipped: number;
  /** Suggested entities, and whether the mapping still builds and composes with all of them accepted. */
  entities: number;
  entitiesOk?: boolean;
  reason?: string;
}

function walk(dir: string, keep: (path: string) => boolean): string[] {
  const found: string[] = [];
  const visit = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) visit(path);
      else if (keep(path)) found.push(path);
    }
  };
  visit(dir);
  return found;
}

/** The specs of a directory: OpenAPI documents, WSDLs with a service, or .proto files with a service. */
export function corpusSpecs(dir: string, kind: AdapterKind): string[] {
  if (kind === 'rest') return walk(dir, (p) => /\.(json|ya?ml)$/.test(p));
  if (kind === 'soap') return walk(dir, (p) => /\.(wsdl|xml)$/i.test(p) && /<([\w-]+:)?service\b[^>]*\bname=/.test(readFileSync(p, 'utf8')));
  return walk(dir, (p) => p.endsWith('.proto') && /^service \w+/m.test(readFileSync(p, 'utf8')) && !p.includes('/google/protobuf/'));
}

/** A service name from the spec's path: `stripe.com/v1.json` -> stripe, `google/cloud/kms/v1/x.proto` -> kms. */
export function serviceNameFor(spec: string, kind: AdapterKind): string {
  const parts = spec.split('/').filter((part) => part && !/^v\d/.test(part) && !/^(openapi|swagger)\.(json|ya?ml)$/.test(part));
  const last = kind === 'grpc' ? parts[parts.length - 2] : basename(parts[parts.length - 1] ?? spec, extname(spec)).replace(/\.(com|org|net|io|gov|dev)$/, '');
  const name = camelCase((last ?? 'spec').replace(/[^A-Za-z0-9]+/g, ' '));
  return /^[A-Za-z_]/.test(name) ? name : `api${name}`;
}

const TAKEN = new Set(readSupergraphConfig(projectPath('schema', 'supergraph.yaml')).map((s) => s.name));

/** Runs `init` (mapping written under workDir) + generate + compose on one spec; then again with every suggested entity accepted. */
export async function runCorpusSpec(kind: AdapterKind, dir: string, spec: string, workDir: string): Promise<CorpusOutcome> {
  const started = performance.now();
  const outcome: CorpusOutcome = { spec: relative(dir, spec), ok: false, ms: 0, fields: 0, prefixed: false, renamedFields: 0, skipped: 0, entities: 0 };
  // Never the name of a subgraph the supergraph has (init would refuse it).
  const named = serviceNameFor(relative(dir, spec), kind);
  const service = TAKEN.has(named) ? `${named}Spec` : named;
  const out = join(workDir, relative(dir, spec).replace(/[^\w.-]+/g, '_'), `${service}.${kind}.yaml`);
  mkdirSync(dirname(out), { recursive: true });
  try {
    const init = await initMapping({ kind, spec, service, out, ...(kind === 'grpc' ? { includeDirs: [dir] } : {}) });
    outcome.fields = init.built.rootFields.length;
    outcome.prefixed = init.typePrefix !== undefined;
    outcome.renamedFields = init.renamedFields.length;
    outcome.skipped = init.built.skipped.length;
    outcome.entities = init.built.suggestions.length;
    if (!init.composition.ok) throw new Error(`composition: ${init.composition.errors[0]}`);
    outcome.ok = outcome.fields > 0;
    if (init.built.suggestions.length > 0) {
      // Accept every suggestion, as a user would by uncommenting its line.
      const mapping = parseYaml(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
      mapping.entities = Object.fromEntries(init.built.suggestions.map((s) => [s.type, s.entry]));
      const types = (mapping.permissions!.types ??= {}) as Record<string, unknown>;
      for (const s of init.built.suggestions) types[s.type] = { '*': 'authenticated' };
      writeFileSync(out, stringify(mapping, { lineWidth: 0 }));
      const checked = await checkMapping(out);
      outcome.entitiesOk = checked.error === undefined && checked.composition.ok;
      if (!outcome.entitiesOk) outcome.reason = `entities: ${checked.error ?? checked.composition.errors[0]}`;
    }
  } catch (error) {
    outcome.reason = String((error as Error).message).split(resolve(spec)).join('<spec>').split(spec).join('<spec>').slice(0, 300);
  }
  outcome.ms = Math.round(performance.now() - started);
  return outcome;
}

export function corpusSummary(outcomes: CorpusOutcome[]): string[] {
  const passed = outcomes.filter((o) => o.ok).length;
  const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  const withEntities = outcomes.filter((o) => o.entities > 0);
  return [
    `${passed}/${outcomes.length} specs build and compose with the demo supergraph (${((100 * passed) / Math.max(1, outcomes.length)).toFixed(1)}%) from \`init\` alone; ${outcomes.filter((o) => o.prefixed).length} given a type prefix, ${outcomes.filter((o) => o.renamedFields > 0).length} with root fields renamed.`,
    `Time per spec: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${times[times.length - 1] ?? 0} ms; ${outcomes.reduce((n, o) => n + o.skipped, 0)} constructs or operations left out or read as JSON (degradeUnsupported).`,
    `Entities suggested for ${withEntities.length} specs (${withEntities.reduce((n, o) => n + o.entities, 0)} in all); with all of them accepted, ${withEntities.filter((o) => o.entitiesOk).length} still build and compose.`,
  ];
}
