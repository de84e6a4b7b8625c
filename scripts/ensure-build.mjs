// `npm start` builds first when dist/ is missing or older than any TypeScript source.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SOURCES = ['gateway', 'subgraphs', 'adapters', 'legacy', 'schema', 'scripts', 'bench'];
const STAMP = 'dist/.build-stamp';

function newest(dir) {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const sourceTime = Math.max(...SOURCES.map(newest), statSync('tsconfig.json').mtimeMs, statSync('tsconfig.build.json').mtimeMs);
const builtTime = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
if (builtTime < sourceTime) {
  process.stderr.write('frontdesk: building (tsc)...\n');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  writeFileSync(STAMP, new Date().toISOString());
}
