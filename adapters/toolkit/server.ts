import { parseArgs } from 'node:util';
import { Kind, parse } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { IdentityVerifierOptions } from '../../gateway/src/plugins/auth/index.js';
import type { Permissions } from '../../subgraphs/shared/permissions.js';
import { identityFromEnv, startSubgraph, type RunningSubgraph } from '../../subgraphs/shared/server.js';
import type { TracingOptions } from '../../gateway/src/core/tracing.js';
import { legacyCallRegistry } from './metrics.js';
import { adapterContext, callerDependence, type AdapterContext } from './context.js';

/** What every adapter's start function takes, besides its own target override. */
export interface AdapterServerOptions {
  mappingPath: string;
  port?: number;
  host?: string;
  logLevel?: string;
  /** Where ${NAME} in the mapping is looked up. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Verify the gateway's identity token (see startSubgraph). */
  identity?: IdentityVerifierOptions;
  /** Traces (see startSubgraph): default from OTEL_EXPORTER_OTLP_* in the environment. */
  tracing?: TracingOptions | false;
}

/**
 * The mapping's permissions plus, for every generated value type the mapping gives no rule, `"*":
 * allow`: a value type (not an entity, so not reachable through `_entities`) is only reached
 * through a field whose own rule the caller passed, so it is readable by whoever may read the
 * field that returns it. Entities and root types keep deny by default.
 */
export function withValueTypeDefaults(sdl: string, permissions: Permissions): Permissions {
  const types = { ...permissions.types };
  for (const definition of parse(sdl, { noLocation: true }).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const name = definition.name.value;
    if (ROOTS.has(name) || name.startsWith('_') || types[name] !== undefined) continue;
    if (definition.directives?.some((d) => d.name.value === 'key')) continue;
    types[name] = { '*': 'allow' };
  }
  return { ...permissions, types };
}

const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);

/** Serves a generated adapter subgraph: its permissions, per-request loaders, `close` on stop. */
export function startAdapterSubgraph(
  options: AdapterServerOptions,
  mapping: { subgraph: string; permissions: Permissions },
  sdl: string,
  resolvers: GraphQLResolverMap<AdapterContext>,
  close: () => Promise<void>,
): Promise<RunningSubgraph> {
  return startSubgraph({
    name: mapping.subgraph,
    sdl,
    resolvers,
    permissions: { rules: withValueTypeDefaults(sdl, mapping.permissions), source: `${options.mappingPath} permissions` },
    context: adapterContext,
    port: options.port,
    host: options.host,
    logLevel: options.logLevel,
    identity: options.identity,
    ...(options.tracing !== undefined ? { tracing: options.tracing } : {}),
    metrics: [legacyCallRegistry],
    onStop: [close],
    privateWhen: callerDependence,
  });
}

/**
 * An adapter as its own process: `node dist/adapters/<kind>/main.js --mapping FILE [--port N]`,
 * PORT, LOG_LEVEL and IDENTITY_JWKS_URL from the environment, graceful stop on SIGTERM/SIGINT.
 */
export async function runAdapterMain(
  name: string,
  script: string,
  defaultPort: number,
  start: (options: AdapterServerOptions) => Promise<RunningSubgraph>,
): Promise<void> {
  const { values } = parseArgs({ options: { mapping: { type: 'string' }, port: { type: 'string' } } });
  if (!values.mapping) {
    process.stderr.write(`usage: node ${script} --mapping FILE [--port N]\n`);
    process.exit(1);
  }
  try {
    const adapter = await start({
      mappingPath: values.mapping,
      port: Number(values.port ?? process.env.PORT ?? defaultPort),
      logLevel: process.env.LOG_LEVEL,
      host: process.env.HOST,
      identity: identityFromEnv(),
    });
    const stop = (): void => void adapter.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } catch (error) {
    process.stderr.write(`${name} adapter failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
