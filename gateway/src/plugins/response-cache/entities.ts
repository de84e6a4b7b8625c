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
export type EntityKeys = Map<string, { fields: string[]; selections: readonly SelectionNode[] }>;

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
      keys.set(name, { fields, selections });
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

/** Builds the shape of the operation to execute; undefined when one response key could hold different object types. */
export function shapeOf(document: DocumentNode, schema: GraphQLSchema, operationName?: string): Shape | undefined {
  const operation = getOperationAST(document, operationName);
  const root = operation ? schema.getRootType(operation.operation) : undefined;
  if (!operation || !root) return undefined;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
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

/** Unaliased leaf fields a selection set selects itself: what the response already holds under its own name. */
function ownLeaves(selections: readonly SelectionNode[]): Set<string> {
  const names = new Set<string>();
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD && !selection.alias && !selection.selectionSet) names.add(selection.name.value);
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
function identifying(type: GraphQLCompositeType, schema: GraphQLSchema, keys: EntityKeys, existing: readonly SelectionNode[], typeIsStatic: boolean): SelectionNode[] {
  const own = ownLeaves(existing);
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
  const typeInfo = new TypeInfo(schema);
  const types = new Set<string>();
  let conflict = false;
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
        leave(node) {
          const type = typeInfo.getParentType();
          if (!type || type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType()) return undefined;
          for (const possible of isAbstractType(type) ? schema.getPossibleTypes(type) : [type as GraphQLObjectType]) types.add(possible.name);
          // Plain value objects (a price) have nothing to identify.
          if (isObjectType(type) && !keys.has(type.name)) return undefined;
          const extra = identifying(type, schema, keys, node.selections, shape !== undefined);
          if (inMutation && depth === 1 && isObjectType(type) && keys.has(type.name)) extra.push(...references(type, keys));
          return { ...node, selections: [...node.selections, ...extra] };
        },
      },
    }),
  );
  return conflict ? undefined : { document: rewritten, types: [...types].sort(), ...(shape ? { shape } : {}) };
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
  const walk = (node: unknown, at: Shape | undefined): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, at);
      return;
    }
    const record = node as Record<string, unknown>;
    // The type the shape fixes, else the reserved alias, else the client's own __typename.
    const typename = at?.type ?? record[TYPENAME] ?? record.__typename;
    if (typeof typename === 'string') {
      const key = keys.get(typename);
      if (key) {
        const values: Record<string, unknown> = {};
        let complete = true;
        for (const field of key.fields) {
          const value = record[`${KEY}${field}`] ?? record[field];
          if (value === undefined || value === null) complete = false;
          values[field] = value;
        }
        if (complete) tags.add(entityTag(typename, values));
      }
    }
    for (const field of Object.keys(record)) {
      if (field.startsWith(RESERVED)) {
        if (field.startsWith(REFERENCE)) walk(record[field], undefined);
        delete record[field];
      } else walk(record[field], at?.fields.get(field));
    }
  };
  walk(result.data, shape);
  if (result.errors) {
    const kept = result.errors.filter((error) => !error.path?.some((segment) => typeof segment === 'string' && segment.startsWith(RESERVED)));
    if (kept.length !== result.errors.length) {
      if (kept.length > 0) result.errors = kept;
      else delete result.errors;
    }
  }
  return tags;
}
