import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildManifest, type Manifest } from '../gateway/src/plugins/persisted-documents/manifest.js';

/**
 * `npm run manifest -- --from DIR --out FILE [--format apollo|relay]`: the trusted documents of a
 * client, built from its .graphql files (every file under DIR): an Apollo persisted query manifest,
 * or Relay's persisted-queries.json. The gateway's persistedDocuments.manifests reads either.
 */

/** Every .graphql file under `dir`, in a stable order. */
export function graphqlFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...graphqlFiles(path));
    else if (/\.(graphql|gql)$/.test(name)) found.push(path);
  }
  return found;
}

export function manifestText(dir: string, format: 'apollo' | 'relay'): string {
  const files = graphqlFiles(dir).map((path) => ({ path: relative(process.cwd(), path), text: readFileSync(path, 'utf8') }));
  if (files.length === 0) throw new Error(`no .graphql files under ${dir}`);
  const manifest: Manifest = buildManifest(files);
  const value = format === 'apollo' ? manifest : Object.fromEntries(manifest.operations.map((op) => [op.id, op.body]));
  return `${JSON.stringify(value, null, 2)}\n`;
}

if (process.argv[1]?.endsWith('manifest.js') || process.argv[1]?.endsWith('manifest.ts')) {
  const usage = 'usage: npm run manifest -- --from DIR --out FILE [--format apollo|relay]\n';
  let values;
  try {
    values = parseArgs({ options: { from: { type: 'string' }, out: { type: 'string' }, format: { type: 'string', default: 'apollo' } } }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (!values.from || !values.out || (values.format !== 'apollo' && values.format !== 'relay')) {
    process.stderr.write(usage);
    process.exit(2);
  }
  try {
    const text = manifestText(resolve(values.from), values.format);
    writeFileSync(resolve(values.out), text);
    const count = (text.match(/"id"|^\s+"[0-9a-f]{64}":/gm) ?? []).length;
    process.stdout.write(`manifest: wrote ${values.out} (${count} operations, ${values.format} format)\n`);
  } catch (error) {
    process.stderr.write(`manifest: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
