import { Supergraph } from '@apollo/federation-internals';
import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  print,
  validate,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { BoundedLru } from './store.js';

/**
 * Entity tags come from what the query plan fetches, never from a rewritten client operation
 * (extra selections there change plans, add fetches and trip planner bugs on interface objects):
 * the `_entities` representations the gateway sends, and the subgraph responses it receives. A
 * fetch that returns entities without their keys gets the keys added, under reserved aliases,
 * in that subgraph's own fetch: only keys the subgraph itself declares (`@key`), which it
 * resolves without another subgraph, so the plan and the number of fetches stay the same, and
 * the gateway's result shaping drops the extra fields before anything else sees them.
 */
export const RESERVED = '__fd_';
const TYPENAME = `${RESERVED}t`;
const REFERENCE = `${RESERVED}r_`;
const keyAlias = (type: string, field: string) => `${RESERVED}k_${type}_${field}`;

/** A key of an entity type: its top-level fields and its parsed selections (nested keys too). */
export interface EntityKey {
  fields: string[];
  selections: readonly SelectionNode[];
}

/** The key each entity type is tagged (and purged) by: the first `@join__type` key of the supergraph. */
export type EntityKeys = Map<string, EntityKey>;

const parseKey = (fields: string): EntityKey => {
  const selections = (parse(`{ ${fields} }`).definitions[0] as { selectionSet: SelectionSetNode }).selectionSet.selections;
  return { fields: selections.map((s) => (s as FieldNode).name.value), selections };
};

/**
 * Reads `@join__type(key: ...)` from the supergraph SDL: the first key of each entity type
 * (objects, and interfaces with keys: entity interfaces and interface objects), kept only where
 * every key field is part of the API schema.
 */
export function entityKeysOf(supergraphSdl: string, apiSchema: GraphQLSchema): EntityKeys {
  const keys: EntityKeys = new Map();
  for (const definition of parse(supergraphSdl).definitions) {
    const kind = definition.kind;
    if (kind !== Kind.OBJECT_TYPE_DEFINITION && kind !== Kind.OBJECT_TYPE_EXTENSION && kind !== Kind.INTERFACE_TYPE_DEFINITION && kind !== Kind.INTERFACE_TYPE_EXTENSION) continue;
    const name = definition.name.value;
    if (keys.has(name)) continue;
    const type = apiSchema.getType(name);
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'join__type') continue;
      const key = directive.arguments?.find((a) => a.name.value === 'key')?.value;
      if (key?.kind !== Kind.STRING) continue;
      const parsed = parseKey(key.value);
      if (!parsed.fields.every((field) => field in type.getFields())) continue;
      keys.set(name, parsed);
      break;
    }
  }
  return keys;
}

const sorted = (key: Record<string, unknown>) => Object.fromEntries(Object.keys(key).sort().map((f) => [f, key[f]]));

/**
 * The tag of one entity by the supergraph's key of its type: `Product:p1`, or the type and its
 * key as JSON when the key has several fields. An entity known by another of its keys is tagged
 * by that key as JSON (`Product:{"sku":"S1"}`), never in the short form.
 */
export function entityTag(type: string, key: Record<string, unknown>): string {
  const fields = Object.keys(key).sort();
  if (fields.length === 1) {
    const value = key[fields[0]!];
    if (typeof value === 'string' || typeof value === 'number') return `${type}:${value}`;
  }
  return `${type}:${JSON.stringify(sorted(key))}`;
}

/** The tag of an entity by a key that is not its type's supergraph key. */
export const otherKeyTag = (type: string, key: Record<string, unknown>): string => `${type}:${JSON.stringify(sorted(key))}`;

/** How to read one entity's key from a subgraph response: the key fields and the response key of each. */
interface KeyRead {
  fields: string[];
  names: string[];
  /** The supergraph's key of the type, tagged `Type:value`; another key is always tagged as JSON, so the two never mix. */
  canonical: boolean;
}

/**
 * Where a fetch's response holds entities: the static entity type at a position (or the response
 * key of its `__typename` where the type is abstract), how to read its key, and the positions
 * below. Positions without entities below them are left out, so the walk skips them.
 */
export interface FetchShape {
  type?: string;
  typename?: string;
  keys?: Map<string, KeyRead>;
  /** The same response key held different entity types (aliases over fragments): not tagged here. */
  ambiguous?: boolean;
  fields?: Map<string, FetchShape>;
}

/** A subgraph fetch prepared for tagging: the query to send and how to read its entities. */
export interface PreparedFetch {
  /** The query with the reserved fields added; undefined when it needs none. */
  query?: string;
  shape: FetchShape;
}

interface SubgraphInfo {
  schema: GraphQLSchema;
  /** The key each entity type of this subgraph is read by here. */
  keys: Map<string, EntityKey>;
}

const directivesNamed = (type: { astNode?: { directives?: readonly ConstDirectiveNode[] } | null; extensionASTNodes?: readonly { directives?: readonly ConstDirectiveNode[] }[] }, name: string) =>
  [type.astNode, ...(type.extensionASTNodes ?? [])].flatMap((node) => (node?.directives ?? []).filter((d) => d.name.value === name || d.name.value === `federation__${name}`));

const FETCH_MEMO = 2_000;

/** The values of these fields of a record, or undefined when one is missing or null. */
function valuesOf(record: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> | undefined {
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const value = record[field];
    if (value === undefined || value === null) return undefined;
    values[field] = value;
  }
  return values;
}

/**
 * The entities of one supergraph: the key each type is tagged by, and for each subgraph the keys
 * it declares, to prepare its fetches. Made once per supergraph (a reload makes a new one).
 */
export class EntityCatalog {
  /** Interfaces with the same key as an implementing type: purging the type purges them too. */
  private readonly interfacesOf = new Map<string, string[]>();
  private readonly subgraphs = new Map<string, SubgraphInfo | null>();
  private readonly prepared = new BoundedLru<PreparedFetch | null>(FETCH_MEMO, Number.MAX_SAFE_INTEGER, () => 1);
  private supergraph: Supergraph | undefined;
  /** Every key declared for each type in some subgraph, as sorted field lists (`id`, `sku`). */
  readonly allKeys = new Map<string, Set<string>>();

  constructor(
    private readonly supergraphSdl: string,
    readonly apiSchema: GraphQLSchema,
    readonly keys: EntityKeys = entityKeysOf(supergraphSdl, apiSchema),
  ) {
    for (const definition of parse(supergraphSdl).definitions) {
      if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
      for (const directive of definition.directives ?? []) {
        const key = directive.name.value === 'join__type' ? directive.arguments?.find((a) => a.name.value === 'key')?.value : undefined;
        if (key?.kind !== Kind.STRING) continue;
        const fields = parseKey(key.value).fields.sort().join(',');
        let known = this.allKeys.get(definition.name.value);
        if (!known) this.allKeys.set(definition.name.value, (known = new Set()));
        known.add(fields);
      }
    }
    for (const [name, key] of keys) {
      const type = apiSchema.getType(name);
      if (!isObjectType(type)) continue;
      const same = type.getInterfaces().filter((i) => keys.get(i.name)?.fields.join(',') === key.fields.join(','));
      if (same.length > 0) this.interfacesOf.set(name, same.map((i) => i.name));
    }
  }

  /** The tags a purge of these tags must also remove: the entity interfaces of each entity with the same key. */
  widen(tags: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const tag of tags) {
      out.add(tag);
      const colon = tag.indexOf(':');
      if (colon <= 0) continue;
      for (const iface of this.interfacesOf.get(tag.slice(0, colon)) ?? []) out.add(`${iface}${tag.slice(colon)}`);
    }
    return [...out];
  }

  /** Adds the tag of each `_entities` representation whose key can be read. */
  tagRepresentations(representations: unknown, into: Set<string>): void {
    if (!Array.isArray(representations)) return;
    for (const rep of representations) {
      if (rep === null || typeof rep !== 'object') continue;
      const record = rep as Record<string, unknown>;
      const type = record.__typename;
      if (typeof type !== 'string') continue;
      const key = this.keys.get(type);
      if (!key) continue;
      const canonical = valuesOf(record, key.fields);
      if (canonical) {
        into.add(entityTag(type, canonical));
        continue;
      }
      // A representation for a subgraph that knows the type by another key.
      for (const fields of this.allKeys.get(type) ?? []) {
        const other = valuesOf(record, fields.split(','));
        if (other) {
          into.add(otherKeyTag(type, other));
          break;
        }
      }
    }
  }

  /**
   * The fetch to send to `subgraph` for tagging (memoized by its text), or null when it cannot be
   * prepared: an unknown subgraph, a query that does not parse, one already using reserved names,
   * or one whose additions the subgraph's schema would not validate.
   */
  prepare(subgraph: string, query: string, mutation: boolean): PreparedFetch | null {
    const id = `${subgraph}\u0000${query}`;
    const found = this.prepared.get(id);
    if (found !== undefined) return found;
    const info = this.subgraph(subgraph);
    let result: PreparedFetch | null = null;
    if (info && !query.includes(RESERVED)) {
      try {
        result = prepareFetch(parse(query), info, this.keys, mutation);
        // What the subgraph's schema (as the supergraph records it) would refuse is never sent:
        // checked once per fetch text, and only where the planner's own text passes the same check.
        if (result?.query !== undefined && validate(info.schema, parse(result.query)).length > 0 && validate(info.schema, parse(query)).length === 0) result = null;
      } catch {
        result = null;
      }
    }
    this.prepared.set(id, result);
    return result;
  }

  /** The subgraph refused this fetch with the keys added: it is sent as planned from now on (and not tagged). */
  refuse(subgraph: string, query: string): void {
    this.prepared.set(`${subgraph}\u0000${query}`, null);
  }

  private subgraph(name: string): SubgraphInfo | null {
    let info = this.subgraphs.get(name);
    if (info !== undefined) return info;
    info = null;
    try {
      this.supergraph ??= Supergraph.build(this.supergraphSdl);
      const found = this.supergraph.subgraphs().get(name);
      if (found) {
        const schema = found.schema.toGraphQLJSSchema();
        const keys = new Map<string, EntityKey>();
        for (const type of Object.values(schema.getTypeMap())) {
          if (!isObjectType(type) && !isInterfaceType(type)) continue;
          const declared = directivesNamed(type, 'key').flatMap((d) => {
            const value = d.arguments?.find((a) => a.name.value === 'fields')?.value;
            return value?.kind === Kind.STRING ? [value.value] : [];
          });
          if (declared.length === 0) continue;
          // The supergraph's key when this subgraph declares it, so tags agree across subgraphs.
          const canonical = this.keys.get(type.name);
          const parsed = declared.map(parseKey);
          const chosen = parsed.find((k) => canonical && k.fields.join(',') === canonical.fields.join(',')) ?? parsed[0]!;
          if (chosen.fields.every((field) => field in type.getFields())) keys.set(type.name, chosen);
        }
        info = { schema, keys };
      }
    } catch {
      info = null;
    }
    this.subgraphs.set(name, info);
    return info;
  }
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const aliased = (alias: string, field: string, selectionSet?: SelectionSetNode): FieldNode => ({
  kind: Kind.FIELD,
  alias: name(alias),
  name: name(field),
  ...(selectionSet ? { selectionSet } : {}),
});

/** Unaliased leaf fields a selection set surely puts in the response under their own names (no directives, no other type). */
function ownLeaves(selections: readonly SelectionNode[], type: string, names = new Set<string>()): Set<string> {
  for (const selection of selections) {
    if (selection.directives?.length) continue;
    if (selection.kind === Kind.FIELD) {
      if (!selection.alias && !selection.selectionSet) names.add(selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT && (!selection.typeCondition || selection.typeCondition.name.value === type)) {
      ownLeaves(selection.selectionSet.selections, type, names);
    }
  }
  return names;
}

/** The key selections of `type` not already selected as own leaves, and how to read the key. */
function keyParts(type: string, key: EntityKey, own: ReadonlySet<string>, canonical: EntityKey | undefined): { add: FieldNode[]; read: KeyRead } {
  const add: FieldNode[] = [];
  const names: string[] = [];
  for (const selection of key.selections) {
    const field = (selection as FieldNode).name.value;
    if (!(selection as FieldNode).selectionSet && own.has(field)) {
      names.push(field);
      continue;
    }
    const alias = keyAlias(type, field);
    add.push(aliased(alias, field, (selection as FieldNode).selectionSet));
    names.push(alias);
  }
  return { add, read: { fields: key.fields, names, canonical: canonical?.fields.join(',') === key.fields.join(',') } };
}

const entityTypesOf = (type: GraphQLCompositeType, info: SubgraphInfo): readonly GraphQLObjectType[] | undefined =>
  isAbstractType(type) ? info.schema.getPossibleTypes(type).filter((t) => info.keys.has(t.name)) : undefined;

/** Single, nullable entity fields without required arguments that the subgraph resolves itself: what a mutation's result points at. */
function references(type: GraphQLObjectType, info: SubgraphInfo): GraphQLField<unknown, unknown>[] {
  return Object.values(type.getFields()).filter((field) => {
    if (isNonNullType(field.type) || isListType(field.type)) return false;
    const target = getNamedType(field.type);
    if (!isObjectType(target) || !info.keys.has(target.name)) return false;
    if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) return false;
    const directives = field.astNode?.directives ?? [];
    return !directives.some((d) => /^(?:federation__)?(?:external|requires)$/.test(d.name.value));
  });
}

function merge(into: FetchShape, from: FetchShape): void {
  // Two reads of __typename or of a key (own name, reserved alias) both land in the merged object.
  if (from.type !== into.type) into.ambiguous = true;
  into.typename ??= from.typename;
  if (from.keys) {
    into.keys ??= new Map();
    for (const [type, read] of from.keys) if (!into.keys.has(type)) into.keys.set(type, read);
  }
  if (from.ambiguous) into.ambiguous = true;
  if (from.fields) {
    into.fields ??= new Map();
    for (const [key, child] of from.fields) {
      const existing = into.fields.get(key);
      if (existing) merge(existing, child);
      else into.fields.set(key, child);
    }
  }
}

/**
 * Adds `__typename` (where the type is abstract) and the keys the subgraph declares to every
 * selection set that returns entities, and, for a mutation, the entities its results point at.
 * `_entities` results are tagged from their representations; their fields are prepared like any.
 */
function prepareFetch(document: DocumentNode, info: SubgraphInfo, keys: EntityKeys, mutation: boolean): PreparedFetch | null {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return null;
  const root = info.schema.getRootType(operation.operation);
  if (!root) return null;
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  let changed = false;
  const spreads = new Set<string>();

  /** Rewrites a selection set whose parent type is `parent`, filling `shape` with the positions below it. */
  const visitSet = (set: SelectionSetNode, parent: GraphQLCompositeType, shape: FetchShape, depth: number, spread: ReadonlySet<string>): SelectionSetNode => {
    const selections = set.selections.map((selection): SelectionNode => {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? (info.schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (!condition) return selection;
        return { ...selection, selectionSet: visitSet(selection.selectionSet, condition, shape, depth, spread) };
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        // A fragment is read for the shape where it is spread; its definition is prepared once below.
        const fragment = fragments.get(selection.name.value);
        if (fragment && !spread.has(fragment.name.value)) {
          const condition = info.schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined;
          if (condition) visitSet(fragment.selectionSet, condition, shape, depth, new Set([...spread, fragment.name.value]));
          spreads.add(fragment.name.value);
        }
        return selection;
      }
      if (!selection.selectionSet || !(isObjectType(parent) || isInterfaceType(parent))) return selection;
      const field = parent.getFields()[selection.name.value];
      if (!field) return selection;
      const type = getNamedType(field.type) as GraphQLNamedType;
      if (!isObjectType(type) && !isAbstractType(type) && !isInterfaceType(type)) return selection;
      const child: FetchShape = {};
      const entities = selection.name.value === '_entities' && depth === 0;
      let inner = visitSet(selection.selectionSet, type as GraphQLCompositeType, child, depth + 1, spread);
      const extra: SelectionNode[] = [];
      if (!entities) {
        if (isObjectType(type)) {
          const key = info.keys.get(type.name);
          if (key) {
            const { add, read } = keyParts(type.name, key, ownLeaves(inner.selections, type.name), keys.get(type.name));
            extra.push(...add);
            child.type = type.name;
            child.keys = new Map([[type.name, read]]);
          }
          if (mutation && depth === 0 && key) {
            for (const reference of references(type, info)) {
              const target = getNamedType(reference.type) as GraphQLObjectType;
              const { add, read } = keyParts(target.name, info.keys.get(target.name)!, new Set(), keys.get(target.name));
              const alias = `${REFERENCE}${reference.name}`;
              extra.push(aliased(alias, reference.name, { kind: Kind.SELECTION_SET, selections: add }));
              (child.fields ??= new Map()).set(alias, { type: target.name, keys: new Map([[target.name, read]]) });
            }
          }
        } else {
          const possible = entityTypesOf(type as GraphQLCompositeType, info) ?? [];
          if (possible.length > 0) {
            const own = ownLeaves(inner.selections, type.name);
            child.typename = own.has('__typename') ? '__typename' : TYPENAME;
            if (child.typename === TYPENAME) extra.push(aliased(TYPENAME, '__typename'));
            child.keys = new Map();
            for (const object of possible) {
              const { add, read } = keyParts(object.name, info.keys.get(object.name)!, new Set(), keys.get(object.name));
              child.keys.set(object.name, read);
              if (add.length > 0) {
                extra.push({ kind: Kind.INLINE_FRAGMENT, typeCondition: { kind: Kind.NAMED_TYPE, name: name(object.name) }, selectionSet: { kind: Kind.SELECTION_SET, selections: add } });
              }
            }
          }
        }
      }
      if (extra.length > 0) {
        changed = true;
        inner = { ...inner, selections: [...inner.selections, ...extra] };
      }
      if (child.type !== undefined || child.typename !== undefined || child.fields) {
        const responseKey = selection.alias?.value ?? selection.name.value;
        shape.fields ??= new Map();
        const existing = shape.fields.get(responseKey);
        if (existing) merge(existing, child);
        else shape.fields.set(responseKey, child);
      }
      return inner === selection.selectionSet ? selection : { ...selection, selectionSet: inner };
    });
    return { ...set, selections };
  };

  const shape: FetchShape = {};
  const selectionSet = visitSet(operation.selectionSet, root, shape, 0, new Set());
  // The fields inside each spread fragment get their keys in the definition itself: the same
  // additions wherever it is spread (the shape read at each spread expects them).
  const preparedFragments = new Map<string, SelectionSetNode>();
  for (const name of spreads) {
    const fragment = fragments.get(name)!;
    const condition = info.schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined;
    if (condition) preparedFragments.set(name, visitSet(fragment.selectionSet, condition, {}, 1, new Set([name])));
  }
  if (!changed) return { shape };
  const rewritten: DocumentNode = {
    ...document,
    definitions: document.definitions.map((d) => {
      if (d === operation) return { ...operation, selectionSet };
      if (d.kind === Kind.FRAGMENT_DEFINITION && preparedFragments.has(d.name.value)) return { ...d, selectionSet: preparedFragments.get(d.name.value)! };
      return d;
    }),
  };
  return { query: print(rewritten), shape };
}

/** Adds the tag of every entity a fetch's response data holds, as its shape says where they are. */
export function tagResponse(data: unknown, shape: FetchShape, into: Set<string>): void {
  if (data === null || typeof data !== 'object') return;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) tagResponse(data[i], shape, into);
    return;
  }
  const record = data as Record<string, unknown>;
  if (shape.keys && !shape.ambiguous) {
    const type = shape.type ?? (shape.typename !== undefined ? record[shape.typename] : undefined);
    const read = typeof type === 'string' ? shape.keys.get(type) : undefined;
    if (read) {
      if (read.fields.length === 1 && read.canonical) {
        const value = record[read.names[0]!];
        if (typeof value === 'string' || typeof value === 'number') into.add(`${type as string}:${value}`);
      } else {
        const values: Record<string, unknown> = {};
        let complete = true;
        for (let i = 0; i < read.fields.length; i++) {
          const value = record[read.names[i]!];
          if (value === undefined || value === null) complete = false;
          else values[read.fields[i]!] = value;
        }
        if (complete) into.add(read.canonical ? entityTag(type as string, values) : `${type as string}:${JSON.stringify(sorted(values))}`);
      }
    }
  }
  if (shape.fields) for (const [key, child] of shape.fields) tagResponse(record[key], child, into);
}

/** Whether an error was raised by a reserved field (its path names one). */
export const isReservedError = (error: { path?: readonly (string | number)[] }): boolean =>
  error.path?.some((segment) => typeof segment === 'string' && segment.startsWith(RESERVED)) ?? false;

/** Every object type an operation can return (type tags), each fragment visited once. */
export function typesOf(document: DocumentNode, schema: GraphQLSchema, operationName?: string): string[] {
  const types = new Set<string>();
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const seen = new Set<string>();
  const add = (type: GraphQLNamedType) => {
    if (isObjectType(type)) types.add(type.name);
    else if (isAbstractType(type)) for (const possible of schema.getPossibleTypes(type)) types.add(possible.name);
  };
  const visitSet = (set: SelectionSetNode, parent: GraphQLCompositeType): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!selection.selectionSet || !(isObjectType(parent) || isInterfaceType(parent))) continue;
        const field = parent.getFields()[selection.name.value];
        if (!field) continue;
        const type = getNamedType(field.type);
        add(type);
        visitSet(selection.selectionSet, type as GraphQLCompositeType);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (condition) visitSet(selection.selectionSet, condition);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        const condition = fragment ? (schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined) : undefined;
        if (fragment && condition) visitSet(fragment.selectionSet, condition);
      }
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName !== undefined ? definition.name?.value !== operationName : false) continue;
    const root = schema.getRootType(definition.operation);
    if (root) visitSet(definition.selectionSet, root);
  }
  return [...types].sort();
}
