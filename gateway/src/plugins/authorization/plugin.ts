import { createHash } from 'node:crypto';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isCompositeType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isAbstractType,
  parse,
  print,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type StringValueNode,
  type ListValueNode,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values.js';
import type { GatewayContext } from '../../core/context.js';
import type { FrontdeskPlugin, PluginContext } from '../../core/plugin.js';
import type { LoadedSupergraph } from '../../core/supergraph.js';
import type { AuthorizationOptions } from './options.js';
import { loadPermissions, type ShieldRule } from './rules.js';

/** @authenticated and @requiresScopes as the supergraph declares them. */
interface SecurityDirectives {
  authenticated: Set<string>;
  /** "Type" or "Type.field" to OR-of-AND scope sets. */
  scopes: Map<string, string[][]>;
}

export function readSecurityDirectives(sdl: string): SecurityDirectives {
  const result: SecurityDirectives = { authenticated: new Set(), scopes: new Map() };
  const document = parse(sdl);
  const visit = (key: string, directives: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: unknown }[] }[] | undefined) => {
    for (const directive of directives ?? []) {
      if (directive.name.value === 'authenticated') result.authenticated.add(key);
      if (directive.name.value === 'requiresScopes') {
        const value = directive.arguments?.find((a) => a.name.value === 'scopes')?.value as ListValueNode | undefined;
        const sets = (value?.values ?? []).map((inner) => ((inner as ListValueNode).values ?? []).map((s) => (s as StringValueNode).value));
        result.scopes.set(key, [...(result.scopes.get(key) ?? []), ...sets]);
      }
    }
  };
  for (const definition of document.definitions) {
    if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
    const type = definition.name.value;
    visit(type, definition.directives);
    if ('fields' in definition) for (const field of definition.fields ?? []) visit(`${type}.${field.name.value}`, field.directives);
  }
  return result;
}

interface Denial {
  /** Response keys from the root to the denied field (no list indexes). */
  path: string[];
  /** Where null is written: the nearest nullable field at or above the denied one; [] is data. */
  nullAt: string[];
  code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  message: string;
}

/** A denial inside a fragment, relative to where it is spread; nullAt undefined: the null goes above the spread. */
interface RelativeDenial extends Omit<Denial, 'nullAt'> {
  nullAt?: string[];
}

/** A selection set with its denied fields removed, and the denials, relative to its position. */
interface Filtered {
  selectionSet: SelectionSetNode;
  denials: RelativeDenial[];
  /** A placeholder was put where every field of a selection set was denied. */
  placeholder: boolean;
}

/**
 * More denials than this in one operation (a fragment spread in many places denies at each):
 * the operation is refused as a whole instead of listing them.
 */
const MAX_DENIALS = 1_000;

class TooManyDenials extends Error {
  constructor(readonly code: Denial['code']) {
    super('too many denied fields');
  }
}

/** Keeps a selection set valid when all its fields were denied; removed from the response. */
const PLACEHOLDER = '_frontdeskDenied';
const placeholder = (): FieldNode => ({
  kind: Kind.FIELD,
  alias: { kind: Kind.NAME, value: PLACEHOLDER },
  name: { kind: Kind.NAME, value: '__typename' },
});

const SHIELD_OPTIONS = { debug: false, allowExternalErrors: false, fallbackError: new Error('Not authorised'), fallbackRule: undefined, hashFunction: () => '' };

/** Every field name the rules file may name: the fields of each object and interface type of the supergraph. */
function fieldsOf(sdl: string): Map<string, Set<string>> {
  const fields = new Map<string, Set<string>>();
  for (const definition of parse(sdl).definitions) {
    if ('name' in definition && definition.name && 'fields' in definition) {
      const known = fields.get(definition.name.value) ?? new Set<string>();
      for (const field of definition.fields ?? []) known.add(field.name.value);
      fields.set(definition.name.value, known);
    }
  }
  return fields;
}

/** Rules of the permissions file that name a type or field the supergraph does not have. */
export function unknownRuleTargets(ruleKeys: Iterable<string>, sdl: string): string[] {
  const fields = fieldsOf(sdl);
  return [...ruleKeys].filter((key) => {
    const [type, field] = key.split('.') as [string, string];
    return !fields.has(type) || (field !== '*' && !fields.get(type)!.has(field));
  });
}

/**
 * Authorization before any subgraph is called: the operation is walked with its variables
 * coerced as graphql-js does (defaults applied), each fragment once, every field checked once
 * (@authenticated, @requiresScopes, the permissions file; through an interface, the rules of
 * every type that can answer it); denied fields are cut from the document the planner sees,
 * then come back as null with an error at their path, or (reject mode) the whole operation is
 * refused.
 */
export function createAuthorizationPlugin(options: AuthorizationOptions, ctx: PluginContext): FrontdeskPlugin {
  const permissions = options.permissionsFile ? loadPermissions(options.permissionsFile) : new Map<string, ShieldRule>();
  /** A rule for a field the supergraph lacks protects nothing: an error when strict, else a warning. */
  const checkRules = (supergraph: LoadedSupergraph, when: 'start' | 'reload'): void => {
    const unknown = unknownRuleTargets(permissions.keys(), supergraph.originalSdl);
    if (unknown.length === 0) return;
    const message = `Permissions ${options.permissionsFile}: not in the supergraph: ${unknown.join(', ')}`;
    if (options.strict) throw new Error(message);
    ctx.logger.warn({ permissionsFile: options.permissionsFile, unknown, when }, 'permissions name fields the supergraph does not have; those rules protect nothing');
  };
  checkRules(ctx.supergraph(), 'start');
  let directivesFor: { hash: string; value: SecurityDirectives } | undefined;
  const directives = (): SecurityDirectives => {
    const current: LoadedSupergraph = ctx.supergraph();
    if (!options.directives) return { authenticated: new Set(), scopes: new Map() };
    if (directivesFor?.hash !== current.hash) directivesFor = { hash: current.hash, value: readSecurityDirectives(current.originalSdl) };
    return directivesFor.value;
  };

  /** The first denial of the rules of one type or field coordinate, or null. */
  async function checkTarget(
    context: GatewayContext,
    security: SecurityDirectives,
    target: string,
    args: Record<string, unknown>,
    info: () => unknown,
  ): Promise<Denial['code'] | null> {
    const identity = context.identity;
    if (security.authenticated.has(target) && !identity) return 'UNAUTHENTICATED';
    const sets = security.scopes.get(target);
    if (sets) {
      if (!identity) return 'UNAUTHENTICATED';
      if (!sets.some((all) => all.every((scope) => identity.scopes.includes(scope)))) return 'FORBIDDEN';
    }
    if (!target.includes('.')) return null;
    const [type] = target.split('.') as [string, string];
    const rule = permissions.get(target) ?? permissions.get(`${type}.*`);
    if (rule) {
      const result = await rule.resolve({}, args, context as never, info() as never, SHIELD_OPTIONS as never);
      if (result !== true) return identity ? 'FORBIDDEN' : 'UNAUTHENTICATED';
    }
    return null;
  }

  async function check(
    context: GatewayContext,
    schema: GraphQLSchema,
    parent: GraphQLCompositeType,
    field: FieldNode,
    variables: Record<string, unknown>,
    cache: Map<string, Denial['code'] | null>,
  ): Promise<Denial['code'] | null> {
    const name = field.name.value;
    if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) return null;
    const definition = parent.getFields()[name];
    if (!definition) return null;
    const args = getArgumentValues(definition, field, variables);
    const key = `${parent.name}.${name}:${JSON.stringify(args)}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const security = directives();
    const returned = getNamedType(definition.type);
    // Through an interface, any implementing type may answer: its field and type rules apply too;
    // a field returning an abstract type may return any of its possible types.
    const parents: (GraphQLObjectType | GraphQLInterfaceType)[] = [parent, ...(isAbstractType(parent) ? schema.getPossibleTypes(parent) : [])];
    const returns = [returned, ...(isAbstractType(returned) ? schema.getPossibleTypes(returned) : [])];
    const targets = new Set<string>();
    for (const type of parents) {
      if (type !== parent && !type.getFields()[name]) continue;
      targets.add(`${type.name}.${name}`);
      targets.add(type.name);
    }
    for (const type of returns) targets.add(type.name);
    let code: Denial['code'] | null = null;
    for (const target of targets) {
      const owner = target.includes('.') ? (schema.getType(target.split('.')[0]!) as GraphQLObjectType | GraphQLInterfaceType) : undefined;
      const fieldDefinition = owner?.getFields()[name] ?? definition;
      const info = () => ({ fieldName: name, parentType: owner ?? parent, returnType: fieldDefinition.type, schema, variableValues: variables });
      const found = await checkTarget(context, security, target, args, info);
      // UNAUTHENTICATED wins: signing in is what the caller must do first.
      if (found === 'UNAUTHENTICATED') {
        code = found;
        break;
      }
      code ??= found;
    }
    cache.set(key, code);
    return code;
  }

  interface Walk {
    context: GatewayContext;
    schema: GraphQLSchema;
    fragments: Map<string, FragmentDefinitionNode>;
    /** Each fragment filtered once, whatever the number of places it is spread. */
    filteredFragments: Map<string, Filtered | null>;
    variables: Record<string, unknown>;
    cache: Map<string, Denial['code'] | null>;
  }

  /** Denials by path: a fragment spread twice at one place denies there once. */
  const seenPaths = new WeakMap<RelativeDenial[], Set<string>>();
  const add = (into: RelativeDenial[], denial: RelativeDenial): void => {
    let seen = seenPaths.get(into);
    if (!seen) seenPaths.set(into, (seen = new Set()));
    const key = denial.path.join('\u0000');
    if (seen.has(key)) return;
    if (into.length >= MAX_DENIALS) throw new TooManyDenials(denial.code);
    seen.add(key);
    into.push(denial);
  };
  const adopt = (into: RelativeDenial[], from: readonly RelativeDenial[], at: string[], nullAt: string[] | undefined): void => {
    for (const denial of from) {
      add(into, { ...denial, path: [...at, ...denial.path], ...(denial.nullAt ? { nullAt: [...at, ...denial.nullAt] } : nullAt ? { nullAt } : {}) });
    }
  };

  /**
   * Removes denied fields from a selection set whose parent type is `parent`. Paths are relative
   * to `at`; `nullAt` is where a denied non-null field's null goes when nothing nullable lies
   * between (undefined: further up, past a fragment's spread).
   */
  async function filter(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLCompositeType, at: string[], nullAt: string[] | undefined): Promise<Filtered> {
    const kept: SelectionNode[] = [];
    const denials: RelativeDenial[] = [];
    let placed = false;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = await filterFragment(walk, selection.name.value);
        if (!fragment) continue;
        adopt(denials, fragment.denials, at, nullAt);
        placed ||= fragment.placeholder;
        if (fragment.selectionSet.selections.length > 0) kept.push(selection);
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? (walk.schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (!condition) continue;
        const inner = await filter(walk, selection.selectionSet, condition, at, nullAt);
        adopt(denials, inner.denials, [], undefined);
        placed ||= inner.placeholder;
        if (inner.selectionSet.selections.length > 0) kept.push({ ...selection, selectionSet: inner.selectionSet });
        continue;
      }
      const responseKey = selection.alias?.value ?? selection.name.value;
      const fieldPath = [...at, responseKey];
      const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
      const fieldNullAt = !definition || !isNonNullType(definition.type) ? fieldPath : nullAt;
      const code = await check(walk.context, walk.schema, parent, selection, walk.variables, walk.cache);
      if (code) {
        add(denials, {
          path: fieldPath,
          ...(fieldNullAt ? { nullAt: fieldNullAt } : {}),
          code,
          message:
            code === 'UNAUTHENTICATED'
              ? `${parent.name}.${selection.name.value} requires authentication`
              : `Not authorized to access ${parent.name}.${selection.name.value}`,
        });
        continue;
      }
      if (selection.selectionSet && definition) {
        const named = getNamedType(definition.type);
        if (isCompositeType(named)) {
          const inner = await filter(walk, selection.selectionSet, named, fieldPath, fieldNullAt);
          adopt(denials, inner.denials, [], undefined);
          const empty = inner.selectionSet.selections.length === 0;
          placed ||= inner.placeholder || empty;
          kept.push({ ...selection, selectionSet: empty ? { ...inner.selectionSet, selections: [placeholder()] } : inner.selectionSet });
          continue;
        }
      }
      kept.push(selection);
    }
    return { selectionSet: { ...selectionSet, selections: kept }, denials, placeholder: placed };
  }

  async function filterFragment(walk: Walk, name: string): Promise<Filtered | null> {
    const done = walk.filteredFragments.get(name);
    if (done !== undefined) return done;
    const fragment = walk.fragments.get(name);
    const condition = fragment ? (walk.schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined) : undefined;
    // Marked before the walk: validation already refused cycles, this only guards the walk.
    walk.filteredFragments.set(name, null);
    const filtered = fragment && condition ? await filter(walk, fragment.selectionSet, condition, [], undefined) : null;
    walk.filteredFragments.set(name, filtered);
    return filtered;
  }

  return {
    name: 'authorization',
    validateSupergraph(loaded) {
      checkRules(loaded, 'reload');
    },
    apollo: {
      async requestDidStart() {
        let denials: Denial[] = [];
        let placeholders = false;
        return {
          async didResolveOperation(requestContext) {
            const { document, operation, schema, contextValue } = requestContext;
            if (!operation || !document) return;
            const root = schema.getRootType(operation.operation);
            if (!root) return;
            // Variables as the executor will see them; invalid ones are refused by the gateway before any fetch.
            const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], (requestContext.request.variables ?? {}) as Record<string, unknown>);
            if (coerced.errors) return;
            const walk: Walk = {
              context: contextValue,
              schema,
              fragments: new Map(
                document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
              ),
              filteredFragments: new Map(),
              variables: coerced.coerced,
              cache: new Map(),
            };
            let filtered: Filtered;
            try {
              filtered = await filter(walk, operation.selectionSet, root, [], []);
            } catch (error) {
              if (!(error instanceof TooManyDenials)) throw error;
              throw new GraphQLError(`More than ${MAX_DENIALS} fields of this operation are denied to this caller`, {
                extensions: { code: error.code, http: { status: error.code === 'UNAUTHENTICATED' ? 401 : 403 } },
              });
            }
            if (filtered.denials.length === 0) return;
            const found = filtered.denials.map((d): Denial => ({ ...d, nullAt: d.nullAt ?? [] }));
            if (options.mode === 'reject') {
              const first = found[0]!;
              throw new GraphQLError(first.message, {
                extensions: { code: first.code, http: { status: first.code === 'UNAUTHENTICATED' ? 401 : 403 } },
              });
            }
            denials = found;
            const rootEmpty = filtered.selectionSet.selections.length === 0;
            placeholders = filtered.placeholder || rootEmpty;
            const selections = rootEmpty ? [placeholder()] : filtered.selectionSet.selections;
            const kept: OperationDefinitionNode = { ...operation, selectionSet: { ...filtered.selectionSet, selections } };
            // The fragments still spread somewhere, each filtered once.
            const used = new Set<string>();
            const collect = (set: SelectionSetNode): void => {
              for (const selection of set.selections) {
                if (selection.kind === Kind.FRAGMENT_SPREAD) {
                  const name = selection.name.value;
                  const fragment = walk.filteredFragments.get(name);
                  if (used.has(name) || !fragment) continue;
                  used.add(name);
                  collect(fragment.selectionSet);
                } else if (selection.selectionSet) collect(selection.selectionSet);
              }
            };
            collect(kept.selectionSet);
            const fragments = [...used].map((name): FragmentDefinitionNode => ({ ...walk.fragments.get(name)!, selectionSet: walk.filteredFragments.get(name)!.selectionSet }));
            const rewritten: DocumentNode = { kind: Kind.DOCUMENT, definitions: [kept, ...fragments] };
            // The planner and its cache see the filtered operation under its own hash.
            const mutable = requestContext as unknown as { document: DocumentNode; operation: OperationDefinitionNode; queryHash: string };
            mutable.document = rewritten;
            mutable.operation = kept;
            mutable.queryHash = createHash('sha256').update(print(rewritten)).digest('hex');
          },
          async willSendResponse({ response }) {
            if (denials.length === 0 || response.body.kind !== 'single') return;
            const result = response.body.singleResult;
            for (const denial of denials) {
              if (denial.nullAt.length === 0) result.data = null;
              else if (result.data) setNull(result.data, denial.nullAt);
            }
            if (result.data && placeholders) removePlaceholders(result.data);
            const errors = denials.map((d) => ({ message: d.message, path: d.path, extensions: { code: d.code } }));
            result.errors = [...(result.errors ?? []), ...errors];
          },
        };
      },
    },
  };
}

/** Writes null at a response path, through every element of the lists on the way. */
function setNull(node: unknown, path: string[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) setNull(item, path);
    return;
  }
  const record = node as Record<string, unknown>;
  const [head, ...rest] = path;
  if (rest.length === 0) record[head!] = null;
  else setNull(record[head!], rest);
}

function removePlaceholders(node: unknown): void {
  if (Array.isArray(node)) node.forEach(removePlaceholders);
  else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    delete record[PLACEHOLDER];
    Object.values(record).forEach(removePlaceholders);
  }
}
