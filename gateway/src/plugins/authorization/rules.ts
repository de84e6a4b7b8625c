import { readFileSync } from 'node:fs';
import { allow, and, deny, not, or, rule } from 'graphql-shield';
import { parse as parseYaml } from 'yaml';
import type { Identity } from '../../core/context.js';
import { permissionsFileSchema, type Permissions, type RuleSpec } from './options.js';

/**
 * The one module of authorization rules, used by the gateway (before planning) and by every
 * subgraph and adapter (graphql-shield middleware, with the data): a permissions document of
 * atoms combined with graphql-shield's and/or/not/allow/deny.
 */

/** A graphql-shield rule (rule, and, or, not, allow, deny); its typings are not exported by path. */
export type ShieldRule = Parameters<typeof and>[number];

/** Where rules run: the gateway has no data yet, so `owner` is for subgraphs only. */
export type RuleLayer = 'gateway' | 'subgraph';

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** Reads a dotted path (`input.customerId`) from arguments or a parent object. */
export function valueAt(source: unknown, path: string): unknown {
  let node = source;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const isUser = (identity: Identity | undefined): identity is Identity => identity?.kind === 'user';
/** Ids compare as strings: an ID argument may arrive as a number. */
const same = (value: unknown, expected: string) => (typeof value === 'string' || typeof value === 'number') && String(value) === expected;

/** Reads and validates a permissions YAML file; errors name the file, the key path and the problem. */
export function readPermissionsFile(path: string): Permissions {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read permissions ${path}: ${(error as Error).message}`);
  }
  const parsed = permissionsFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`Invalid permissions ${path}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/**
 * Compiles permissions to graphql-shield rules keyed "Type.field" (or "Type.*"). `source` names
 * the file in errors. Atoms read `context.identity`, the same shape at the gateway and in
 * subgraphs (there it comes from the gateway's signed identity token).
 */
export function compilePermissions(permissions: Permissions, source: string, layer: RuleLayer): Map<string, ShieldRule> {
  const named = new Map<string, ShieldRule>();
  const compiling = new Set<string>();
  const compile = (spec: RuleSpec, where: string): ShieldRule => {
    if (spec === 'allow') return allow;
    if (spec === 'deny') return deny;
    const atom = (name: string, check: (identity: Identity | undefined, args: Record<string, unknown>, parent: unknown) => boolean) =>
      rule(`${where}:${name}`, { cache: 'no_cache' })((parent, args, ctx) =>
        check((ctx as { identity?: Identity } | undefined)?.identity, args as Record<string, unknown>, parent),
      );
    if (spec === 'authenticated') return atom('authenticated', (identity) => identity !== undefined);
    if ('role' in spec) return atom('role', (identity) => list(spec.role).some((r) => identity?.roles.includes(r)));
    if ('scope' in spec) return atom('scope', (identity) => list(spec.scope).every((s) => identity?.scopes.includes(s)));
    if ('plan' in spec) return atom('plan', (identity) => identity?.plan !== undefined && list(spec.plan).includes(identity.plan));
    if ('sameUser' in spec) return atom('sameUser', (identity, args) => isUser(identity) && same(valueAt(args, spec.sameUser), identity.id));
    if ('sameTenant' in spec) {
      return atom('sameTenant', (identity, args) => identity?.tenant !== undefined && same(valueAt(args, spec.sameTenant), identity.tenant));
    }
    if ('owner' in spec) {
      if (layer === 'gateway') throw new Error(`Invalid permissions ${source}: ${where} uses owner, which needs the data: put it in the subgraph`);
      return atom('owner', (identity, _args, parent) => isUser(identity) && same(valueAt(parent, spec.owner), identity.id));
    }
    if ('rule' in spec) {
      const found = named.get(spec.rule);
      if (found) return found;
      const definition = permissions.rules[spec.rule];
      if (!definition) throw new Error(`Invalid permissions ${source}: ${where} uses unknown rule ${spec.rule}`);
      if (compiling.has(spec.rule)) throw new Error(`Invalid permissions ${source}: rule ${spec.rule} refers to itself`);
      compiling.add(spec.rule);
      const compiled = compile(definition, `rules.${spec.rule}`);
      compiling.delete(spec.rule);
      named.set(spec.rule, compiled);
      return compiled;
    }
    if ('and' in spec) return and(...spec.and.map((s, i) => compile(s, `${where}.and.${i}`)));
    if ('or' in spec) return or(...spec.or.map((s, i) => compile(s, `${where}.or.${i}`)));
    return not(compile(spec.not, `${where}.not`));
  };
  for (const name of Object.keys(permissions.rules)) compile({ rule: name }, `rules.${name}`);
  const rules = new Map<string, ShieldRule>();
  for (const [type, fields] of Object.entries(permissions.types)) {
    for (const [field, spec] of Object.entries(fields)) rules.set(`${type}.${field}`, compile(spec, `types.${type}.${field}`));
  }
  return rules;
}

/** The gateway's permissions file, compiled. */
export function loadPermissions(path: string): Map<string, ShieldRule> {
  return compilePermissions(readPermissionsFile(path), path, 'gateway');
}
