import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kind, parse, print, visit, type DefinitionNode, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

export interface ManifestOperation {
  id: string;
  name: string | null;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

/** Apollo's persisted query manifest (https://www.apollographql.com/docs/graphos/routing/security/persisted-queries). */
export interface Manifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: ManifestOperation[];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The printed form two spellings of one document share (whitespace, commas and comments aside). */
export function normalized(text: string): string {
  return print(parse(text, { noLocation: true, maxTokens: 20_000 }));
}

/**
 * Reads a manifest file: Apollo's format, or Relay's persisted-queries.json (an object of id to
 * text). Throws with the file and the problem.
 */
export function readManifest(path: string): ManifestOperation[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`persisted documents: cannot read manifest ${path}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`persisted documents: ${path} is neither an Apollo manifest nor a Relay persisted-queries.json`);
  const manifest = raw as { format?: unknown; version?: unknown; operations?: unknown };
  if (manifest.format === 'apollo-persisted-query-manifest') {
    if (manifest.version !== 1 || !Array.isArray(manifest.operations)) throw new Error(`persisted documents: ${path}: only version 1 of the Apollo manifest with an operations list is supported`);
    return manifest.operations.map((entry, i) => {
      const op = entry as Partial<ManifestOperation>;
      if (typeof op.id !== 'string' || typeof op.body !== 'string') throw new Error(`persisted documents: ${path}: operations[${i}] needs a string id and body`);
      return { id: op.id, name: typeof op.name === 'string' ? op.name : null, type: op.type ?? 'query', body: op.body };
    });
  }
  // Relay: { "<id>": "<text>" }
  return Object.entries(raw as Record<string, unknown>).map(([id, body]) => {
    if (typeof body !== 'string') throw new Error(`persisted documents: ${path}: the value of "${id}" is not an operation text`);
    const document = parse(body, { noLocation: true });
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    return { id, name: operation?.kind === Kind.OPERATION_DEFINITION ? (operation.name?.value ?? null) : null, type: operation?.kind === Kind.OPERATION_DEFINITION ? operation.operation : 'query', body };
  });
}

/** The fragments an operation uses, directly or through other fragments. */
function fragmentsUsed(definition: DefinitionNode, fragments: Map<string, FragmentDefinitionNode>, into: Map<string, FragmentDefinitionNode>): void {
  visit(definition, {
    FragmentSpread(node) {
      const name = node.name.value;
      const fragment = fragments.get(name);
      if (!fragment || into.has(name)) return;
      into.set(name, fragment);
      fragmentsUsed(fragment, fragments, into);
    },
  });
}

/**
 * Builds an Apollo manifest from client documents (the text of each .graphql file): one entry per
 * named operation, its body the operation and the fragments it uses (from any of the files),
 * printed by graphql-js; its id the SHA-256 of the body. Throws on an anonymous or duplicate name.
 */
export function buildManifest(files: { path: string; text: string }[]): Manifest {
  const documents: { path: string; document: DocumentNode }[] = files.map(({ path, text }) => {
    try {
      return { path, document: parse(text, { noLocation: true }) };
    } catch (error) {
      throw new Error(`${path}: ${(error as Error).message}`);
    }
  });
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const { path, document } of documents) {
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
      if (fragments.has(definition.name.value)) throw new Error(`${path}: fragment ${definition.name.value} is defined twice`);
      fragments.set(definition.name.value, definition);
    }
  }
  const operations: ManifestOperation[] = [];
  const names = new Set<string>();
  for (const { path, document } of documents) {
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const name = definition.name?.value;
      if (!name) throw new Error(`${path}: every operation of a manifest needs a name`);
      if (names.has(name)) throw new Error(`${path}: operation ${name} is defined twice`);
      names.add(name);
      const used = new Map<string, FragmentDefinitionNode>();
      fragmentsUsed(definition, fragments, used);
      const body = print({ kind: Kind.DOCUMENT, definitions: [definition, ...[...used.values()].sort((a, b) => a.name.value.localeCompare(b.name.value))] });
      operations.push({ id: sha256(body), name, type: definition.operation, body });
    }
  }
  operations.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}
