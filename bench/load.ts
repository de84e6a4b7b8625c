import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Runs autocannon through its API in a process of its own and prints its result as JSON, like
 * its CLI's --json. The API, because the CLI's argument parser cannot take a header holding
 * autocannon's `[<id>]` (per-request id) placeholder, and a body id would break the
 * content-length autocannon computes for ids of one length.
 * `node dist/bench/load.js '<json options>'`
 */
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<unknown>;

// The options as JSON, or `@FILE` holding them (bodies past the argument size limit).
const argument = process.argv[2] ?? '{}';
const options = JSON.parse(argument.startsWith('@') ? readFileSync(argument.slice(1), 'utf8') : argument) as Record<string, unknown>;
const result = await autocannon(options);
process.stdout.write(JSON.stringify(result));
