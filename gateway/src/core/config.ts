import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { pluginOptionsShape } from '../plugins/options.js';
import { isCidr } from './edge/addresses.js';
import { redisConnectionSchema } from './redis.js';

/** The document Apollo Sandbox opens with, and the query `npm start` prints. */
export const DEMO_QUERY = `query Demo {
  user(id: "u1") {
    name
    orders(first: 5) {
      status
      total {
        amount
        currency
      }
      lines {
        quantity
        product {
          name
          inStock
          reviews(first: 2) {
            rating
          }
        }
      }
    }
  }
}
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const cidr = z.string().refine(isCidr, 'an IPv4 or IPv6 address or CIDR (10.0.0.0/8, fd00::/8)');

const origin = z.string().regex(/^(?:\*|https?:\/\/[^/\s]+)$/, 'an origin like https://app.example.com, http://localhost:*, https://*.example.com or *');

const corsSchema = z.strictObject({
  origins: z
    .array(origin)
    .default([])
    .describe('Origins browsers may call from: exact, `*` for any, `*` in the host (https://*.example.com) or as the port (http://localhost:*).'),
  developmentOrigins: z
    .array(origin)
    .default([])
    .describe('Origins allowed too outside production (NODE_ENV is not production): front-end dev servers such as http://localhost:*.'),
  credentials: z.boolean().default(false).describe('Let browsers send cookies and Authorization (Access-Control-Allow-Credentials). Default false.'),
  maxAgeSeconds: z.number().int().nonnegative().default(600).describe('How long browsers keep a preflight answer. Default 600.'),
  allowHeaders: z
    .array(z.string().regex(/^[A-Za-z0-9-]+$/))
    .default(['content-type', 'authorization', 'x-api-key', 'x-request-id', 'apollographql-client-name', 'apollographql-client-version', 'apollo-require-preflight', 'accept-language'])
    .describe('Request headers browsers may send. Default: content-type, authorization, x-api-key, x-request-id, apollographql-client-name/-version, apollo-require-preflight, accept-language.'),
  exposeHeaders: z
    .array(z.string().regex(/^[A-Za-z0-9-]+$/))
    .default(['x-request-id', 'x-cache', 'age', 'retry-after'])
    .describe('Response headers pages may read. Default: x-request-id, x-cache, age, retry-after.'),
});

const tlsSchema = z.strictObject({
  certFile: z.string().min(1).describe('PEM certificate chain file.'),
  keyFile: z.string().min(1).describe('PEM private key file.'),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Lowest TLS version accepted. Default TLSv1.2.'),
  reloadIntervalMs: z
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('How often the files are checked; a changed pair is served to new connections without a restart. Default 5000.'),
});

const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Interface to listen on. Default 0.0.0.0. Env HOST.'),
    port: z.number().int().min(0).max(65535).default(4000).describe('TCP port; 0 picks a free one. Default 4000. Env PORT.'),
    workers: z
      .union([z.number().int().min(1).max(256), z.literal('auto')])
      .default(1)
      .describe('Gateway processes serving the one port (node:cluster; auto: one per CPU). State shared between them lives in Redis (redis.url), as between replicas; without it each worker keeps its own cache and rate-limit counts. /metrics answers for all. Default 1. Env WORKERS, flag --workers.'),
    heapGrowingPercent: z
      .number()
      .int()
      .min(0)
      .max(400)
      .default(50)
      .describe(
        "How far V8 lets the heap grow past what the last full collection kept before collecting again, in percent (V8's --heap-growing-percent, set at start; a flag given to node wins): 50 holds the peak near one and a half times the live data, where V8's own choice under load reaches four times (on the federation benchmark, peak RSS 208 MB instead of 293, throughput within noise). 0 leaves it to V8. Default 50.",
      ),
    workerGc: z
      .strictObject({
        singleThreaded: z
          .union([z.boolean(), z.literal('auto')])
          .default('auto')
          .describe(
            "Workers collect garbage on their own thread only (V8's --single-threaded-gc). With a worker per core, V8's parallel and concurrent GC threads only take time from the other workers (on deep, 2 workers on 2 cores: 612 req/s against 578 with them). auto: on when workers >= the CPUs available. Default auto.",
          ),
        semiSpaceMb: z
          .number()
          .int()
          .min(0)
          .max(256)
          .default(64)
          .describe(
            "Each worker's V8 semi-space in MB (--max-semi-space-size; the young generation is about three times it): the in-flight requests' objects die young instead of being promoted and marked (one process on deep: 3.24 ms of CPU per request instead of 4.40, about 100 MB more peak RSS). 0 leaves V8's 16. Only settable when a process starts, so it applies to workers, not to a single process (start node with the flag for that). Default 64.",
          ),
      })
      .default({ singleThreaded: 'auto', semiSpaceMb: 64 })
      .describe('V8 flags the primary of --workers N gives each worker; a flag given to node itself wins.'),
    graphqlPath: z
      .string()
      .regex(/^\/[\w\-/]*$/, 'a path starting with /')
      .default('/graphql')
      .describe('Path of the GraphQL endpoint. Default /graphql.'),
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1_048_576)
      .describe('Largest accepted request body in bytes; larger bodies get 413. Default 1048576 (1 MiB).'),
    drainTimeoutMs: z
      .number()
      .int()
      .nonnegative()
      .default(10_000)
      .describe('On SIGTERM/SIGINT, how long in-flight requests may run before connections are cut, in ms. Default 10000.'),
    drainDelayMs: z
      .number()
      .int()
      .nonnegative()
      .max(120_000)
      .default(0)
      .describe('On SIGTERM/SIGINT, how long the gateway keeps accepting and serving while /ready says draining, before it stops listening, in ms: load balancers take it out of rotation meanwhile, and every answer carries Connection: close, so clients leave its connections after a response instead of having an idle one cut. Then drainTimeoutMs applies. Default 0; 5000 on Kubernetes (deploy/kubernetes).'),
    keepAliveTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(65_000)
      .describe('Idle keep-alive timeout of client connections in ms (above common load balancer idle timeouts). Default 65000.'),
    requestTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Time a client has to send a whole request, in ms (slow-loris guard). Default 30000.'),
    requestDeadlineMs: z
      .number()
      .int()
      .nonnegative()
      .default(60_000)
      .describe('A GraphQL request not answered within this many ms gets 504 DEADLINE_EXCEEDED and stops waiting for its subgraph fetches (each ends by subgraphRequests.deadlineMs); 0 turns it off. Default 60000.'),
    cors: corsSchema.optional().describe('CORS for browser clients; absent: no CORS headers (browsers on other origins cannot read answers).'),
    tls: tlsSchema.optional().describe('Serve HTTPS with this certificate and key; absent: plain HTTP (TLS ends at a proxy).'),
    trustedProxies: z
      .array(cidr)
      .default([])
      .describe('Peers (CIDRs) whose X-Forwarded-For is believed for the client address. Default none: the peer is the client.'),
    ipAllow: z.array(cidr).default([]).describe('When not empty, only client addresses in these CIDRs are served (others 403). Default empty.'),
    ipDeny: z.array(cidr).default([]).describe('Client addresses refused with 403 FORBIDDEN. Default empty.'),
    compression: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Compress answers by Accept-Encoding (br, gzip). Default true.'),
        thresholdBytes: z.number().int().nonnegative().default(1024).describe('Smallest answer compressed, in bytes. Default 1024.'),
      })
      .prefault({}),
    batching: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Accept a JSON array of operations in one POST. Default true.'),
        maxOperations: z.number().int().positive().max(100).default(10).describe('Most operations in one batch; more is 400 BATCH_TOO_LARGE. Default 10.'),
      })
      .prefault({}),
  })
  .prefault({});

const supergraphSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default('schema/supergraph.graphql')
      .describe('Supergraph SDL file, relative to the working directory. Default schema/supergraph.graphql. Env SUPERGRAPH_PATH.'),
    watch: z.boolean().default(true).describe('Hot-reload the supergraph when the file changes. Default true.'),
    keepLastGood: z
      .boolean()
      .default(true)
      .describe('Keep each supergraph that loaded beside the file (<path>.last-good); a start on a missing or invalid file then serves that copy, degraded. Default true.'),
    watchDebounceMs: z
      .number()
      .int()
      .nonnegative()
      .default(100)
      .describe('Quiet period after a file change before it is reloaded, in ms. Default 100.'),
  })
  .prefault({});

const graphqlSchema = z
  .strictObject({
    introspection: z
      .boolean()
      .optional()
      .describe('Allow introspection queries. Default true in development, false with NODE_ENV=production.'),
    landingPage: z
      .boolean()
      .optional()
      .describe('Serve the explorer (graphql.explorer) to browsers on GET / and GET /graphql. Default true in development, false in production.'),
    explorer: z
      .enum(['auto', 'sandbox', 'graphiql'])
      .default('auto')
      .describe('The landing page\'s explorer: graphiql (GraphiQL served by the gateway itself, nothing loaded from elsewhere), sandbox (Apollo Sandbox from Apollo\'s CDN, telemetry off), auto (Sandbox when the browser reaches Apollo, else GraphiQL). Default auto.'),
    initialDocument: z
      .string()
      .default(DEMO_QUERY)
      .describe('The operation the explorer opens with. Default: the demo query.'),
    executor: z
      .enum(['frontdesk', 'apollo'])
      .default('frontdesk')
      .describe(
        "Who runs the query plans @apollo/gateway makes: frontdesk (the gateway's own executor of Apollo's plans, the same answers at a fraction of the CPU) or apollo (@apollo/gateway's executor). Subscriptions, @defer, introspection, traced requests and a plan's first request always run on Apollo's. Default frontdesk.",
      ),
  })
  .prefault({});

const loggingSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info').describe('pino log level at start; changed at run time with POST /admin/log-level (role admin). Default info. Env LOG_LEVEL.'),
    collapseRepeatsMs: z
      .number()
      .int()
      .nonnegative()
      .default(10_000)
      .describe('Repeated warnings (same message, subgraph, code...) within this many ms are written once, then one line with their count; 0 writes each. Access log lines are never collapsed. Default 10000.'),
  })
  .prefault({});

/** Redis shared by replicas (features that keep shared state use it): core/redis.ts. */
const redisSchema = redisConnectionSchema;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'host',
  'content-length',
  'content-type',
  'x-request-id',
  // Set by the auth plugin from the verified caller; a client's copy is never forwarded.
  'x-frontdesk-identity',
  'authorization',
  'x-api-key',
]);

const headersSchema = z
  .strictObject({
    propagate: z
      .array(
        z
          .string()
          .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
          .refine((name) => !HOP_BY_HOP.has(name), 'a header the gateway sets itself or that only concerns one hop'),
      )
      .default(['accept-language'])
      .describe('Client request headers passed on to every subgraph. Default [accept-language].'),
  })
  .prefault({});

const subgraphRequestsSchema = z
  .strictObject({
    dedupe: z
      .boolean()
      .default(true)
      .describe('Identical query fetches in flight at once (same subgraph, body and headers but the request id) share one HTTP request. Default true.'),
    connectionsPerOrigin: z.number().int().positive().default(128).describe('Keep-alive connections to each subgraph at most. Default 128.'),
    keepAliveTimeoutMs: z.number().int().positive().default(30_000).describe('How long an idle connection to a subgraph is kept, in ms. Default 30000.'),
    connectTimeoutMs: z.number().int().positive().default(10_000).describe('Longest wait for a TCP (and TLS) connection to a subgraph, in ms; past it the instance counts as unreachable. Default 10000.'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Longest wait for a subgraph\'s response headers, and between two chunks of its body, in ms; past it UPSTREAM_TIMEOUT. Default 30000.'),
    deadlineMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Longest time one subgraph fetch may take in total (a trickling body included), in ms; past it UPSTREAM_TIMEOUT. Default 30000.'),
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024)
      .describe('Largest subgraph response read, in bytes; a larger one is cut off as BAD_UPSTREAM_RESPONSE. Default 33554432 (32 MiB).'),
  })
  .prefault({});

const discoverySchema = z.strictObject({
  name: z.string().min(1).describe('The DNS name: a host whose A/AAAA records are the instances (a Kubernetes headless service), or an SRV name.'),
  record: z.enum(['A', 'AAAA', 'A+AAAA', 'SRV']).default('A+AAAA').describe('Records read. Default A+AAAA.'),
  port: z.number().int().min(1).max(65535).optional().describe('Port of each address (A/AAAA); SRV records carry their own. Default 80, or 443 for https.'),
  scheme: z.enum(['http', 'https']).default('http').describe('Default http.'),
  path: z.string().startsWith('/').default('/graphql').describe('Path of the GraphQL endpoint on each instance. Default /graphql.'),
  servers: z.array(z.string().min(1)).optional().describe('DNS servers to ask (ip or ip:port). Default the system resolver configuration.'),
  minRefreshMs: z.number().int().positive().default(1000).describe('Shortest time between two resolutions, in ms (also the retry period after a failure). Default 1000.'),
  maxRefreshMs: z.number().int().positive().default(60_000).describe('Longest time between two resolutions, in ms; otherwise the records\' TTL decides. Default 60000.'),
});

const subgraphSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Overrides the routing URL composed into the supergraph. Env SUBGRAPH_<NAME>_URL.'),
  urls: z
    .array(z.url({ protocol: /^https?$/ }))
    .min(1)
    .optional()
    .describe('Several instances of the subgraph, balanced by the resilience plugin (round robin without it); hot reloaded with the supergraph and on a change of this file. Env SUBGRAPH_<NAME>_URL with URLs separated by commas.'),
  discovery: discoverySchema.optional().describe('Instances found in DNS (A/AAAA or SRV), re-resolved on the records\' TTL.'),
  connectTimeoutMs: z.number().int().positive().optional().describe('This subgraph\'s connect timeout, in ms. Default subgraphRequests.connectTimeoutMs.'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('This subgraph\'s wait for response headers and between body chunks, in ms. Default subgraphRequests.timeoutMs.'),
  deadlineMs: z.number().int().positive().optional().describe('This subgraph\'s total time per fetch, in ms. Default subgraphRequests.deadlineMs.'),
  maxResponseBytes: z.number().int().positive().optional().describe('The most of this subgraph\'s answer read, in bytes. Default subgraphRequests.maxResponseBytes.'),
}).refine((s) => [s.url, s.urls, s.discovery].filter((v) => v !== undefined).length <= 1, { message: 'set one of url, urls and discovery' });

export const configSchema = z
  .strictObject({
    server: serverSchema,
    supergraph: supergraphSchema,
    graphql: graphqlSchema,
    logging: loggingSchema,
    redis: redisSchema,
    headers: headersSchema,
    subgraphRequests: subgraphRequestsSchema,
    subgraphs: z
      .record(z.string().regex(/^[A-Za-z_][\w-]*$/, 'a subgraph name'), subgraphSchema)
      .default({})
      .describe('Per-subgraph settings keyed by the subgraph name in the supergraph.'),
    ...pluginOptionsShape,
  })
  .describe('Frontdesk gateway configuration (frontdesk.config.yaml).');

export type FrontdeskConfigInput = z.input<typeof configSchema>;
export type FrontdeskConfig = z.output<typeof configSchema> & {
  /** NODE_ENV=production: hides stack traces, and turns introspection and Sandbox off unless set. */
  production: boolean;
  /** Where the configuration came from, for the start-up log. */
  source: string;
  /** Reads the configuration again the same way (the file, the environment, the flags): hot reload of instance lists. */
  reload?: () => FrontdeskConfig;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a config object (already merged with overrides) and fills in defaults. */
export function parseConfig(
  raw: unknown,
  options: { production?: boolean; source?: string } = {},
): FrontdeskConfig {
  const source = options.source ?? 'inline';
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      return `  - ${path}: ${issue.message}${keys}`;
    });
    throw new ConfigError(`Invalid configuration in ${source}:\n${lines.join('\n')}`);
  }
  return { ...result.data, production: options.production ?? false, source };
}

/** Normalised lookup name of a subgraph: lower case, every non-alphanumeric character as `_`. */
export function normalizeSubgraphName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '_');
}

export interface LoadConfigOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const HELP = `Usage: node dist/gateway/src/main.js [--supergraph PATH] [--port N] [--workers N|auto] [--config FILE]

  --supergraph PATH  supergraph SDL to serve (default schema/supergraph.graphql)
  --port N           port to listen on (default 4000; 0 picks a free port)
  --workers N|auto   gateway processes on that port (default 1; auto: one per CPU)
  --config FILE      YAML configuration (default ./frontdesk.config.yaml if present)
  --help             show this text

Environment: PORT, HOST, WORKERS, SUPERGRAPH_PATH, PERMISSIONS_FILE, LOG_LEVEL, FRONTDESK_CONFIG, NODE_ENV,
SUBGRAPH_<NAME>_URL; Redis: REDIS_URL, REDIS_SENTINELS and REDIS_SENTINEL_NAME, REDIS_CLUSTER_NODES,
REDIS_USERNAME, REDIS_PASSWORD, REDIS_KEY_PREFIX. Command-line flags win over the environment, which wins over the file.`;

export class HelpRequested extends Error {
  constructor() {
    super(HELP);
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * `${NAME}` in a string of the YAML file is replaced by environment variable NAME, so secrets
 * (an HMAC key, a Redis password) stay out of the file. An unset variable is a config error,
 * unless a default follows: `${NAME:-default}`.
 */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: string[], file: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if ((found === undefined || found === '') && fallback !== undefined) return fallback;
      if (found === undefined || found === '') {
        throw new ConfigError(`Invalid configuration in ${file}:\n  - ${path.join('.')}: environment variable ${name} is not set`);
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, [...path, String(i)], file));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env, [...path, key], file)]));
  }
  return value;
}

function toPort(value: string, from: string): number | string {
  // Leave an unparsable value as a string so the schema reports it with its key path.
  return /^\d+$/.test(value) ? Number(value) : `${value} (from ${from})`;
}

function toWorkers(value: string, from: string): number | string {
  if (value === 'auto') return value;
  return /^\d+$/.test(value) ? Number(value) : `${value} (from ${from})`;
}

/**
 * The only place that reads the environment: CLI flags, environment variables and the YAML file,
 * merged in that order of precedence and validated by one strict schema.
 */
/**
 * REDIS_URL, REDIS_SENTINELS (+ REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD) or
 * REDIS_CLUSTER_NODES say where Redis is, replacing the file's choice; REDIS_USERNAME,
 * REDIS_PASSWORD and REDIS_KEY_PREFIX apply to any of them.
 */
function applyRedisEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const list = (value: string) => value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const where: Record<string, unknown> | undefined = env.REDIS_URL
    ? { url: env.REDIS_URL }
    : env.REDIS_SENTINELS
      ? {
          sentinel: {
            ...(((raw.redis as Record<string, unknown> | undefined)?.sentinel as Record<string, unknown> | undefined) ?? {}),
            nodes: list(env.REDIS_SENTINELS),
            ...(env.REDIS_SENTINEL_NAME ? { name: env.REDIS_SENTINEL_NAME } : {}),
            ...(env.REDIS_SENTINEL_PASSWORD ? { password: env.REDIS_SENTINEL_PASSWORD } : {}),
          },
        }
      : env.REDIS_CLUSTER_NODES
        ? { cluster: { nodes: list(env.REDIS_CLUSTER_NODES) } }
        : undefined;
  if (where) {
    const redis = raw.redis && typeof raw.redis === 'object' ? (raw.redis as Record<string, unknown>) : {};
    for (const key of ['url', 'sentinel', 'cluster']) delete redis[key];
    raw.redis = { ...redis, ...where };
  }
  if (env.REDIS_USERNAME) setPath(raw, ['redis', 'username'], env.REDIS_USERNAME);
  if (env.REDIS_PASSWORD) setPath(raw, ['redis', 'password'], env.REDIS_PASSWORD);
  if (env.REDIS_KEY_PREFIX !== undefined) setPath(raw, ['redis', 'keyPrefix'], env.REDIS_KEY_PREFIX);
}

export function loadConfig(options: LoadConfigOptions = {}): FrontdeskConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let flags;
  try {
    flags = parseArgs({
      args: options.argv ?? [],
      options: {
        supergraph: { type: 'string' },
        port: { type: 'string' },
        workers: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${HELP}`);
  }
  if (flags.help) throw new HelpRequested();

  const explicitFile = flags.config ?? (env.FRONTDESK_CONFIG || undefined);
  const file = resolve(cwd, explicitFile ?? 'frontdesk.config.yaml');
  let raw: Record<string, unknown> = {};
  let source = 'defaults';
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`Cannot read configuration ${file}: ${(error as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError(`Invalid configuration in ${file}: expected a mapping at the top level`);
      }
      raw = interpolate(parsed, env, [], file) as Record<string, unknown>;
    }
    source = file;
  } else if (explicitFile !== undefined) {
    throw new ConfigError(`Configuration file not found: ${file}`);
  }

  if (env.PORT) setPath(raw, ['server', 'port'], toPort(env.PORT, 'PORT'));
  if (env.HOST) setPath(raw, ['server', 'host'], env.HOST);
  if (env.SUPERGRAPH_PATH) setPath(raw, ['supergraph', 'path'], env.SUPERGRAPH_PATH);
  // Rules for one supergraph's fields (npm start's demo rules): turns authorization on.
  if (env.PERMISSIONS_FILE) setPath(raw, ['authorization', 'permissionsFile'], env.PERMISSIONS_FILE);
  applyRedisEnv(raw, env);
  if (env.LOG_LEVEL) setPath(raw, ['logging', 'level'], env.LOG_LEVEL);
  for (const [key, value] of Object.entries(env)) {
    const match = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    if (!match || !value) continue;
    // SUBGRAPH_LEGACY_CATALOG_URL overrides a file entry named legacy-catalog or legacy_catalog.
    const wanted = match[1]!.toLowerCase();
    const existing = raw.subgraphs && typeof raw.subgraphs === 'object' ? Object.keys(raw.subgraphs) : [];
    const name = existing.find((candidate) => normalizeSubgraphName(candidate) === wanted) ?? wanted;
    // Several URLs separated by commas are several instances.
    const urls = value.split(',').map((url) => url.trim()).filter((url) => url !== '');
    const entry = (raw.subgraphs as Record<string, Record<string, unknown>> | undefined)?.[name];
    if (entry) for (const key of ['url', 'urls', 'discovery']) delete entry[key];
    setPath(raw, ['subgraphs', name, urls.length > 1 ? 'urls' : 'url'], urls.length > 1 ? urls : value);
  }
  if (env.WORKERS) setPath(raw, ['server', 'workers'], toWorkers(env.WORKERS, 'WORKERS'));
  if (flags.port !== undefined) setPath(raw, ['server', 'port'], toPort(flags.port, '--port'));
  if (flags.workers !== undefined) setPath(raw, ['server', 'workers'], toWorkers(flags.workers, '--workers'));
  if (flags.supergraph !== undefined) setPath(raw, ['supergraph', 'path'], flags.supergraph);

  const config = parseConfig(raw, { production: env.NODE_ENV === 'production', source });
  config.supergraph.path = resolve(cwd, config.supergraph.path);
  if (source !== 'defaults') config.reload = () => loadConfig(options);
  return config;
}
