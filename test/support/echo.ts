import { GraphQLError } from 'graphql';
import type { IdentityVerifierOptions } from '../../gateway/src/plugins/auth/index.js';
import { startSubgraph, type RunningSubgraph, type SubgraphContext } from '../../subgraphs/shared/server.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { readFileSync } from 'node:fs';

/** How often protected fields were resolved: a denied field must never reach the subgraph. */
export const echoCalls = { secret: 0 };

export const ECHO_SCHEMA_PATH = projectPath('test', 'fixtures', 'echo', 'schema.graphql');

/** The echo SDL without the `added` field: version 1 of the hot-reload test. */
export function echoSdl(options: { withAdded: boolean }): string {
  const sdl = readFileSync(ECHO_SCHEMA_PATH, 'utf8');
  return options.withAdded ? sdl : sdl.replace(/\n\s*"Present only[^\n]*\n\s*added: String/, '');
}

export function startEcho(options: { identity?: IdentityVerifierOptions } = {}): Promise<RunningSubgraph> {
  return startSubgraph<SubgraphContext>({
    name: 'echo',
    identity: options.identity,
    sdl: echoSdl({ withAdded: true }),
    // The gateway's authorization is under test with echo: the subgraph itself lets every field through.
    permissions: { rules: { rules: {}, types: { Query: { '*': 'allow' } } }, source: 'echo' },
    logLevel: 'silent',
    context: (base) => base,
    resolvers: {
      Query: {
        requestId: (_: unknown, __: unknown, ctx: SubgraphContext) => ctx.headers['x-request-id'] ?? null,
        header: (_: unknown, args: { name: string }, ctx: SubgraphContext) => {
          const value = ctx.headers[args.name.toLowerCase()];
          return Array.isArray(value) ? value.join(', ') : (value ?? null);
        },
        slow: async (_: unknown, args: { ms: number }) => {
          await new Promise((resolve) => setTimeout(resolve, args.ms));
          return `slept ${args.ms}ms`;
        },
        boom: () => {
          throw new GraphQLError('connect ECONNREFUSED db-internal.corp.example:5432');
        },
        added: () => 'the new field',
        secret: () => {
          echoCalls.secret += 1;
          return 'the secret';
        },
        scoped: () => 'scoped value',
        strict: () => 'strict value',
        whoami: (_: unknown, __: unknown, ctx: SubgraphContext) => (ctx.identity ? JSON.stringify(ctx.identity) : null),
      },
    },
  });
}
