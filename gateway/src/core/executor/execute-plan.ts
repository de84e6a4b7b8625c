import { errorCodeDef, ERRORS, operationFromDocument, type Schema, type VariableDefinitions } from '@apollo/federation-internals';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import { applyRewrites, isObjectOfType } from '@apollo/gateway/dist/dataRewrites.js';
import { generateHydratedPaths } from '@apollo/gateway/dist/executeQueryPlan.js';
import type { OperationContext } from '@apollo/gateway/dist/operationContext.js';
import { evaluateCondition, type FetchNode, type PlanNode, type QueryPlan, type QueryPlanSelectionNode } from '@apollo/query-planner';
import { GraphQLError, Kind, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { READS_ONLY } from '../data-source.js';
import { compileShape, shapeResponse, type CompiledShape } from './shape.js';

/**
 * Runs an @apollo/gateway query plan: what `executeQueryPlan` (executeQueryPlan.js) does, rule for
 * rule, without what a request here never uses (usage-reporting trace nodes, OpenTelemetry spans
 * of an unsampled request) and with the operation compiled once per plan (shape.ts) rather than
 * rebuilt from the document on every request. Fetches go through the same data sources, get the
 * same variables and representations, and their answers are merged and their errors mapped as
 * Apollo merges and maps them.
 */

type Data = Record<string, unknown>;
export type GatewayGraphQLRequestContext = Parameters<ApolloGateway['executor']>[0];
export type GatewayExecutionResult = Awaited<ReturnType<ApolloGateway['executor']>>;
type ResponsePath = (string | number)[];
interface Cursor {
  path: ResponsePath;
  data: unknown;
  fullResult: Data;
  /** `data` and the entities in it are this request's own (flattened from the root with flattenOwned). */
  owned?: boolean;
}

/** What one plan needs beyond the plan itself, compiled on its first run. */
export interface CompiledPlan {
  plan: QueryPlan;
  shape: CompiledShape;
  variableDefinitions: VariableDefinitions;
}

interface Run {
  request: GatewayGraphQLRequestContext;
  variables: Record<string, unknown> | undefined;
  services: Record<string, GraphQLDataSource>;
  supergraphSchema: GraphQLSchema;
  compiled: CompiledPlan;
  errors: unknown[];
  /** The merged data (Apollo's unfilteredData). */
  root: Data;
  /**
   * The objects and lists of the merged data this request made or copied: the only ones it writes
   * to. Subgraph answers are shared between the requests waiting on one fetch and never written;
   * merging into a part of one copies that part first (and its parents along the path).
   */
  owned: Set<object>;
}

/** Nodes this executor does not run (Apollo's executor answers those operations). */
function supported(node: PlanNode | undefined): boolean {
  if (!node) return true;
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.every(supported);
    case 'Flatten':
      return supported(node.node);
    case 'Fetch':
      return true;
    case 'Condition':
      return supported(node.ifClause) && supported(node.elseClause);
    default:
      return false;
  }
}

/**
 * The plan compiled for this executor, or undefined when Apollo's executor must run it: a
 * subscription or @defer node, an operation the gateway cannot rebuild, or one asking schema
 * introspection (answered by Apollo's introspection handling).
 */
export function compilePlan(plan: QueryPlan, operationContext: OperationContext, apiSchema: Schema): CompiledPlan | undefined {
  if (plan.node?.kind === 'Subscription' || !supported(plan.node)) return undefined;
  let operation;
  try {
    operation = operationFromDocument(
      apiSchema,
      { kind: Kind.DOCUMENT, definitions: [operationContext.operation, ...Object.values(operationContext.fragments)] },
      { validate: false },
    );
  } catch {
    return undefined;
  }
  const shape = compileShape(operation);
  if (shape.introspection) return undefined;
  return { plan, shape, variableDefinitions: operation.variableDefinitions };
}

const hasOwn = (value: unknown, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);
const isObject = (value: unknown): value is Data => value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);
const PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** `parent[key]` as an object or list this request owns: copied into its place the first time it is written. */
function own(run: Run, parent: Data | unknown[], key: string | number): unknown {
  const value = (parent as Data)[key as string];
  if (value === null || typeof value !== 'object' || run.owned.has(value)) return value;
  const copy = Array.isArray(value) ? value.slice() : { ...(value as Data) };
  run.owned.add(copy);
  (parent as Data)[key as string] = copy;
  return copy;
}

/** A fresh object of executeSelectionSet's: owned by the request that made it. */
function fresh(run: Run, value: Data): Data {
  run.owned.add(value);
  return value;
}

/**
 * @apollo/gateway's deepMerge (utilities/deepMerge.js), same rules, into a `target` this request
 * owns: what it merges into below the target is owned first; what it takes from `source` is
 * referenced, never written.
 */
function deepMerge(run: Run | undefined, target: Data, source: Data | null | undefined): Data {
  if (source === undefined || source === null) return target;
  // for-in over own keys is Object.keys' order, without the array.
  for (const key in source) {
    if (!hasOwn(source, key)) continue;
    const value = source[key];
    if (value === undefined) continue;
    // defineOwn: a key an inherited property has (`constructor`) becomes the target's own.
    if (PROTOTYPE_KEYS.has(key) && !hasOwn(target, key) && key in target) {
      Object.defineProperty(target, key, { configurable: true, enumerable: true, value: undefined, writable: true });
    }
    const existing = target[key];
    if (existing && isObject(value)) {
      deepMerge(run, (run ? own(run, target, key) : existing) as Data, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      const list = (run ? own(run, target, key) : existing) as unknown[];
      for (let i = 0; i < value.length; i += 1) {
        if (isObject(list[i]) && isObject(value[i])) deepMerge(run, (run ? own(run, list, i) : list[i]) as Data, value[i] as Data);
        else list[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

function flattenResultsAtPath(value: unknown, path: ResponsePath, at: number): unknown {
  if (at === path.length) return value;
  if (value === undefined || value === null) return value;
  const current = path[at];
  if (current === '@') {
    if (!Array.isArray(value)) throw new TypeError('value.flatMap is not a function');
    const flat: unknown[] = [];
    for (const element of value) {
      const inner = flattenResultsAtPath(element, path, at + 1);
      if (Array.isArray(inner)) for (const item of inner) flat.push(item);
      else flat.push(inner);
    }
    return flat;
  }
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  return flattenResultsAtPath(hasOwn(value, current) ? (value as Data)[current] : undefined, path, at + 1);
}

/**
 * flattenResultsAtPath from the root at merge time, owning every object and list on the way (and
 * the entities it ends on): the same values in the same order as the flattening the fetch was
 * built from, now safe to merge into.
 */
function flattenOwned(run: Run, value: unknown, path: ResponsePath, at: number): unknown {
  if (at === path.length) {
    if (Array.isArray(value)) for (let i = 0; i < value.length; i += 1) own(run, value, i);
    return value;
  }
  if (value === undefined || value === null) return value;
  const current = path[at];
  if (current === '@') {
    if (!Array.isArray(value)) throw new TypeError('value.flatMap is not a function');
    const flat: unknown[] = [];
    for (let i = 0; i < value.length; i += 1) {
      const inner = flattenOwned(run, own(run, value, i), path, at + 1);
      if (Array.isArray(inner)) for (const item of inner) flat.push(item);
      else flat.push(inner);
    }
    return flat;
  }
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  return flattenOwned(run, hasOwn(value, current) ? own(run, value as Data, current) : undefined, path, at + 1);
}

/** The entities a fetch at `cursor` merges into, owned: those of the cursor, or found again from the root after the fetch. */
function ownedEntitiesAt(run: Run, cursor: Cursor, entities: Data[]): Data[] {
  if (cursor.owned || cursor.data === run.root) return entities;
  const found = entitiesAt(flattenOwned(run, run.root, cursor.path, 0));
  // Found as they were flattened (merges add fields, never entities); else copies of where they were.
  return found.length === entities.length ? found : entities.map((entity) => fresh(run, { ...entity }));
}

function entitiesAt(data: unknown): Data[] {
  return Array.isArray(data) ? (data as unknown[]).filter((e): e is Data => e !== null && e !== undefined) : [data as Data];
}

function moveIntoCursor(run: Run, cursor: Cursor, path: ResponsePath): Cursor | undefined {
  // From the root (every plan's Flatten), what the fetch will merge into is owned at once: owned
  // objects are merged into in place, so entities found now are still the ones in the data later.
  const owned = cursor.data === run.root;
  const data = owned ? flattenOwned(run, cursor.data, path, 0) : flattenResultsAtPath(cursor.data, path, 0);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult, owned } : undefined;
}

/** isObjectOfType for a fragment of a fetch's `requires`, remembered per `__typename`. */
const fragmentApplies = new WeakMap<QueryPlanSelectionNode, Map<unknown, boolean>>();

function typeConditionHolds(schema: GraphQLSchema, source: Data, selection: QueryPlanSelectionNode & { kind: 'InlineFragment' }): boolean {
  let known = fragmentApplies.get(selection);
  if (!known) fragmentApplies.set(selection, (known = new Map()));
  const typename = source.__typename;
  let applies = known.get(typename);
  if (applies === undefined) known.set(typename, (applies = isObjectOfType(schema, source, selection.typeCondition!)));
  return applies;
}

/** executeSelectionSet: a representation (the `requires` selection) read from an entity. */
/** Whether a `requires` selection (its fragments included) has a response key Object.prototype has. */
const inheritedKeys = new WeakMap<readonly QueryPlanSelectionNode[], boolean>();
function hasInheritedKey(selections: readonly QueryPlanSelectionNode[]): boolean {
  let known = inheritedKeys.get(selections);
  if (known === undefined) {
    known = selections.some((s) => (s.kind === 'Field' ? PROTOTYPE_KEYS.has(s.alias ?? s.name) : hasInheritedKey(s.selections)));
    inheritedKeys.set(selections, known);
  }
  return known;
}

function executeSelectionSet(schema: GraphQLSchema, source: unknown, selections: readonly QueryPlanSelectionNode[]): Data | null {
  if (source === null) return null;
  // A plain object (fast in V8, unlike Object.create(null)'s dictionary-mode ones) unless a key could be inherited.
  const result = hasInheritedKey(selections) ? (Object.create(null) as Data) : {};
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const responseName = selection.alias ?? selection.name;
      const inner = selection.selections;
      if (!hasOwn(source, responseName)) return null;
      const value = (source as Data)[responseName];
      if (value === undefined) return null;
      if (Array.isArray(value)) result[responseName] = inner ? value.map((element: unknown) => executeSelectionSet(schema, element, inner)) : value.slice();
      else if (inner) result[responseName] = executeSelectionSet(schema, value, inner);
      else result[responseName] = value;
    } else {
      if (!selection.typeCondition || !source) continue;
      if (typeConditionHolds(schema, source as Data, selection)) deepMerge(undefined, result, executeSelectionSet(schema, source, selection.selections));
    }
  }
  return result;
}

function downstreamServiceError(original: GraphQLFormattedError, serviceName: string, errorPath: (path: readonly (string | number)[] | undefined) => ResponsePath | undefined): GraphQLError {
  const { extensions } = original;
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const options = { originalError: original as unknown as Error, path: errorPath(original.path), extensions: { ...extensions, serviceName } };
  const codeDef = errorCodeDef(original);
  if (!codeDef && extensions?.code) return new GraphQLError(message, options);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

function lazyErrorPaths(fetch: FetchNode, cursor: Cursor): (path: readonly (string | number)[] | undefined) => ResponsePath | undefined {
  let hydrated: ResponsePath[] | undefined;
  return (errorPath) => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydrated) {
        hydrated = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydrated);
      }
      return [...(hydrated[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

async function executeNode(run: Run, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  // The client is gone or its deadline answered it: no more fetches for an answer nobody reads.
  if (!cursor || (run.request.context as { signal?: AbortSignal }).signal?.aborted) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(run, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(run, child, cursor)));
      return;
    case 'Flatten':
      return executeNode(run, node.node, moveIntoCursor(run, cursor, node.path));
    case 'Fetch':
      try {
        await executeFetch(run, node, cursor);
      } catch (error) {
        run.errors.push(error);
      }
      return;
    case 'Condition': {
      const branch = evaluateCondition(node, run.compiled.variableDefinitions, run.variables) ? node.ifClause : node.elseClause;
      if (branch) await executeNode(run, branch, cursor);
      return;
    }
    default:
      throw new Error(`Unexpected ${node.kind} node in a plan this executor was given`);
  }
}

async function executeFetch(run: Run, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = run.services[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities = entitiesAt(cursor.data);
  if (entities.length < 1) return;
  const variables = Object.create(null) as Data;
  if (fetch.variableUsages) {
    const provided = run.variables;
    for (const name of fetch.variableUsages) {
      if (provided && hasOwn(provided, name) && provided[name] !== undefined) variables[name] = provided[name];
    }
  }
  const send = async (sent: Data, copies?: number[][]): Promise<Data | null | undefined> => {
    const response = await service.process({
      kind: 'incoming operation' as never,
      [READS_ONLY]: true,
      request: { query: fetch.operation, variables: sent, operationName: fetch.operationName, http: undefined },
      incomingRequestContext: run.request,
      context: run.request.context,
      document: fetch.operationDocumentNode,
      pathInIncomingRequest: cursor.path,
    } as Parameters<GraphQLDataSource['process']>[0]);
    if (response.errors) {
      const paths = lazyErrorPaths(fetch, cursor);
      for (const error of copies ? errorsOfCopies(response.errors, copies) : response.errors) run.errors.push(downstreamServiceError(error, fetch.serviceName, paths));
      if (!response.extensions?.ftv1) {
        const metrics = run.request.metrics as { nonFtv1ErrorPaths?: { subgraph: string; path: unknown }[] } | undefined;
        const errorPaths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
        if (metrics?.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...errorPaths);
        else if (metrics) metrics.nonFtv1ErrorPaths = errorPaths;
      }
    }
    return response.data as Data | null | undefined;
  };

  if (!fetch.requires) {
    let received = await send(variables);
    // Rewrites write: into a copy of the shared answer.
    if (received && fetch.outputRewrites) applyRewrites(run.supergraphSchema, fetch.outputRewrites, (received = structuredClone(received)));
    for (const entity of ownedEntitiesAt(run, cursor, entities)) deepMerge(run, entity, received);
    return;
  }
  // The representations in Apollo's order (one per entity that has one), each distinct one sent once
  // (as Apollo Router does): its answer and errors go to every copy. A representation already seen
  // is recognised from the entity itself, without being built.
  const distinctOnes = new RepresentationIndex();
  const unique: Data[] = [];
  const slots: number[] = [];
  const representationToEntity: number[] = [];
  const copies: number[][] = [];
  const flat = fetch.inputRewrites ? undefined : flatRequires(fetch.requires);
  for (let index = 0; index < entities.length; index += 1) {
    const entity = entities[index]!;
    let slot: number | undefined;
    let representation: Data | null | undefined;
    const fields = flat ? flatFieldsFor(run.supergraphSchema, flat, entity) : undefined;
    if (fields === NO_REPRESENTATION) continue;
    if (fields) {
      slot = distinctOnes.getFields(entity, fields);
      if (slot === undefined) {
        representation = {};
        for (const field of fields) representation[field] = entity[field];
      }
    } else {
      representation = executeSelectionSet(run.supergraphSchema, entity, fetch.requires);
      if (!representation || !representation.__typename) continue;
      if (fetch.inputRewrites) applyRewrites(run.supergraphSchema, fetch.inputRewrites, representation);
      slot = distinctOnes.get(representation);
    }
    if (slot === undefined) {
      slot = unique.length;
      distinctOnes.set(representation!, slot);
      unique.push(representation!);
      copies.push([]);
    }
    copies[slot]!.push(slots.length);
    slots.push(slot);
    representationToEntity.push(index);
  }
  const count = slots.length;
  if (count < 1) return;
  if ('representations' in variables) throw new Error('Variables cannot contain key "representations"');
  const deduplicated = unique.length < count;
  const received = await send({ ...variables, representations: unique }, deduplicated ? copies : undefined);
  if (!received) return;
  const answers = received._entities;
  if (!(answers && Array.isArray(answers))) throw new Error('Expected "data._entities" in response to be an array');
  if (answers.length !== unique.length) throw new Error(`Expected "data._entities" to contain ${count} elements`);
  const into = ownedEntitiesAt(run, cursor, entities);
  for (let i = 0; i < count; i += 1) {
    let receivedEntity = answers[slots[i]!] as Data | null | undefined;
    const existing = into[representationToEntity[i]!]!;
    // Apollo gives an answer without __typename the entity's own before merging it: merged, that
    // writes the entity's __typename onto itself, which changes nothing (the shared answer stays as sent).
    if (fetch.outputRewrites && receivedEntity) {
      receivedEntity = structuredClone(receivedEntity);
      if (!receivedEntity.__typename) receivedEntity.__typename = existing.__typename;
      applyRewrites(run.supergraphSchema, fetch.outputRewrites, receivedEntity);
    }
    deepMerge(run, existing, receivedEntity);
  }
}

const END = Symbol('end');
type Trie = Map<unknown, Trie | number> & { [END]?: number };

/**
 * Representations by value. One of only scalar fields (the usual key and @requires fields) is
 * found in a trie of its field names and values (Maps compare strings, numbers, booleans and null
 * exactly, "1" apart from 1), with no string built; any other by its JSON text.
 */
class RepresentationIndex {
  private readonly trie: Trie = new Map();
  private readonly byJson = new Map<string, number>();

  private node(representation: Data, create: boolean): Trie | undefined {
    let node: Trie = this.trie;
    for (const name in representation) {
      const value = representation[name];
      if (value === undefined) continue;
      let byName = node.get(name) as Trie | undefined;
      if (!byName) {
        if (!create) return undefined;
        node.set(name, (byName = new Map()));
      }
      let next = byName.get(value) as Trie | undefined;
      if (!next) {
        if (!create) return undefined;
        byName.set(value, (next = new Map()));
      }
      node = next;
    }
    return node;
  }

  private static scalar(representation: Data): boolean {
    for (const name in representation) {
      const value = representation[name];
      if (value !== null && typeof value === 'object') return false;
    }
    return true;
  }

  /** The slot of the representation an entity's `fields` (scalars, checked by flatFieldsFor) make, without making it. */
  getFields(entity: Data, fields: readonly string[]): number | undefined {
    let node: Trie | undefined = this.trie;
    for (const name of fields) {
      node = (node.get(name) as Trie | undefined)?.get(entity[name]) as Trie | undefined;
      if (!node) return undefined;
    }
    return node[END];
  }

  get(representation: Data): number | undefined {
    if (!RepresentationIndex.scalar(representation)) return this.byJson.get(JSON.stringify(representation));
    return this.node(representation, false)?.[END];
  }

  set(representation: Data, slot: number): void {
    if (!RepresentationIndex.scalar(representation)) this.byJson.set(JSON.stringify(representation), slot);
    else this.node(representation, true)![END] = slot;
  }
}

/**
 * A deduplicated fetch's errors as the fetch of every copy would have had them: an error at
 * `_entities.<k>` once per copy of representation k, at that copy's index; each run of such errors
 * in index order (a subgraph lists an entity fetch's errors in the order of its representations).
 */
function errorsOfCopies(errors: readonly GraphQLFormattedError[], copies: number[][]): GraphQLFormattedError[] {
  const out: GraphQLFormattedError[] = [];
  let entityRun: { index: number; error: GraphQLFormattedError }[] = [];
  const flush = () => {
    entityRun.sort((a, b) => a.index - b.index);
    for (const { error } of entityRun) out.push(error);
    entityRun = [];
  };
  for (const error of errors) {
    const path = error.path;
    const slot = path?.[1];
    if (path && typeof slot === 'number' && copies[slot]) {
      for (const index of copies[slot]) entityRun.push({ index, error: { ...error, path: [path[0]!, index, ...path.slice(2)] } });
    } else {
      flush();
      out.push(error);
    }
  }
  flush();
  return out;
}

/** A `requires` made of inline fragments of leaf fields only (the usual key and @requires selections). */
interface FlatRequires {
  fragments: { node: QueryPlanSelectionNode & { kind: 'InlineFragment' }; fields: string[]; hasTypename: boolean }[];
}
const flatRequiresOf = new WeakMap<readonly QueryPlanSelectionNode[], FlatRequires | null>();
const NO_REPRESENTATION = Symbol('none');

function flatRequires(requires: readonly QueryPlanSelectionNode[]): FlatRequires | undefined {
  let known = flatRequiresOf.get(requires);
  if (known === undefined) {
    known = { fragments: [] };
    for (const selection of requires) {
      if (selection.kind !== 'InlineFragment' || !selection.typeCondition || !selection.selections.every((s) => s.kind === 'Field' && !s.selections)) {
        known = null;
        break;
      }
      const fields = selection.selections.map((s) => (s.kind === 'Field' ? (s.alias ?? s.name) : ''));
      if (fields.some((f) => PROTOTYPE_KEYS.has(f))) {
        known = null;
        break;
      }
      known.fragments.push({ node: selection, fields, hasTypename: fields.includes('__typename') });
    }
    flatRequiresOf.set(requires, known);
  }
  return known ?? undefined;
}

/**
 * What executeSelectionSet would make of `entity` for flat `requires`: the fields of the one
 * fragment that applies, when all are there and scalar; NO_REPRESENTATION when it makes none (a
 * field missing, or no __typename); undefined when only executeSelectionSet can tell (several
 * fragments apply, an object value).
 */
function flatFieldsFor(schema: GraphQLSchema, flat: FlatRequires, entity: Data): readonly string[] | typeof NO_REPRESENTATION | undefined {
  let applying: FlatRequires['fragments'][number] | undefined;
  for (const fragment of flat.fragments) {
    if (!typeConditionHolds(schema, entity, fragment.node)) continue;
    if (applying) return undefined;
    applying = fragment;
  }
  if (!applying || !applying.hasTypename) return NO_REPRESENTATION;
  for (const field of applying.fields) {
    if (!hasOwn(entity, field)) return NO_REPRESENTATION;
    const value = entity[field];
    if (value === undefined) return NO_REPRESENTATION;
    if (value !== null && typeof value === 'object') return undefined;
  }
  return entity.__typename ? applying.fields : NO_REPRESENTATION;
}

/** executeQueryPlan for a compiled plan: the fetches, then the answer shaped as Apollo shapes it. */
export async function executePlan(
  compiled: CompiledPlan,
  request: GatewayGraphQLRequestContext,
  services: Record<string, GraphQLDataSource>,
  supergraphSchema: GraphQLSchema,
): Promise<GatewayExecutionResult> {
  const unfiltered = Object.create(null) as Data;
  const run: Run = { request, variables: request.request.variables, services, supergraphSchema, compiled, errors: [], root: unfiltered, owned: new Set([unfiltered]) };
  const root = compiled.plan.node;
  if (root) await executeNode(run, root as PlanNode, { path: [], data: unfiltered, fullResult: unfiltered });
  try {
    const { data, errors: shaping } = shapeResponse(compiled.shape, unfiltered, run.variables);
    if (run.errors.length === 0 && shaping.length > 0) return { extensions: { valueCompletion: shaping }, data };
    return run.errors.length === 0 ? { data } : ({ errors: run.errors, data } as GatewayExecutionResult);
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
    request.logger?.error(`Unexpected error during query plan execution: ${String(error)}`);
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
}
