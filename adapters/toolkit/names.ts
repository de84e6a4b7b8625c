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
