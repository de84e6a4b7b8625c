import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const supergraphConfigSchema = z.strictObject({
  federation_version: z
    .union([z.string().regex(/^=?2(\.\d+){0,2}$/, 'a federation 2 version like =2.5.0'), z.number().int().min(2).max(2)])
    .optional(),
  subgraphs: z.record(
    z.string().regex(/^[A-Za-z_][\w-]*$/, 'a subgraph name'),
    z.strictObject({
      routing_url: z.url({ protocol: /^https?$/ }),
      schema: z.strictObject({ file: z.string().min(1) }),
    }),
  ),
});

export interface SubgraphSource {
  name: string;
  url: string;
  file: string;
  sdl: string;
}

export type CompositionOutcome =
  | { ok: true; supergraphSdl: string; hints: string[]; subgraphs: SubgraphSource[] }
  | { ok: false; errors: string[]; hints: string[] };

/** Reads rover's supergraph.yaml and each subgraph's SDL file; throws with the file and problem. */
export function readSupergraphConfig(configPath: string): SubgraphSource[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new Error(`${configPath}: ${(error as Error).message}`);
  }
  const parsed = supergraphConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${configPath} is not a valid supergraph config:\n${lines.join('\n')}`);
  }
  return Object.entries(parsed.data.subgraphs).map(([name, entry]) => {
    const file = resolve(dirname(configPath), entry.schema.file);
    let sdl: string;
    try {
      sdl = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`subgraph ${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return { name, url: entry.routing_url, file, sdl };
  });
}

function codeOf(error: unknown): string {
  const extensions = (error as { extensions?: { code?: unknown } }).extensions;
  return typeof extensions?.code === 'string' ? extensions.code : 'COMPOSITION_ERROR';
}

/** Composes subgraph SDLs with @apollo/composition; errors name the subgraph, the code and the message. */
export function composeSubgraphs(subgraphs: SubgraphSource[]): CompositionOutcome {
  const services = [];
  const errors: string[] = [];
  for (const subgraph of subgraphs) {
    try {
      services.push({ name: subgraph.name, url: subgraph.url, typeDefs: parse(subgraph.sdl, { noLocation: false }) });
    } catch (error) {
      errors.push(`[${subgraph.name}] GRAPHQL_PARSE_FAILED: ${(error as Error).message} (${subgraph.file})`);
    }
  }
  if (errors.length > 0) return { ok: false, errors, hints: [] };
  const result = composeServices(services);
  const hints = (result.hints ?? []).map((hint) => `${hint.definition.code}: ${hint.message}`);
  if (result.errors) {
    return {
      ok: false,
      hints,
      errors: result.errors.map((error) => {
        const message = error.message;
        // Composition errors name subgraphs in the message as [name]; keep that and add the code.
        return `${codeOf(error)}: ${message}`;
      }),
    };
  }
  return { ok: true, supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`, hints, subgraphs };
}
