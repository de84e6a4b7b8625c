import type { CacheHint } from './mapping.js';
import type { ScalarName, Shape } from './shape.js';

export type SdlType =
  | {
      kind: 'object' | 'input';
      name: string;
      fields: { name: string; type: Shape; description?: string; args?: { name: string; type: Shape }[]; directives?: string }[];
      /** Replaces the default @key/@shareable directives of an object type. */
      directives?: string;
    }
  | { kind: 'enum'; name: string; values: string[] }
  | { kind: 'union'; name: string; members: string[] };

export interface RootField {
  name: string;
  description?: string;
  args: { name: string; type: Shape }[];
  type: Shape;
}

const BUILT_IN = new Set(['String', 'ID', 'Int', 'Float', 'Boolean']);
const SCALAR_DOCS: Record<string, string> = {
  DateTime: 'An ISO 8601 date-time, serialised in UTC.',
  Int64: 'A 64-bit integer, as a decimal string so that no digit is lost.',
  JSON: 'Any JSON value; used where the service description does not fix a shape.',
  Decimal: 'An exact decimal number as a string (money never goes through a float).',
  Base64: 'Binary data, base64-encoded.',
  Date: 'A calendar date, YYYY-MM-DD.',
  Duration: 'A duration in seconds with an "s" suffix, e.g. "3600s".',
};

export function typeRef(shape: Shape): string {
  const inner = shape.kind === 'list' ? `[${typeRef(shape.of)}]` : shape.kind === 'scalar' ? shape.scalar : shape.name;
  return shape.nullable ? inner : `${inner}!`;
}

function describe(text: string | undefined, indent = ''): string {
  if (!text) return '';
  return `${indent}${JSON.stringify(text.replace(/\s+/g, ' ').trim())}\n`;
}

/** Argument names that bound how many items a list field returns, in the service descriptions seen in the wild. */
const SLICING = new Set(['first', 'last', 'limit', 'pageSize', 'page_size', 'perPage', 'per_page', 'size', 'count', 'maxResults', 'max_results', 'top', 'take']);

/**
 * `@listSize` of a root field returning a list with an integer argument that bounds it: the
 * gateway's cost estimate then counts the items the caller asked for instead of a default.
 */
function listSize(field: RootField): string {
  if (field.type.kind !== 'list') return '';
  // Composition takes Int slicing arguments only (an Int64 `limit`, a string in GraphQL, is not one).
  const slicing = field.args.filter((a) => a.type.kind === 'scalar' && a.type.scalar === 'Int' && SLICING.has(a.name)).map((a) => JSON.stringify(a.name));
  return slicing.length > 0 ? ` @listSize(slicingArguments: [${slicing.join(', ')}], requireOneSlicingArgument: false)` : '';
}

function hint(h: CacheHint | undefined): string {
  if (!h) return '';
  return ` @cacheControl(maxAge: ${h.maxAge}${h.scope ? `, scope: ${h.scope}` : ''})`;
}

/**
 * Renders a generated federated subgraph SDL: the federation link, the cache-control directive,
 * the scalars in use, @key on entities, @shareable on value types and @cacheControl hints (value
 * types without one inherit their parent's max-age).
 * Output is deterministic so the committed copy can be checked for staleness.
 */
export function renderSubgraphSdl(input: {
  types: SdlType[];
  query: RootField[];
  mutation: RootField[];
  keys: Map<string, string>;
  hints: Map<string, CacheHint>;
  scalars: Set<ScalarName>;
  /** Federation directives used beyond @key and @shareable (e.g. @external, @requires). */
  imports?: string[];
}): string {
  const out: string[] = [];
  const sized = [...input.query, ...input.mutation].some((f) => listSize(f) !== '');
  const imports = ['@key', '@shareable', ...(input.imports ?? []), ...(sized ? ['@listSize'] : [])].map((i) => JSON.stringify(i)).join(', ');
  out.push(
    `extend schema\n  @link(url: "https://specs.apollo.dev/federation/${sized ? 'v2.9' : 'v2.5'}", import: [${imports}])\n`,
    '"Cache hints read by Apollo Server\'s cache control; the gateway combines them from every subgraph."\n' +
      'directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION\n',
    'enum CacheControlScope {\n  PUBLIC\n  PRIVATE\n}\n',
  );
  for (const scalar of [...input.scalars].filter((s) => !BUILT_IN.has(s)).sort()) {
    out.push(`${describe(SCALAR_DOCS[scalar])}scalar ${scalar}\n`);
  }
  const rootBlock = (name: string, fields: RootField[]): void => {
    if (fields.length === 0) return;
    const lines = fields.map((f) => {
      const args = f.args.length > 0 ? `(${f.args.map((a) => `${a.name}: ${typeRef(a.type)}`).join(', ')})` : '';
      return `${describe(f.description, '  ')}  ${f.name}${args}: ${typeRef(f.type)}${listSize(f)}${hint(input.hints.get(`${name}.${f.name}`))}`;
    });
    out.push(`type ${name} {\n${lines.join('\n')}\n}\n`);
  };
  // A value type (a price, a dimension) without its own hint lives as long as the field holding it;
  // by Apollo's rules it would otherwise make every response that selects it uncacheable.
  const typeHint = (name: string, entity: boolean): string => {
    const own = input.hints.get(name);
    if (own || entity) return hint(own);
    return ' @cacheControl(inheritMaxAge: true)';
  };
  rootBlock('Query', input.query);
  rootBlock('Mutation', input.mutation);
  for (const type of input.types) {
    switch (type.kind) {
      case 'enum':
        out.push(`enum ${type.name} {\n${type.values.map((v) => `  ${v}`).join('\n')}\n}\n`);
        break;
      case 'union':
        out.push(`union ${type.name} = ${type.members.join(' | ')}\n`);
        break;
      case 'input':
      case 'object': {
        const key = input.keys.get(type.name);
        const directives =
          type.kind === 'input' ? '' : `${type.directives ?? (key ? ` @key(fields: "${key}")` : ' @shareable')}${typeHint(type.name, Boolean(key))}`;
        const fields = type.fields.map((f) => {
          const args = f.args && f.args.length > 0 ? `(${f.args.map((a) => `${a.name}: ${typeRef(a.type)}`).join(', ')})` : '';
          const extra = type.kind === 'object' ? `${f.directives ?? ''}${hint(input.hints.get(`${type.name}.${f.name}`))}` : '';
          return `${describe(f.description, '  ')}  ${f.name}${args}: ${typeRef(f.type)}${extra}`;
        });
        out.push(`${type.kind === 'input' ? 'input' : 'type'} ${type.name}${directives} {\n${fields.join('\n')}\n}\n`);
        break;
      }
    }
  }
  return out.join('\n');
}
