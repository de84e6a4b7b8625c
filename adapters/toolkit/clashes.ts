import { Kind, parse } from 'graphql';

/** Types every subgraph may define alike: the root types and federation's own. */
const SHARED = new Set(['Query', 'Mutation', 'Subscription', 'CacheControlScope', '_Any', '_Entity', '_Service', 'FieldSet', 'link__Import', 'link__Purpose', 'federation__FieldSet', 'federation__Scope', 'federation__Policy', 'federation__ContextFieldValue']);

/** Names of the types and scalars an SDL defines or extends. */
function definedTypes(sdl: string): Set<string> {
  const names = new Set<string>();
  for (const definition of parse(sdl, { noLocation: true }).definitions) {
    if ('name' in definition && definition.name && definition.kind !== Kind.DIRECTIVE_DEFINITION && definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION) {
      names.add(definition.name.value);
    }
  }
  return names;
}

/**
 * Types of a generated subgraph whose names other subgraphs define already (not scalars alike:
 * a shared `DateTime` scalar composes): composition would merge two unrelated types of one name,
 * so the generator is given a type prefix (`typePrefix`) instead.
 */
export function clashingTypes(generatedSdl: string, others: readonly string[]): string[] {
  const ours = parse(generatedSdl, { noLocation: true }).definitions.flatMap((d) => (d.kind !== Kind.SCALAR_TYPE_DEFINITION && 'name' in d && d.name && d.kind !== Kind.DIRECTIVE_DEFINITION ? [d.name.value] : []));
  const theirs = new Set<string>();
  for (const sdl of others) for (const name of definedTypes(sdl)) theirs.add(name);
  return [...new Set(ours)].filter((name) => !SHARED.has(name) && theirs.has(name)).sort();
}
