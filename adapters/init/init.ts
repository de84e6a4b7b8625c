import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Kind, parse } from 'graphql';
import { parse as parseYaml, stringify } from 'yaml';
import { loadGrpcAdapter } from '../grpc/adapter.js';
import { loadRestAdapter } from '../rest/adapter.js';
import { loadOpenApi } from '../rest/openapi.js';
import { loadSoapAdapter } from '../soap/adapter.js';
import { clashingTypes } from '../toolkit/clashes.js';
import { camelCase, pascalCase } from '../toolkit/names.js';
import type { ObjectField, Shape, ShapeRegistry } from '../toolkit/shape.js';
import { composeSubgraphs, readSupergraphConfig, type SubgraphSource } from '../../schema/composition.js';
import { projectPath } from '../../subgraphs/shared/paths.js';

/**
 * `npm run adapter -- init` and `check`: a mapping file written from a spec alone (every
 * operation, a type prefix and field names that compose with the current supergraph, suggested
 * entities and permissions), and a check that builds a mapping the way the adapter does and
 * composes it with the supergraph.
 */
export type AdapterKind = 'rest' | 'soap' | 'grpc';

export interface Skip {
  what: string;
  why: string;
}

/** A `@key` entity the spec suggests: a get-by-id operation, or a batch taking a list of ids. */
export interface EntitySuggestion {
  type: string;
  key: string;
  /** The mapping's entities entry for it, in YAML flow style (one line). */
  entry: Record<string, unknown>;
  via: string;
}

export interface RootFieldInfo {
  /** operationId (REST), operation name (SOAP) or pkg.Service.Method (gRPC). */
  operation: string;
  field: string;
  kind: 'query' | 'mutation';
}

export interface BuiltAdapter {
  subgraph: string;
  sdl: string;
  rootFields: RootFieldInfo[];
  skipped: Skip[];
  suggestions: EntitySuggestion[];
}

/** Builds a mapping file's subgraph exactly as the adapter (and `npm run compose`) does: no calls to the service. */
export async function buildMapping(kind: AdapterKind, mappingPath: string): Promise<BuiltAdapter> {
  if (kind === 'rest') {
    const { mapping, generated, specLocation } = await loadRestAdapter(mappingPath);
    const rootFields = generated.operations.filter((o) => o.field !== '').map((o) => ({ operation: o.operationId, field: o.field, kind: o.kind }));
    const skipped = generated.warnings.map((warning) => {
      // The spec's own location is the mapping's; its JSON pointer says where.
      const [what, ...why] = warning.split(specLocation).join('').split(': ');
      return why.length > 0 ? { what: what!, why: why.join(': ') } : { what: '', why: warning };
    });
    return { subgraph: mapping.subgraph, sdl: generated.sdl, rootFields, skipped, suggestions: restSuggestions(generated) };
  }
  if (kind === 'soap') {
    const { mapping, generated, target } = await loadSoapAdapter(mappingPath, { credentials: false });
    target.close();
    const rootFields = generated.rootFields.map((f) => ({ operation: f.operation.name, field: f.field, kind: f.kind }));
    return { subgraph: mapping.subgraph, sdl: generated.sdl, rootFields, skipped: generated.skipped, suggestions: soapSuggestions(generated, mapping.typePrefix ?? '') };
  }
  const { mapping, generated } = await loadGrpcAdapter(mappingPath);
  const rootFields = generated.rootFields.map((f) => ({ operation: f.method.fullName, field: f.field, kind: f.kind }));
  return { subgraph: mapping.subgraph, sdl: generated.sdl, rootFields, skipped: generated.skipped, suggestions: grpcSuggestions(generated) };
}

type Fields = ObjectField[];

function objectFields(registry: ShapeRegistry, shape: Shape | undefined): { name: string; fields: Fields } | undefined {
  if (!shape || shape.kind !== 'ref') return undefined;
  const named = registry.named.get(shape.name);
  return named?.kind === 'object' ? { name: named.name, fields: named.fields } : undefined;
}

const isScalar = (shape: Shape): boolean => shape.kind === 'scalar' && ['ID', 'String', 'Int', 'Int64'].includes(shape.scalar);
const normal = (name: string): string => name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();

/** The field of `type` a lookup parameter names: the same wire name, or `id` for `id`/`<type>Id`/`<type>_id`. */
function keyFieldFor(parameter: string, type: { name: string; fields: Fields }, prefix = ''): ObjectField | undefined {
  const same = type.fields.find((f) => normal(f.wire) === normal(parameter) && isScalar(f.shape) && f.shape.nullable === false);
  if (same) return same;
  const bare = normal(type.name.slice(prefix.length));
  const p = normal(parameter);
  if (p === 'id' || p === `${bare}id` || p === `${bare}key` || (p.endsWith('id') && bare.endsWith(p.slice(0, -2)) && p.length > 2)) {
    return type.fields.find((f) => normal(f.wire) === 'id' && isScalar(f.shape) && f.shape.nullable === false) ?? type.fields.find((f) => normal(f.wire) === 'id' && isScalar(f.shape));
  }
  return undefined;
}

function keep(found: Map<string, EntitySuggestion>, suggestion: EntitySuggestion): void {
  const existing = found.get(suggestion.type);
  if (!existing) found.set(suggestion.type, suggestion);
  else if (existing.key === suggestion.key) {
    // A batch and a single lookup of the same key: one entity with both.
    for (const which of ['single', 'batch']) if (!existing.entry[which] && suggestion.entry[which]) existing.entry[which] = suggestion.entry[which];
    existing.via = `${existing.via}, ${suggestion.via}`;
  }
}

function restSuggestions(generated: Awaited<ReturnType<typeof loadRestAdapter>>['generated']): EntitySuggestion[] {
  const found = new Map<string, EntitySuggestion>();
  for (const op of generated.operations) {
    if (op.kind !== 'query' || op.method !== 'GET' || !op.result || op.body) continue;
    const required = op.parameters.filter((p) => p.exposed && p.shape.nullable === false);
    const single = objectFields(generated.registry, op.result.shape);
    if (single && required.length === 1 && required[0]!.in === 'path') {
      const parameter = required[0]!;
      const key = keyFieldFor(parameter.wire, single);
      if (key && isScalar(parameter.shape)) {
        keep(found, { type: single.name, key: key.name, entry: { key: key.name, single: { operation: op.operationId, parameter: parameter.wire } }, via: `${op.operationId}(${parameter.wire})` });
      }
    }
    const listOf = op.result.shape.kind === 'list' ? objectFields(generated.registry, op.result.shape.of) : undefined;
    if (listOf && required.length === 0) {
      const ids = op.parameters.find((p) => p.exposed && p.in === 'query' && p.shape.kind === 'list' && isScalar(p.shape.of) && /ids$/i.test(p.wire));
      const key = ids ? keyFieldFor(ids.wire.replace(/s$/i, ''), listOf) : undefined;
      if (ids && key) {
        keep(found, { type: listOf.name, key: key.name, entry: { key: key.name, batch: { operation: op.operationId, parameter: ids.wire } }, via: `${op.operationId}(${ids.wire})` });
      }
    }
  }
  return [...found.values()];
}

function soapSuggestions(generated: Awaited<ReturnType<typeof loadSoapAdapter>>['generated'], prefix: string): EntitySuggestion[] {
  const found = new Map<string, EntitySuggestion>();
  for (const root of generated.rootFields) {
    const op = root.operation;
    if (root.kind !== 'query' || op.inputArgument || op.result || op.args.length !== 1 || !isScalar(op.args[0]!.shape)) continue;
    const argument = op.args[0]!;
    let response = objectFields(generated.registry, op.responseShape);
    let result: string | undefined;
    // A response wrapper with one element (GetOrderResponse { order }): the entity is inside.
    if (response && response.fields.length === 1) {
      const inner = objectFields(generated.registry, response.fields[0]!.shape);
      if (inner) {
        result = response.fields[0]!.wire;
        response = inner;
      }
    }
    if (!response) continue;
    const key = keyFieldFor(argument.element, response, prefix);
    if (!key) continue;
    const complexType = response.name.startsWith(prefix) ? response.name.slice(prefix.length) : response.name;
    keep(found, {
      type: response.name,
      key: key.name,
      entry: { key: key.name, type: complexType, single: { operation: op.name, key: argument.element, ...(result ? { result } : {}) } },
      via: `${op.name}(${argument.element})`,
    });
  }
  return [...found.values()];
}

function grpcSuggestions(generated: Awaited<ReturnType<typeof loadGrpcAdapter>>['generated']): EntitySuggestion[] {
  const found = new Map<string, EntitySuggestion>();
  for (const root of generated.rootFields) {
    if (root.kind !== 'query' || root.resultField || root.method.serverStream) continue;
    const response = objectFields(generated.registry, root.shape);
    if (!response) continue;
    const required = root.args.filter((a) => isScalar(a.shape));
    // Get-by-id: one scalar request field the response message has too (name, id).
    if (required.length !== 1 || root.args.length > 2) continue;
    const argument = required[0]!;
    const key = response.fields.find((f) => f.wire === argument.field && isScalar(f.shape));
    if (!key) continue;
    keep(found, {
      type: response.name,
      key: key.name,
      entry: { key: key.name, message: root.method.responseType.fullName.replace(/^\./, ''), single: { method: root.method.fullName, key: argument.field } },
      via: `${root.method.fullName}(${argument.field})`,
    });
  }
  return [...found.values()];
}

/** Root fields (Query and Mutation) the other subgraphs define. */
function rootFieldsOf(sdls: readonly string[]): { query: Set<string>; mutation: Set<string> } {
  const taken = { query: new Set<string>(), mutation: new Set<string>() };
  for (const sdl of sdls) {
    for (const definition of parse(sdl, { noLocation: true }).definitions) {
      if ((definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) && (definition.name.value === 'Query' || definition.name.value === 'Mutation')) {
        for (const field of definition.fields ?? []) taken[definition.name.value === 'Query' ? 'query' : 'mutation'].add(field.name.value);
      }
    }
  }
  return taken;
}

export interface InitOptions {
  kind: AdapterKind;
  /** The OpenAPI document, WSDL or .proto file. */
  spec: string;
  service: string;
  /** Where the mapping goes. Default adapters/services/<service>/<service>.<kind>.yaml. */
  out?: string;
  /** Import paths for .proto files. Default: the spec's directory. */
  includeDirs?: string[];
  /** The supergraph to compose with. Default schema/supergraph.yaml. */
  supergraph?: string;
  /** Overwrite an existing mapping file. Default false: init never replaces a mapping someone may have edited. */
  force?: boolean;
}

export interface InitResult {
  mappingPath: string;
  built: BuiltAdapter;
  typePrefix?: string;
  renamedFields: { operation: string; from: string; to: string }[];
  composition: { ok: boolean; errors: string[] };
}

const SCHEMA_FILE: Record<AdapterKind, string> = { rest: 'rest', soap: 'soap', grpc: 'grpc' };

async function restTarget(spec: string): Promise<string> {
  try {
    const doc = (await loadOpenApi(spec)) as { servers?: { url?: string }[] };
    const url = doc.servers?.find((s) => typeof s.url === 'string' && /^https?:\/\//.test(s.url) && !s.url.includes('{'))?.url;
    return url ?? 'http://localhost:8080';
  } catch {
    return 'http://localhost:8080';
  }
}

/** Writes a mapping for a spec: every operation, a prefix and field names that compose, suggested entities and permissions. */
export async function initMapping(options: InitOptions): Promise<InitResult> {
  const { kind, service } = options;
  if (!/^[A-Za-z_][\w-]*$/.test(service)) throw new Error(`--service ${service}: a name of letters, digits, _ and - (it names the subgraph)`);
  const mappingPath = resolve(options.out ?? projectPath('adapters', 'services', service, `${service}.${kind}.yaml`));
  const spec = resolve(options.spec);
  const specRef = relative(dirname(mappingPath), spec) || spec;
  if (existsSync(mappingPath) && !options.force) throw new Error(`${mappingPath} exists already; check it with \`npm run adapter -- check\`, or pass --force to write it again`);
  mkdirSync(dirname(mappingPath), { recursive: true });
  try {
    return await writeInitialMapping(options, mappingPath, spec, specRef);
  } catch (error) {
    // No half-written mapping stays behind.
    rmSync(mappingPath, { force: true });
    throw error;
  }
}

async function writeInitialMapping(options: InitOptions, mappingPath: string, spec: string, specRef: string): Promise<InitResult> {
  const { kind, service } = options;
  const subgraph = service;
  const all = readSupergraphConfig(options.supergraph ?? projectPath('schema', 'supergraph.yaml'));
  if (all.some((s) => s.name === subgraph) && !options.force) {
    throw new Error(`the supergraph has a subgraph ${subgraph} already; choose another --service, or pass --force to write a mapping that replaces it`);
  }
  const demo = all.filter((s) => s.name !== subgraph);
  const demoSdls = demo.map((s) => s.sdl);

  const base: Record<string, unknown> = { service, subgraph };
  if (kind === 'rest') Object.assign(base, { spec: specRef, target: { url: await restTarget(spec) } });
  else if (kind === 'soap') Object.assign(base, { wsdl: specRef, target: {} });
  else {
    const includeDirs = (options.includeDirs ?? [dirname(spec)]).map((d) => relative(dirname(mappingPath), resolve(d)) || '.');
    Object.assign(base, { protos: [specRef], includeDirs, target: { address: 'localhost:50051' } });
  }
  const settings: Record<string, unknown> = { include: 'all', degradeUnsupported: true };
  if (kind === 'grpc') delete settings.degradeUnsupported;
  const write = (mapping: Record<string, unknown>): void => writeFileSync(mappingPath, `${stringify(mapping, { lineWidth: 0 })}`);

  // First pass: every operation under its default name.
  write({ ...base, ...settings, permissions: {} });
  let built = await buildMapping(kind, mappingPath);
  if (built.rootFields.length === 0) {
    const why = built.skipped.slice(0, 5).map((s) => `${s.what ? `${s.what}: ` : ''}${s.why}`).join('; ');
    throw new Error(`no usable operation in ${spec}${why ? ` (${why}${built.skipped.length > 5 ? '; ...' : ''})` : ' (it defines none: webhooks or callbacks only?)'}`);
  }
  let typePrefix: string | undefined;
  if (clashingTypes(built.sdl, demoSdls).length > 0) {
    typePrefix = pascalCase(service).replace(/[^A-Za-z0-9]/g, '');
    if (!/^[A-Z]/.test(typePrefix)) typePrefix = `Api${typePrefix}`;
  }
  // Root fields another subgraph has already: prefixed with the service (user -> petstoreUser).
  const taken = rootFieldsOf(demoSdls);
  const renamedFields: InitResult['renamedFields'] = [];
  const operations: Record<string, Record<string, unknown>> = {};
  const used = { query: new Set<string>(), mutation: new Set<string>() };
  for (const f of built.rootFields) used[f.kind].add(f.field);
  for (const f of built.rootFields) {
    let field = f.field;
    if (taken[f.kind].has(field)) {
      field = camelCase(`${service} ${field}`);
      for (let n = 2; taken[f.kind].has(field) || used[f.kind].has(field); n += 1) field = camelCase(`${service} ${f.field} ${n}`);
      used[f.kind].add(field);
      renamedFields.push({ operation: f.operation, from: f.field, to: field });
    }
    operations[f.operation] = { field, kind: f.kind };
  }
  const operationsKey = kind === 'grpc' ? 'methods' : 'operations';
  const permissions = {
    types: {
      ...(built.rootFields.some((f) => f.kind === 'query') ? { Query: { '*': 'authenticated' } } : {}),
      ...(built.rootFields.some((f) => f.kind === 'mutation') ? { Mutation: { '*': { role: 'admin' } } } : {}),
    },
  };
  const final = { ...base, ...settings, ...(typePrefix ? { typePrefix } : {}), [operationsKey]: operations, permissions };
  write(final);
  built = await buildMapping(kind, mappingPath);

  const composed = composeSubgraphs([...demo, { name: subgraph, url: 'http://localhost:1/graphql', file: mappingPath, sdl: built.sdl }]);
  const schemaRef = relative(dirname(mappingPath), projectPath('adapters', SCHEMA_FILE[kind], 'mapping.schema.json'));
  const what = kind === 'rest' ? 'query for GET, mutation otherwise' : 'query when the name starts with a read verb (queryVerbs), mutation otherwise';
  const header = [
    `# yaml-language-server: $schema=${schemaRef}`,
    `# Written by \`npm run adapter -- init ${kind} ${relative(process.cwd(), spec) || spec} --service ${service}\`: every operation of the spec`,
    `# (${what}), names that compose with the supergraph, suggested entities and permissions.`,
    `# Edit freely, then \`npm run adapter -- check ${relative(process.cwd(), mappingPath)}\`.`,
    ...(built.skipped.length > 0 ? ['#', `# Not mapped as the spec has it (${built.skipped.length}; degradeUnsupported):`, ...built.skipped.slice(0, 50).map((s) => `#   ${`${s.what ? `${s.what}: ` : ''}${s.why}`.replace(/\s+/g, ' ').slice(0, 160)}`), ...(built.skipped.length > 50 ? [`#   ... and ${built.skipped.length - 50} more (npm run adapter -- check)`] : [])] : []),
  ];
  const suggestions = built.suggestions.map((s) => `#   ${s.type}: ${stringify(s.entry, { flow: true, lineWidth: 0 }).trim()}  # ${s.via}`);
  const footer =
    suggestions.length > 0
      ? [
          '',
          '# Suggested entities (federation @key, resolved by the lookup named): to accept one, uncomment',
          '# `entities:` and its line, and give the type a rule under permissions (e.g. `"*": authenticated`).',
          '# entities:',
          ...suggestions,
        ]
      : [];
  const body = stringify(final, { lineWidth: 0 }).replace(/^permissions:\n/m, '# Who may read what (deny by default). Generated value types are readable by whoever may read the field that returns them.\npermissions:\n');
  writeFileSync(mappingPath, `${header.join('\n')}\n${body}${footer.join('\n')}${footer.length > 0 ? '\n' : ''}`);
  return { mappingPath, built, typePrefix, renamedFields, composition: composed.ok ? { ok: true, errors: [] } : { ok: false, errors: composed.errors } };
}

export interface CheckResult {
  kind: AdapterKind;
  built?: BuiltAdapter;
  error?: string;
  clashes: string[];
  composition: { ok: boolean; errors: string[] };
}

/** The protocol of a mapping file: its suffix (x.rest.yaml), else its spec key. */
export function kindOf(mappingPath: string): AdapterKind {
  const suffix = /\.(rest|soap|grpc)\.ya?ml$/.exec(mappingPath)?.[1];
  if (suffix) return suffix as AdapterKind;
  const raw = parseYaml(readFileSync(mappingPath, 'utf8')) as Record<string, unknown> | null;
  if (raw && 'wsdl' in raw) return 'soap';
  if (raw && ('protos' in raw || 'methods' in raw)) return 'grpc';
  return 'rest';
}

/** Builds a mapping and composes it with the supergraph (replacing a subgraph of its name). */
export async function checkMapping(mappingPath: string, supergraph = projectPath('schema', 'supergraph.yaml')): Promise<CheckResult> {
  const kind = kindOf(mappingPath);
  let built: BuiltAdapter;
  try {
    built = await buildMapping(kind, mappingPath);
  } catch (error) {
    return { kind, error: (error as Error).message, clashes: [], composition: { ok: false, errors: [] } };
  }
  const others: SubgraphSource[] = readSupergraphConfig(supergraph).filter((s) => s.name !== built.subgraph);
  const composed = composeSubgraphs([...others, { name: built.subgraph, url: 'http://localhost:1/graphql', file: mappingPath, sdl: built.sdl }]);
  return {
    kind,
    built,
    clashes: clashingTypes(built.sdl, others.map((s) => s.sdl)),
    composition: composed.ok ? { ok: true, errors: [] } : { ok: false, errors: composed.errors },
  };
}
