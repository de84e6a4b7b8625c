import { createHash } from 'node:crypto';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isCompositeType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  parse,
  print,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type StringValueNode,
  type ListValueNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
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

/** Keeps a selection set valid when all its fields were denied; removed from the response. */
const PLACEHOLDER = '_frontdeskDenied';
const placeholder = (): FieldNode => ({
  kind: Kind.FIELD,
  alias: { kind: Kind.NAME, value: PLACEHOLDER },
  name: { kind: Kind.NAME, value: '__typename' },
});

const SHIELD_OPTIONS = { debug: false, allowExternalErrors: false, fallbackError: new Error('Not authorised'), fallbackRule: undefined, hashFunction: () => '' };

/**
 * Authorization before any subgraph is called: the operation is walked with its fragments
 * inlined, every field checked once (@authenticated, @requiresScopes, the permissions file);
 * denied fields are cut from the document the planner sees, then come back as null with an
 * error at their path, or (reject mode) the whole operation is refused.
 */
export function createAuthorizationPlugin(options: AuthorizationOptions, ctx: PluginContext): FrontdeskPlugin {
  const permissions = options.permissionsFile ? loadPermissions(options.permissionsFile) : new Map<string, ShieldRule>();
  // A rule for a field that does not exist protects nothing: refuse to start with it.
  const fields = new Map<string, Set<string>>();
  for (const definition of parse(ctx.supergraph().originalSdl).definitions) {
    if ('name' in definition && definition.name && 'fields' in definition) {
      fields.set(definition.name.value, new Set((definition.fields ?? []).map((f) => f.name.value)));
    }
  }
  for (const key of permissions.keys()) {
    const [type, field] = key.split('.') as [string, string];
    if (!fields.has(type) || (field !== '*' && !fields.get(type)!.has(field))) {
      throw new Error(`Permissions ${options.permissionsFile}: ${key} is not a field of the supergraph`);
    }
  }
  let directivesFor: { hash: string; value: SecurityDirectives } | undefined;
  const directives = (): SecurityDirectives => {
    const current: LoadedSupergraph = ctx.supergraph();
    if (!options.directives) return { authenticated: new Set(), scopes: new Map() };
    if (directivesFor?.hash !== current.hash) directivesFor = { hash: current.hash, value: readSecurityDirectives(current.originalSdl) };
    return directivesFor.value;
  };

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
    const identity = context.identity;
    const denied = (code: Denial['code']) => {
      cache.set(key, code);
      return code;
    };
    const security = directives();
    const returned = getNamedType(definition.type).name;
    const targets = [`${parent.name}.${name}`, parent.name, returned];
    if (targets.some((t) => security.authenticated.has(t)) && !identity) return denied('UNAUTHENTICATED');
    for (const target of targets) {
      const sets = security.scopes.get(target);
      if (!sets) continue;
      if (!identity) return denied('UNAUTHENTICATED');
      if (!sets.some((all) => all.every((scope) => identity.scopes.includes(scope)))) return denied('FORBIDDEN');
    }
    const rule = permissions.get(`${parent.name}.${name}`) ?? permissions.get(`${parent.name}.*`);
    if (rule) {
      const info = { fieldName: name, parentType: parent, returnType: definition.type, schema, variableValues: variables } as never;
      const result = await rule.resolve({}, args, context as never, info, SHIELD_OPTIONS as never);
      if (result !== true) return denied(identity ? 'FORBIDDEN' : 'UNAUTHENTICATED');
    }
    cache.set(key, null);
    return null;
  }

  /** Inlines fragments and removes denied fields; returns the new selection set and the denials. */
  async function filter(
    context: GatewayContext,
    schema: GraphQLSchema,
    fragments: Map<string, FragmentDefinitionNode>,
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    path: string[],
    nullable: { path: string[]; nullable: boolean }[],
    variables: Record<string, unknown>,
    cache: Map<string, Denial['code'] | null>,
    denials: Denial[],
  ): Promise<SelectionSetNode> {
    const kept: SelectionNode[] = [];
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD || selection.kind === Kind.INLINE_FRAGMENT) {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        const condition = fragment.typeCondition ? (schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType) : parent;
        const inner = await filter(context, schema, fragments, fragment.selectionSet, condition, path, nullable, variables, cache, denials);
        if (inner.selections.length > 0) {
          kept.push({ kind: Kind.INLINE_FRAGMENT, typeCondition: fragment.typeCondition, directives: selection.directives, selectionSet: inner });
        }
        continue;
      }
      const responseKey = selection.alias?.value ?? selection.name.value;
      const fieldPath = [...path, responseKey];
      const code = await check(context, schema, parent, selection, variables, cache);
      const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
      const isNullable = definition ? !isNonNullType(definition.type) : true;
      const chain = [...nullable, { path: fieldPath, nullable: isNullable }];
      if (code) {
        const target = [...chain].reverse().find((c) => c.nullable);
        denials.push({
          path: fieldPath,
          nullAt: target?.path ?? [],
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
          const inner = await filter(context, schema, fragments, selection.selectionSet, named, fieldPath, chain, variables, cache, denials);
          const selections = inner.selections.length > 0 ? inner.selections : [placeholder()];
          kept.push({ ...selection, selectionSet: { ...inner, selections } });
          continue;
        }
      }
      kept.push(selection);
    }
    return { ...selectionSet, selections: kept };
  }

  return {
    name: 'authorization',
    apollo: {
      async requestDidStart() {
        let denials: Denial[] = [];
        return {
          async didResolveOperation(requestContext) {
            const { document, operation, schema, contextValue } = requestContext;
            if (!operation || !document) return;
            const fragments = new Map(
              document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
            );
            const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
            if (!root) return;
            const found: Denial[] = [];
            const selectionSet = await filter(
              contextValue,
              schema,
              fragments,
              operation.selectionSet,
              root,
              [],
              [],
              (requestContext.request.variables ?? {}) as Record<string, unknown>,
              new Map(),
              found,
            );
            if (found.length === 0) return;
            if (options.mode === 'reject') {
              const first = found[0]!;
              throw new GraphQLError(first.message, {
                extensions: { code: first.code, http: { status: first.code === 'UNAUTHENTICATED' ? 401 : 403 } },
              });
            }
            denials = found;
            const selections = selectionSet.selections.length > 0 ? selectionSet.selections : [placeholder()];
            const filtered: OperationDefinitionNode = { ...operation, selectionSet: { ...selectionSet, selections } };
            const rewritten: DocumentNode = { kind: Kind.DOCUMENT, definitions: [filtered] };
            // The planner and its cache see the filtered operation under its own hash.
            const mutable = requestContext as unknown as { document: DocumentNode; operation: OperationDefinitionNode; queryHash: string };
            mutable.document = rewritten;
            mutable.operation = filtered;
            mutable.queryHash = createHash('sha256').update(print(rewritten)).digest('hex');
          },
          async willSendResponse({ response }) {
            if (denials.length === 0 || response.body.kind !== 'single') return;
            const result = response.body.singleResult;
            for (const denial of denials) {
              if (denial.nullAt.length === 0) result.data = null;
              else if (result.data) setNull(result.data, denial.nullAt);
            }
            if (result.data) removePlaceholders(result.data);
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
