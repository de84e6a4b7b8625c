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

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const result = await autocannon(options);
process.stdout.write(JSON.stringify(result));
