import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { projectPath } from '../subgraphs/shared/paths.js';
import { composeSubgraphs, readSupergraphConfig } from './composition.js';

/**
 * `npm run compose [-- --config schema/supergraph.yaml --out schema/supergraph.graphql]`:
 * composes the registry and writes the supergraph atomically; on errors prints them and exits 1
 * without touching the existing file (so a running gateway keeps serving the last good one).
 */
function main(): number {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const index = args.indexOf(`--${name}`);
    return index !== -1 && args[index + 1] ? args[index + 1]! : fallback;
  };
  const configPath = flag('config', projectPath('schema', 'supergraph.yaml'));
  const outPath = flag('out', projectPath('schema', 'supergraph.graphql'));
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
  if (existsSync(outPath) && readFileSync(outPath, 'utf8') === outcome.supergraphSdl) {
    process.stdout.write(`compose: ${outPath} is up to date (${outcome.subgraphs.map((s) => s.name).join(', ')})\n`);
    return 0;
  }
  const temporary = `${outPath}.tmp-${process.pid}`;
  writeFileSync(temporary, outcome.supergraphSdl);
  renameSync(temporary, outPath);
  process.stdout.write(`compose: wrote ${outPath} (${outcome.subgraphs.map((s) => s.name).join(', ')})\n`);
  return 0;
}

process.exitCode = main();
