import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeSubgraphs } from '../../schema/composition.js';
import { parseConfig, type FrontdeskConfig, type FrontdeskConfigInput } from '../../gateway/src/core/config.js';
import { createGateway, type RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { createLogger, type Logger } from '../../gateway/src/core/logger.js';
import { projectPath } from '../../subgraphs/shared/paths.js';

export const COMMITTED_SUPERGRAPH = projectPath('schema', 'supergraph.graphql');

/** Config for a gateway under test: loopback, port 0, silent logs, plus the test's settings. */
export function testConfig(input: FrontdeskConfigInput, options: { production?: boolean } = {}): FrontdeskConfig {
  return parseConfig(
    {
      ...input,
      server: { host: '127.0.0.1', port: 0, ...input.server },
      logging: { level: 'silent', ...input.logging },
      supergraph: { watchDebounceMs: 50, ...input.supergraph },
    },
    { production: options.production ?? false, source: 'test' },
  );
}

export function startTestGateway(input: FrontdeskConfigInput, options: { production?: boolean; logger?: Logger } = {}): Promise<RunningGateway> {
  const config = testConfig(input, options);
  return createGateway(config, { logger: options.logger ?? createLogger(config.logging.level) });
}

export function tempDir(prefix = 'frontdesk-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Composes subgraph SDLs into a supergraph file; throws with the composition errors. */
export function composeToFile(path: string, subgraphs: { name: string; url: string; sdl: string }[]): string {
  const outcome = composeSubgraphs(subgraphs.map((s) => ({ ...s, file: `${s.name}.graphql` })));
  if (!outcome.ok) throw new Error(`composition failed:\n${outcome.errors.join('\n')}`);
  writeFileSync(path, outcome.supergraphSdl);
  return outcome.supergraphSdl;
}

export interface GraphQLResult {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

/** POSTs a GraphQL operation as JSON and returns status, headers and the parsed body. */
export async function gql(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<GraphQLResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResult['body'] };
}

/** Polls `check` until it returns true or the time is up. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
