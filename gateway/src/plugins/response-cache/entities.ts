import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * Entity tags need `__typename` and the key of every entity in a response, whether the client
 * selected them or not. The cache adds them to the operation under reserved aliases before
 * planning (the planner fetches keys anyway to join subgraphs, so this costs little), reads them
 * from the result and removes them before anything else sees the response.
 */
export const RESERVED = '__fd_';
const TYPENAME = `${RESERVED}t`;
const KEY = `${RESERVED}k_`;
const REFERENCE = `${RESERVED}r_`;

/** Entity types of the supergraph and the fields of the key each is tagged by. */
/** The key of each entity type: its fields, the reserved alias each is read under, and its selections. */
export type EntityKeys = Map<string, { fields: string[]; aliases: string[]; selections: readonly SelectionNode[] }>;

/**
 * Reads `@join__type(key: ...)` from the supergraph SDL: the first key of each entity type, kept
 * only where every key field is part of the API schema.
 */
export function entityKeysOf(supergraphSdl: string, apiSchema: GraphQLSchema): EntityKeys {
  const keys: EntityKeys = new Map();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const name = definition.name.value;
    if (keys.has(name)) continue;
    const type = apiSchema.getType(name);
    if (!isObjectType(type)) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'join__type') continue;
      const key = directive.arguments?.find((a) => a.name.value === 'key')?.value;
      if (key?.kind !== Kind.STRING) continue;
      const selections = (parse(`{ ${key.value} }`).definitions[0] as { selectionSet: SelectionSetNode }).selectionSet.selections;
      const fields = selections.map((s) => (s as FieldNode).name.value);
      if (!fields.every((field) => field in type.getFields())) continue;
      keys.set(name, { fields, aliases: fields.map((field) => `${KEY}${field}`), selections });
      break;
    }
  }
  return keys;
}

export interface PreparedOperation {
  /** The operation with the reserved fields added. */
  document: DocumentNode;
  /** Every object type the operation can return (type tags; an empty list still holds its type). */
  types: string[];
  /** The static type of each response position; undefined where the operation leaves it ambiguous. */
  shape?: Shape;
  /** Whether any reserved field was added (then every result must be walked to remove them). */
  reserved: boolean;
}

/**
 * The response tree of an operation as its selections define it: for each response key, the
 * object type found there when the schema fixes it (undefined below interfaces and unions). Where
 * the type is fixed, the cache needs no `__typename` to tag an entity, only its key.
 */
export interface Shape {
  type?: string;
  fields: Map<string, Shape>;
}

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

const fragmentsOf = (document: DocumentNode): Fragments =>
  new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));

/** Builds the shape of the operation to execute; undefined when one response key could hold different object types. */
export function shapeOf(document: DocumentNode, schema: GraphQLSchema, operationName?: string): Shape | undefined {
  const operation = getOperationAST(document, operationName);
  const root = operation ? schema.getRootType(operation.operation) : undefined;
  if (!operation || !root) return undefined;
  const fragments = fragmentsOf(document);
  let ambiguous = false;
  const fill = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, shape: Shape, spread: ReadonlySet<string>): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!selection.selectionSet) continue;
        const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
        if (!definition) continue;
        const named = getNamedType(definition.type) as GraphQLCompositeType;
        const type = isObjectType(named) ? named.name : undefined;
        const key = selection.alias?.value ?? selection.name.value;
        let child = shape.fields.get(key);
        if (!child) shape.fields.set(key, (child = { ...(type ? { type } : {}), fields: new Map() }));
        else if (child.type !== type) ambiguous = true;
        fill(selection.selectionSet, named, child, spread);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        fill(selection.selectionSet, type as GraphQLCompositeType, shape, spread);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || spread.has(fragment.name.value)) continue;
        const type = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType;
        fill(fragment.selectionSet, type, shape, new Set([...spread, fragment.name.value]));
      }
    }
  };
  const shape: Shape = { fields: new Map() };
  fill(operation.selectionSet, root, shape, new Set());
  return ambiguous ? undefined : shape;
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const aliased = (alias: string, field: string, selectionSet?: SelectionSetNode): FieldNode => ({
  kind: Kind.FIELD,
  alias: name(alias),
  name: name(field),
  ...(selectionSet ? { selectionSet } : {}),
});

/**
 * Unaliased leaf fields a selection set is sure to put in the response under their own names: its
 * own, and those of the fragments that always apply there (no type condition, or the parent type
 * itself, as `...User` on a User). A selection under `@skip`, `@include` or any other directive
 * may be left out, so it does not count.
 */
function ownLeaves(selections: readonly SelectionNode[], parentType: string, fragments: Fragments, names = new Set<string>(), seen = new Set<string>()): Set<string> {
  for (const selection of selections) {
    if (selection.directives?.length) continue;
    if (selection.kind === Kind.FIELD) {
      if (!selection.alias && !selection.selectionSet) names.add(selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition || selection.typeCondition.name.value === parentType) ownLeaves(selection.selectionSet.selections, parentType, fragments, names, seen);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment?.typeCondition.name.value === parentType) ownLeaves(fragment.selectionSet.selections, parentType, fragments, names, seen);
    }
  }
  return names;
}

function keySelections(type: string, keys: EntityKeys, own: ReadonlySet<string> = new Set()): FieldNode[] {
  const key = keys.get(type);
  if (!key) return [];
  return key.selections.flatMap((selection) => {
    const field = selection as FieldNode;
    if (!field.selectionSet && own.has(field.name.value)) return [];
    return [aliased(`${KEY}${field.name.value}`, field.name.value, field.selectionSet)];
  });
}

/**
 * `__typename` plus the key: for an object type directly (without `__typename` where the
 * operation's shape fixes the type), for an abstract type per entity type. Fields the client
 * selected itself unaliased (Apollo Client adds `__typename` everywhere, most
 * clients select `id`) are read under their own names instead of being fetched twice.
 */
function identifying(
  type: GraphQLCompositeType,
  schema: GraphQLSchema,
  keys: EntityKeys,
  existing: readonly SelectionNode[],
  fragments: Fragments,
  typeIsStatic: boolean,
): SelectionNode[] {
  const own = ownLeaves(existing, type.name, fragments);
  if (isObjectType(type)) {
    const typename = own.has('__typename') || typeIsStatic ? [] : [aliased(TYPENAME, '__typename')];
    return [...typename, ...keySelections(type.name, keys, own)];
  }
  const selections: SelectionNode[] = own.has('__typename') ? [] : [aliased(TYPENAME, '__typename')];
  for (const possible of schema.getPossibleTypes(type)) {
    const fields = keySelections(possible.name, keys);
    if (fields.length === 0) continue;
    const fragment: InlineFragmentNode = {
      kind: Kind.INLINE_FRAGMENT,
      typeCondition: { kind: Kind.NAMED_TYPE, name: name(possible.name) },
      selectionSet: { kind: Kind.SELECTION_SET, selections: fields },
    };
    selections.push(fragment);
  }
  return selections;
}

/** Single entity fields without required arguments: the entities a mutation's result points at. */
function references(type: GraphQLObjectType, keys: EntityKeys): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const field of Object.values(type.getFields())) {
    const wrapped = isNonNullType(field.type) ? field.type.ofType : field.type;
    if (isListType(wrapped)) continue;
    const target = getNamedType(field.type);
    if (!isObjectType(target) || !keys.has(target.name)) continue;
    if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) continue;
    fields.push(
      aliased(`${REFERENCE}${field.name}`, field.name, {
        kind: Kind.SELECTION_SET,
        selections: [aliased(TYPENAME, '__typename'), ...keySelections(target.name, keys)],
      }),
    );
  }
  return fields;
}

/**
 * Adds the reserved fields to every selection set of an operation; for mutations, also the
 * entities that each returned entity references (a new review's product), so that a mutation
 * purges what it changed even when the client selected none of it. Undefined when the client
 * itself uses a reserved alias: such an operation is not cached.
 */
export function prepareOperation(document: DocumentNode, schema: GraphQLSchema, keys: EntityKeys, operationName?: string): PreparedOperation | undefined {
  const shape = shapeOf(document, schema, operationName);
  const fragments = fragmentsOf(document);
  const typeInfo = new TypeInfo(schema);
  const types = new Set<string>();
  let conflict = false;
  let reserved = false;
  let depth = 0;
  let inMutation = false;
  const rewritten = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition: {
        enter(node) {
          inMutation = node.operation === 'mutation';
        },
        leave() {
          inMutation = false;
        },
      },
      FragmentDefinition: {
        enter() {
          inMutation = false;
        },
      },
      Field: {
        enter(node) {
          if (node.alias?.value.startsWith(RESERVED) || node.name.value.startsWith(RESERVED)) conflict = true;
          depth += 1;
        },
        leave() {
          depth -= 1;
        },
      },
      SelectionSet: {
        leave(node, _key, parent) {
          const type = typeInfo.getParentType();
          if (!type || type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType()) return undefined;
          for (const possible of isAbstractType(type) ? schema.getPossibleTypes(type) : [type as GraphQLObjectType]) types.add(possible.name);
          // A field's selection set identifies what it returns, looking into the fragments it
          // spreads; the selection sets of those fragments need nothing of their own.
          if (!parent || Array.isArray(parent) || (parent as ASTNode).kind !== Kind.FIELD) return undefined;
          // Plain value objects (a price) have nothing to identify.
          if (isObjectType(type) && !keys.has(type.name)) return undefined;
          const extra = identifying(type, schema, keys, node.selections, fragments, shape !== undefined);
          if (inMutation && depth === 1 && isObjectType(type) && keys.has(type.name)) extra.push(...references(type, keys));
          if (extra.length === 0) return undefined;
          reserved = true;
          return { ...node, selections: [...node.selections, ...extra] };
        },
      },
    }),
  );
  return conflict ? undefined : { document: rewritten, types: [...types].sort(), ...(shape ? { shape } : {}), reserved };
}

/** The tag of one entity: `Product:p1`, or the type and its key as JSON when the key has several fields. */
export function entityTag(type: string, key: Record<string, unknown>): string {
  const fields = Object.keys(key).sort();
  if (fields.length === 1) {
    const value = key[fields[0]!];
    if (typeof value === 'string' || typeof value === 'number') return `${type}:${value}`;
  }
  return `${type}:${JSON.stringify(Object.fromEntries(fields.map((f) => [f, key[f]])))}`;
}

/**
 * Collects the entity tags of a result and removes every reserved field from it, in place, in one
 * walk; errors raised only by the reserved fields are dropped too.
 */
export function extractEntities(
  result: { data?: Record<string, unknown> | null; errors?: readonly { path?: readonly (string | number)[] }[] },
  keys: EntityKeys,
  shape?: Shape,
): Set<string> {
  const tags = new Set<string>();
  const tagOf = (typename: string, { fields, aliases }: { fields: string[]; aliases: string[] }, record: Record<string, unknown>): string | undefined => {
    if (fields.length === 1) {
      const value = record[aliases[0]!] ?? record[fields[0]!];
      if (typeof value === 'string' || typeof value === 'number') return `${typename}:${value}`;
      if (value === undefined || value === null) return undefined;
    }
    const values: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const value = record[aliases[i]!] ?? record[fields[i]!];
      if (value === undefined || value === null) return undefined;
      values[fields[i]!] = value;
    }
    return entityTag(typename, values);
  };
  // Hot on every cached miss: no arrays per object, and scalars are never visited.
  const walk = (node: object, at: Shape | undefined): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (item !== null && typeof item === 'object') walk(item, at);
      }
      return;
    }
    const record = node as Record<string, unknown>;
    // The type the shape fixes, else the reserved alias, else the client's own __typename.
    const typename = at?.type ?? record[TYPENAME] ?? record.__typename;
    if (typeof typename === 'string') {
      const key = keys.get(typename);
      if (key) {
        const tag = tagOf(typename, key, record);
        if (tag !== undefined) tags.add(tag);
      }
    }
    for (const field in record) {
      const value = record[field];
      if (field.startsWith(RESERVED)) {
        if (field.startsWith(REFERENCE) && value !== null && typeof value === 'object') walk(value, undefined);
        delete record[field];
      } else if (value !== null && typeof value === 'object') walk(value, at?.fields.get(field));
    }
  };
  if (result.data) walk(result.data, shape);
  if (result.errors) {
    const kept = result.errors.filter((error) => !error.path?.some((segment) => typeof segment === 'string' && segment.startsWith(RESERVED)));
    if (kept.length !== result.errors.length) {
      if (kept.length > 0) result.errors = kept;
      else delete result.errors;
    }
  }
  return tags;
}
