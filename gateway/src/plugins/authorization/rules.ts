import { readFileSync } from 'node:fs';
import { allow, and, deny, not, or, rule } from 'graphql-shield';
import { parse as parseYaml } from 'yaml';
import type { GatewayContext } from '../../core/context.js';
import { permissionsFileSchema, type RuleSpec } from './options.js';

/** A graphql-shield rule (rule, and, or, not, allow, deny); its typings are not exported by path. */
export type ShieldRule = Parameters<typeof and>[number];

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** Compiles the permissions file to graphql-shield rules keyed "Type.field" (or "Type.*"). */
export function loadPermissions(path: string): Map<string, ShieldRule> {
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
  const named = new Map<string, ShieldRule>();
  const compile = (spec: RuleSpec, where: string): ShieldRule => {
    if (spec === 'allow') return allow;
    if (spec === 'deny') return deny;
    const atom = (name: string, check: (ctx: GatewayContext, args: Record<string, unknown>) => boolean) =>
      rule(`${where}:${name}`, { cache: 'no_cache' })((_parent, args, ctx) => check(ctx as GatewayContext, args as Record<string, unknown>));
    if (spec === 'authenticated') return atom('authenticated', (ctx) => ctx.identity !== undefined);
    if ('role' in spec) return atom('role', (ctx) => list(spec.role).some((r) => ctx.identity?.roles.includes(r)));
    if ('scope' in spec) return atom('scope', (ctx) => list(spec.scope).every((s) => ctx.identity?.scopes.includes(s)));
    if ('plan' in spec) return atom('plan', (ctx) => ctx.identity?.plan !== undefined && list(spec.plan).includes(ctx.identity.plan));
    if ('sameUser' in spec) return atom('sameUser', (ctx, args) => ctx.identity !== undefined && args[spec.sameUser] === ctx.identity.id);
    if ('sameTenant' in spec) return atom('sameTenant', (ctx, args) => ctx.identity?.tenant !== undefined && args[spec.sameTenant] === ctx.identity.tenant);
    if ('rule' in spec) {
      const found = named.get(spec.rule) ?? parsed.data.rules[spec.rule];
      if (!found) throw new Error(`Invalid permissions ${path}: ${where} uses unknown rule ${spec.rule}`);
      return typeof found === 'object' && 'resolve' in found ? (found as ShieldRule) : compile(found as RuleSpec, spec.rule);
    }
    if ('and' in spec) return and(...spec.and.map((s, i) => compile(s, `${where}.and.${i}`)));
    if ('or' in spec) return or(...spec.or.map((s, i) => compile(s, `${where}.or.${i}`)));
    return not(compile(spec.not, `${where}.not`));
  };
  for (const [name, spec] of Object.entries(parsed.data.rules)) named.set(name, compile(spec, `rules.${name}`));
  const rules = new Map<string, ShieldRule>();
  for (const [type, fields] of Object.entries(parsed.data.types)) {
    for (const [field, spec] of Object.entries(fields)) rules.set(`${type}.${field}`, compile(spec, `types.${type}.${field}`));
  }
  return rules;
}
