import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { projectPath } from '../subgraphs/shared/paths.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateAdapterSchemas } from './adapters.js';
import { composeSubgraphs, readSupergraphConfig } from './composition.js';

/**
 * `npm run compose [-- --config schema/supergraph.yaml --out schema/supergraph.graphql]`:
 * composes the registry and writes the supergraph atomically; on errors prints them and exits 1
 * without touching the existing file (so a running gateway keeps serving the last good one).
 */
function writeAtomically(path: string, text: string): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
  return true;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const index = args.indexOf(`--${name}`);
    return index !== -1 && args[index + 1] ? args[index + 1]! : fallback;
  };
  const configPath = flag('config', projectPath('schema', 'supergraph.yaml'));
  const outPath = flag('out', projectPath('schema', 'supergraph.graphql'));
  if (!args.includes('--skip-adapters')) {
    // Adapter subgraphs have no hand-written SDL: generate it from each spec and mapping first.
    try {
      for (const schema of await generateAdapterSchemas()) {
        const changed = writeAtomically(schema.path, schema.sdl);
        process.stdout.write(`compose: ${changed ? 'generated' : 'unchanged'} ${schema.path} (${schema.subgraph})\n`);
      }
    } catch (error) {
      process.stderr.write(`compose: adapter schema generation failed: ${(error as Error).message}\n`);
      return 1;
    }
  }
  let outcome;
  try {
    outcome = composeSubgraphs(readSupergraphConfig(configPath));
  } catch (error) {
    process.stderr.write(`compose: ${(error as Error).message}\n`);
    return 1;
  }
  for (const hint of outcome.hints) process.stderr.write(`hint ${hint}\n`);
  if (!outcome.ok) {
    for (const error of outcome.errors) process.stderr.write(`error ${error}\n`);
    process.stderr.write(`compose: ${outcome.errors.length} error(s); ${outPath} left unchanged\n`);
    return 1;
  }
  const names = outcome.subgraphs.map((s) => s.name).join(', ');
  const changed = writeAtomically(outPath, outcome.supergraphSdl);
  process.stdout.write(`compose: ${changed ? 'wrote' : 'up to date:'} ${outPath} (${names})\n`);
  return 0;
}

process.exitCode = await main();
