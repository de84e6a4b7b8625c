import { z } from 'zod';

/** Leading words of an operation or method name that read (a query); any other is a mutation. */
export const QUERY_VERBS = ['Get', 'List', 'Search', 'Describe', 'Lookup', 'Query', 'Read', 'Fetch', 'Find', 'Count', 'Check', 'Batch Get', 'Stream', 'Watch', 'Aggregate', 'Compute', 'Estimate', 'Preview', 'Test', 'Validate', 'Explain', 'Summarize', 'Analyze', 'Retrieve', 'Calculate', 'Verify', 'Is', 'Has'];

export const queryVerbsSchema = z
  .array(z.string().regex(/^[A-Z][a-z]+( [A-Z][a-z]+)*$/, 'a capitalised verb, e.g. Get or Batch Get'))
  .default(QUERY_VERBS)
  .describe('Leading words of operation names that make a query with include all; any other is a mutation.');

/** Query or mutation by the name's leading verb (`BatchGetX` reads its second word too; `getX` and `get_x` count). */
export function inferKind(name: string, verbs: readonly string[] = QUERY_VERBS): 'query' | 'mutation' {
  const spoken = words(name).map((w) => w[0]!.toUpperCase() + w.slice(1));
  for (const verb of verbs) {
    const parts = verb.split(' ');
    if (parts.every((part, i) => spoken[i] === part)) return 'query';
  }
  return 'mutation';
}

/** Turns wire names (snake_case, kebab-case, dotted, numeric prefixes) into readable GraphQL names. */

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

function safe(name: string, fallback: string): string {
  if (name === '') return fallback;
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export function camelCase(name: string): string {
  const parts = words(name);
  return safe(parts.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join(''), 'field');
}

export function pascalCase(name: string): string {
  return safe(words(name).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(''), 'Type');
}

export function constantCase(name: string): string {
  const result = words(name).map((w) => w.toUpperCase()).join('_');
  return safe(result === 'TRUE' || result === 'FALSE' || result === 'NULL' ? `${result}_` : result, 'VALUE');
}

export function isValidGraphQLName(name: string): boolean {
  return /^[_A-Za-z][_0-9A-Za-z]*$/.test(name) && !name.startsWith('__');
}
