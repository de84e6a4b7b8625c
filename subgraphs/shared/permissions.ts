import { GraphQLError, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, deny, shield } from 'graphql-shield';
import type { Identity } from '../../gateway/src/core/context.js';
import { permissionsFileSchema, type Permissions } from '../../gateway/src/plugins/authorization/options.js';
import { compilePermissions, readPermissionsFile, type ShieldRule } from '../../gateway/src/plugins/authorization/rules.js';

export { permissionsFileSchema, readPermissionsFile, type Permissions };

/** What federation itself needs: the gateway's entity fetches and its SDL query. */
const FEDERATION: Record<string, Record<string, ShieldRule>> = {
  Query: { _entities: allow, _service: allow },
  _Service: { sdl: allow },
};

/**
 * graphql-shield middleware for a subgraph or adapter, with the data: deny by default (every
 * field of every object type needs a rule), federation's `_entities` and `_service` allowed, and
 * denials coded FORBIDDEN (UNAUTHENTICATED for anonymous callers). Resolver errors pass through
 * with their own codes. Rules naming a type or field the schema lacks stop the start-up.
 */
export function applyPermissions(schema: GraphQLSchema, permissions: Permissions, source: string): GraphQLSchema {
  const compiled = compilePermissions(permissions, source, 'subgraph');
  const tree: Record<string, Record<string, ShieldRule>> = {};
  for (const [key, compiledRule] of compiled) {
    const [type, field] = key.split('.') as [string, string];
    if (FEDERATION[type]?.[field] !== undefined) throw new Error(`Permissions ${source}: ${key} is federation's own and always allowed`);
    const definition = schema.getType(type);
    if (!definition || !('getFields' in definition) || (field !== '*' && !definition.getFields()[field])) {
      throw new Error(`Permissions ${source}: ${key} is not a field of this subgraph`);
    }
    (tree[type] ??= {})[field] = compiledRule;
  }
  for (const [type, fields] of Object.entries(FEDERATION)) {
    const definition = schema.getType(type);
    if (!definition || !('getFields' in definition)) continue;
    const present = Object.entries(fields).filter(([field]) => definition.getFields()[field] !== undefined);
    tree[type] = { ...Object.fromEntries(present), ...tree[type] };
  }
  const middleware = shield(tree, {
    fallbackRule: deny,
    allowExternalErrors: true,
    fallbackError: (thrown: unknown, _parent: unknown, _args: unknown, ctx: unknown, info: GraphQLResolveInfo) => {
      if (thrown) return thrown as Error;
      const identity = (ctx as { identity?: Identity } | undefined)?.identity;
      const where = `${info.parentType.name}.${info.fieldName}`;
      return identity
        ? new GraphQLError(`Not authorized to access ${where}`, { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError(`${where} requires authentication`, { extensions: { code: 'UNAUTHENTICATED' } });
    },
  });
  return applyMiddleware(schema, middleware);
}
