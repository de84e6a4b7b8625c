import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { composeSubgraphs } from '../schema/composition.js';
import { DEMO_QUERY } from '../gateway/src/core/config.js';
import { IdentitySigner } from '../gateway/src/plugins/auth/index.js';
import { projectPath } from '../subgraphs/shared/paths.js';
import { DEEP_QUERY, FEDERATION_QUERY, SUBGRAPH_SDL } from './federation/schemas.js';
import { BENCH_TMP, cpuMs, freePort, load, machine, median, peakRssMb, post, rssMb, startProcess, summarize, type LoadResult, type Proc, type Row } from './harness.js';

/**
 * `npm run bench [-- --smoke] [-- --scenario NAME]` (default: every scenario). Each gateway runs
 * built, in its own process, over subgraphs in processes of their own, with load from a separate
 * autocannon process; variants are measured in turn A B C A B C..., and every variant's answer is
 * checked equal to the baseline's (and free of errors) before any load.
 *   federation  Frontdesk in its production configuration against vanilla Apollo Gateway and
 *               Hive Gateway, on the federation benchmark's four fixture subgraphs.
 *   cache-hit   the same query from Frontdesk's response cache against a bare node:http server
 *               writing the same bytes (the ceiling of any Node gateway).
 *   features    Frontdesk with each feature alone against Frontdesk with none.
 *   legacy      the five-subgraph demo query through the real adapters and legacy stand-ins
 *               (cache off): requests per second and legacy calls per query.
 *   auth        authentication and authorization before planning, over accounts and reviews.
 *   cache       the response cache's hit and bypass paths on top of auth+authz.
 *   resilience  the shipped resilience policies over two reviews instances, one of them down,
 *               against both up; and the time to shed load when a subgraph hangs (SIGSTOP).
 *   hostile     the shipped config refusing each class of hostile request, against a trivial query.
 *   logs        the gateway's own log under sustained mixed load (--log-minutes).
 *   soak        mixed traffic at a fixed rate for --soak-minutes (10) at --soak-rate (200/s): RSS
 *               and heap over time; not part of a full run (20 s of it in --smoke).
 * `--profile` writes a V8 CPU profile of every Frontdesk process to bench/results/.tmp/profiles;
 * every process's output is in bench/results/.tmp/*.log.
 */
const SCENARIOS = ['federation', 'deep', 'cache-hit', 'features', 'legacy', 'auth', 'cache', 'resilience', 'hostile', 'logs', 'soak'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '32' },
    profile: { type: 'boolean', default: false },
    variants: { type: 'string' },
    'log-minutes': { type: 'string' },
    'soak-minutes': { type: 'string' },
    'soak-rate': { type: 'string' },
  },
});
/** `--variants a,b` (or `a|b` for names holding a comma): measure only these variants of a scenario (its baseline always). */
const onlyVariants = values.variants ? new Set(values.variants.split(values.variants.includes('|') ? '|' : ',').map((v) => v.trim())) : undefined;
// A full run leaves the soak out (10 minutes of its own: --scenario soak); a smoke run has it short.
const chosen = values.scenario === undefined || values.scenario === 'all' ? SCENARIOS.filter((name) => name !== 'soak' || values.smoke) : [values.scenario];
if (!chosen.every((name): name is ScenarioName => (SCENARIOS as readonly string[]).includes(name))) {
  process.stderr.write(`bench: unknown scenario ${values.scenario} (known: ${SCENARIOS.join(', ')}, all)\n`);
  process.exit(2);
}
const smoke = values.smoke;
const rounds = Number(values.rounds ?? (smoke ? 1 : 3));
const durationSeconds = Number(values.duration ?? (smoke ? 1 : 10));
const connections = Number(values.connections);

const SECRET = 'bench-hmac-secret-of-at-least-32-characters';
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ACCOUNTS_QUERY = '{ users(first: 20) { edges { node { id name memberSince reviews(first: 3) { rating body product { id reviewCount } } } } } }';
const TMP = BENCH_TMP;
const AUTH = { jwt: { algorithms: ['HS256'], hmacSecret: SECRET }, identity: { privateKeyPem: IDENTITY_KEY } };

interface Variant {
  name: string;
  /** Starts the gateway under test on `port`; resolves once it is ready. */
  start(port: number): Promise<Proc>;
  /** Extra request headers of this variant. */
  headers?: Record<string, string>;
  /** Every request carries an x-bench-id of its own, a vary header of the variant's cache: it can never hit, only store. */
  unique?: boolean;
  /** Uses the local Redis: its commands per request are reported. */
  redis?: boolean;
}

interface Scenario {
  name: ScenarioName;
  /** What the scenario measures, for the results file. */
  about: string;
  baseline: string;
  query: string;
  headers: Record<string, string>;
  variants: Variant[];
  /** The legacy stand-ins' base URLs for /_admin/stats and /_admin/reset, to count their calls per query. */
  legacy?: Record<string, string>;
  /** Where the fixture subgraphs count the fetches they received (GET, `{ fetches }`). */
  fetchCounter?: string;
  /** A measurement of its own after the rounds (markdown for the report, data for the JSON). */
  extra?: () => Promise<{ markdown: string; data: unknown }>;
}

/** Frontdesk (the built CLI) on a config written for the variant, in production mode. */
function frontdesk(name: string, config: object, options: { headers?: Record<string, string>; logLevel?: string; unique?: boolean } = {}): Variant {
  return {
    name,
    ...('redis' in config ? { redis: true } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.unique ? { unique: true } : {}),
    async start(port) {
      const file = join(TMP, `${name.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, JSON.stringify(config));
      // --profile: a V8 CPU profile of every Frontdesk run, written when the process exits.
      const nodeArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(TMP, 'profiles')}`] : [];
      return startProcess('dist/gateway/src/main.js', ['--config', file, '--port', String(port)], { NODE_ENV: 'production', LOG_LEVEL: options.logLevel ?? 'error' }, `http://127.0.0.1:${port}/ready`, { nodeArgs });
    },
  };
}

const POST_TYPENAME: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' };

const stops: (() => Promise<void> | void)[] = [];

/** The JWKS of the identity key every Frontdesk variant signs with, served here for the subgraphs. */
let jwks: Promise<string> | undefined;
function jwksUrl(): Promise<string> {
  jwks ??= (async () => {
    const body = JSON.stringify(await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: IDENTITY_KEY }).jwks);
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => void server.close());
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  })();
  return jwks;
}

/** An OTLP/HTTP endpoint that takes every export and keeps nothing (for the tracing variant). */
let sink: Promise<string> | undefined;
function otlpSink(): Promise<string> {
  sink ??= (async () => {
    let exports = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        exports += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => {
      process.stdout.write(`tracing sink: ${exports} exports received\n`);
      server.close();
    });
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/traces`;
  })();
  return sink;
}

/** Starts `node script` on a free PORT (plus env) and waits for its /ready; stopped at the end. */
async function service(script: string, env: Record<string, string> = {}, args: string[] = []): Promise<{ port: number; url: string }> {
  const port = await freePort();
  const readyPort = env.ADMIN_PORT ?? String(port);
  const proc = await startProcess(script, args, { PORT: String(port), ...env }, `http://127.0.0.1:${readyPort}/ready`);
  stops.push(() => proc.stop());
  return { port, url: `http://127.0.0.1:${port}/graphql` };
}

/** accounts and reviews as their own processes, verifying identity tokens against the bench's JWKS. */
let ours: Promise<Record<string, { url: string }>> | undefined;
function ourSubgraphs(): Promise<Record<string, { url: string }>> {
  ours ??= (async () => {
    const identity = { IDENTITY_JWKS_URL: await jwksUrl() };
    const [accounts, reviews] = [await service('dist/subgraphs/accounts/main.js', identity), await service('dist/subgraphs/reviews/main.js', identity)];
    return { accounts: { url: accounts.url }, reviews: { url: reviews.url } };
  })();
  return ours;
}

/** The legacy stand-ins and the three adapter subgraphs over them, each its own process. */
async function legacyStack(): Promise<{ subgraphs: Record<string, { url: string }>; standIns: Record<string, string> }> {
  const secrets = { ERP_USERNAME: 'bench', ERP_PASSWORD: 'bench-secret', CATALOG_ADMIN_TOKEN: 'bench-admin' };
  const identity = { IDENTITY_JWKS_URL: await jwksUrl(), ...secrets };
  const catalog = await service('dist/legacy/catalog/main.js', secrets);
  const erp = await service('dist/legacy/erp/main.js', secrets);
  const warehouseAdmin = await freePort();
  const warehouse = await service('dist/legacy/warehouse/main.js', { ADMIN_PORT: String(warehouseAdmin) });
  const mapping = (name: string, kind: string) => ['--mapping', projectPath('adapters', 'services', name, `${name}.${kind}.yaml`)];
  const products = await service('dist/adapters/rest/main.js', { ...identity, TARGET_URL: `http://127.0.0.1:${catalog.port}` }, mapping('products', 'rest'));
  const inventory = await service('dist/adapters/grpc/main.js', { ...identity, TARGET_ADDRESS: `127.0.0.1:${warehouse.port}` }, mapping('inventory', 'grpc'));
  const orders = await service('dist/adapters/soap/main.js', { ...identity, TARGET_URL: `http://127.0.0.1:${erp.port}/soap/orders` }, mapping('orders', 'soap'));
  return {
    subgraphs: { ...(await ourSubgraphs()), products: { url: products.url }, inventory: { url: inventory.url }, orders: { url: orders.url } },
    standIns: { catalog: `http://127.0.0.1:${catalog.port}`, erp: `http://127.0.0.1:${erp.port}`, warehouse: `http://127.0.0.1:${warehouseAdmin}` },
  };
}

/** The four federation fixture subgraphs (one process per data scale) and the supergraph composed over them. */
const federation = new Map<string, Promise<string>>();
let fetchCounter = '';
const fetchCounters = new Map<string, string>();
function federationSupergraph(scale: 'default' | 'deep' = 'default'): Promise<string> {
  const started = federation.get(scale);
  if (started) {
    fetchCounter = fetchCounters.get(scale) ?? fetchCounter;
    return started;
  }
  const made = (async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const proc = await startProcess('dist/bench/federation/subgraphs.js', ports.map(String), { FIXTURE_SCALE: scale }, `http://127.0.0.1:${ports[3]}/`);
    fetchCounter = `http://127.0.0.1:${ports[0]}/_stats`;
    fetchCounters.set(scale, fetchCounter);
    stops.push(() => proc.stop());
    const names = ['accounts', 'inventory', 'products', 'reviews'] as const;
    const outcome = composeSubgraphs(names.map((name, i) => ({ name, url: `http://127.0.0.1:${ports[i]}/graphql`, file: `${name}.graphql`, sdl: SUBGRAPH_SDL[name] })));
    if (!outcome.ok) throw new Error(`federation fixtures do not compose:\n${outcome.errors.join('\n')}`);
    const path = join(TMP, `federation-${scale}.graphql`);
    writeFileSync(path, outcome.supergraphSdl);
    return path;
  })();
  federation.set(scale, made);
  return made;
}

/** One class of hostile request: its body and the code it must be refused with. */
interface HostileClass {
  name: string;
  body: string;
  code?: string;
}

function hostileClasses(): HostileClass[] {
  let nested = 'id';
  for (let i = 0; i < 6; i += 1) nested = `reviews { author { ${nested} } }`;
  const chain = Array.from({ length: 40 }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`).join(' ');
  const json = (value: unknown) => JSON.stringify(value);
  return [
    { name: 'trivial query', body: json({ query: '{ __typename }' }) },
    { name: 'deep nesting', body: json({ query: `{ user(id: "u1") { ${nested} } }` }), code: 'QUERY_TOO_COMPLEX' },
    { name: 'alias flood (5,000)', body: json({ query: `{ ${Array.from({ length: 5000 }, (_, i) => `a${i}: product(id: "p1") { name }`).join(' ')} }` }), code: 'QUERY_TOO_COMPLEX' },
    { name: 'duplicate fields (20,000)', body: json({ query: `{ ${'__typename '.repeat(20_000)}}` }), code: 'QUERY_TOO_COMPLEX' },
    { name: 'fragment chain (2^40)', body: json({ query: `{ user(id: "u1") { ...F0 } } ${chain} fragment F40 on User { name }` }), code: 'QUERY_TOO_COMPLEX' },
    { name: 'directive flood', body: json({ query: `{ __typename ${'@skip(if: false) '.repeat(60)}}` }), code: 'QUERY_TOO_COMPLEX' },
    { name: 'costly list', body: json({ query: '{ products(first: 100000) { name reviews { rating } } }' }), code: 'QUERY_TOO_COMPLEX' },
    { name: 'batch over the limit', body: json(Array.from({ length: 11 }, () => ({ query: '{ __typename }' }))), code: 'BATCH_TOO_LARGE' },
    { name: 'malformed JSON', body: '{"query": "{ __typename }"', code: 'BAD_REQUEST' },
    { name: 'unknown operationName', body: json({ query: 'query A { __typename }', operationName: 'B' }), code: 'OPERATION_RESOLUTION_FAILURE' },
  ];
}

/**
 * The shipped frontdesk.config.yaml's admission and edge settings (limits, persisted documents,
 * CORS, compression, batching, deadline) on the committed supergraph, in production mode.
 */
async function measureHostile(): Promise<void> {
  const shipped = await shippedConfig();
  const { cors, compression, batching, requestDeadlineMs } = shipped.server;
  const config = {
    logging: { level: 'error' },
    supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false },
    graphql: { landingPage: false },
    server: { cors, compression, batching, requestDeadlineMs },
    limits: shipped.limits,
    persistedDocuments: { ...shipped.persistedDocuments, manifests: shipped.persistedDocuments?.manifests.map((m) => ({ ...m, path: projectPath(m.path) })) },
  };
  const classes = hostileClasses();
  const rows: Row[] = [];
  const port = await freePort();
  const gateway = await frontdesk('shipped', config).start(port);
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    for (const hostile of classes) {
      const answer = await post(url, hostile.body, {});
      const code = answer.status === 200 ? undefined : (JSON.parse(answer.text) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
      if (hostile.code ? answer.status < 400 || answer.status >= 500 || code !== hostile.code : answer.status !== 200) {
        throw new Error(`hostile: ${hostile.name} answered ${answer.status} ${answer.text.slice(0, 200)}`);
      }
    }
    for (let round = 1; round <= rounds; round += 1) {
      for (const hostile of classes) {
        await load({ url, body: hostile.body, headers: {}, connections, durationSeconds: smoke ? 1 : 2 });
        const cpuBefore = cpuMs(gateway.pid);
        const result = await load({ url, body: hostile.body, headers: {}, connections, durationSeconds });
        const cpu = cpuMs(gateway.pid) - cpuBefore;
        // A refusal is the expected answer: only transport errors and timeouts count as errors here.
        const errors = hostile.code ? result.errors - result.non2xx + (result.requests - result.non2xx) : result.errors;
        const row: Row = { variant: hostile.name, round, rps: result.rps, p50: result.p50, p99: result.p99, errors, cpuMsPerRequest: result.requests > 0 ? cpu / result.requests : NaN, peakRssMb: peakRssMb(gateway.pid) };
        rows.push(row);
        process.stdout.write(`hostile round ${round} ${hostile.name}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, ${row.errors} errors, ${row.cpuMsPerRequest.toFixed(3)} CPU ms/req\n`);
      }
    }
  } finally {
    await gateway.stop();
  }
  const summary = summarize(rows, 'trivial query');
  const sizes = classes.map((c) => `- ${c.name}: ${c.body.length} bytes${c.code ? `, refused ${c.code}` : ''}`).join('\n');
  const about = 'Frontdesk with the shipped config\'s limits, persisted documents and edge settings (production mode) refusing each class of hostile request, against a trivial query it answers. A ratio near or above 1 means refusing costs no more than answering `{ __typename }`; errors count only transport failures and requests that were not refused.';
  const table = `${summary.table}\n\nRequest bodies:\n${sizes}`;
  process.stdout.write(`\nhostile:\n${table}\n`);
  if (!smoke) {
    const report = `# Benchmark: hostile\n\n${about}\n\n${machine()}; ${connections} connections, ${durationSeconds} s per run, ${rounds} round(s) alternating classes.\n\n${table}\n\nReproduce: \`npm run build && npm run bench -- --scenario hostile\`.\n`;
    writeFileSync(projectPath('bench', 'results', 'hostile.md'), report);
    showInReadme('hostile', report.slice(report.indexOf('\n\n') + 2));
    writeFileSync(projectPath('bench', 'results', 'hostile.json'), `${JSON.stringify({ machine: machine(), connections, durationSeconds, rounds, rows, medians: summary.medians }, null, 2)}\n`);
  }
  const failed = rows.filter((r) => r.errors > 0);
  if (failed.length > 0) throw new Error(`hostile: errors under load: ${failed.map((r) => `${r.variant} round ${r.round}: ${r.errors}`).join(', ')}`);
}

/**
 * The gateway's log under sustained mixed load with the shipped logging settings (access-log
 * sampling, collapsed repeated warnings, level info): successes, invalid operations (400) and
 * queries of a dead subgraph (partial answers, a warning per fetch), for --log-minutes (default 10;
 * 2 s with --smoke). Reports lines and bytes per second and checks that every request with errors
 * has its own line (against the gateway's own count on /metrics); then the same for a tenth of the time with sampling and collapsing off.
 */
async function measureLogs(): Promise<void> {
  const shipped = await shippedConfig();
  const { accounts } = await ourSubgraphs();
  const dead = `http://127.0.0.1:${await freePort()}/graphql`;
  const minutes = Number(values['log-minutes'] ?? 10);
  const seconds = smoke ? 2 : Math.round(minutes * 60);
  const base = {
    logging: { level: 'info', collapseRepeatsMs: shipped.logging.collapseRepeatsMs },
    supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false },
    graphql: { landingPage: false },
    subgraphs: { accounts, reviews: { url: dead } },
    accessLog: shipped.accessLog,
    // The gateway's own count of answers with errors, to check the log against.
    metrics: shipped.metrics ?? {},
  };
  const unbounded = { ...base, logging: { level: 'info', collapseRepeatsMs: 0 }, accessLog: { ...shipped.accessLog, sampling: { successesPerSecond: 1_000_000_000, ratio: 1 } } };
  const bodies = {
    success: JSON.stringify({ query: 'query Users { users(first: 5) { edges { node { id name } } } }' }),
    invalid: JSON.stringify({ query: 'query Invalid { nope }' }),
    dead: JSON.stringify({ query: 'query Dead { review(id: "r1") { rating } }' }),
  };
  const run = async (label: string, config: object, duration: number) => {
    const port = await freePort();
    const gateway = await frontdesk(label, config, { logLevel: 'info' }).start(port);
    const url = `http://127.0.0.1:${port}/graphql`;
    let results;
    let answeredWithErrors = 0;
    try {
      results = await Promise.all([
        load({ url, body: bodies.success, headers: {}, connections: Math.max(1, connections - 4), durationSeconds: duration }),
        load({ url, body: bodies.invalid, headers: {}, connections: 2, durationSeconds: duration }),
        load({ url, body: bodies.dead, headers: {}, connections: 2, durationSeconds: duration }),
      ]);
      // Every load has ended: the gateway's count of answers with errors is final.
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      answeredWithErrors = [...metrics.matchAll(/^frontdesk_graphql_request_duration_seconds_count\{[^}]*outcome="(?:partial|refused|failed)"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    } finally {
      // Stopped gracefully: its last lines (and the collapsed warnings' counts) are written.
      await gateway.stop({ keepLog: true });
    }
    const [success, invalid, deadResult] = results;
    const text = readFileSync(gateway.logFile, 'utf8');
    rmSync(gateway.logFile, { force: true });
    const lines = text.split('\n').filter((line) => line.startsWith('{'));
    const byMessage = new Map<string, number>();
    for (const line of lines) {
      const msg = (JSON.parse(line) as { msg?: string }).msg ?? '';
      const key = msg.replace(/\(repeated \d+ more times in \d+ s\)/, '(repeated N times)');
      byMessage.set(key, (byMessage.get(key) ?? 0) + 1);
    }
    const requests = success!.requests + invalid!.requests + deadResult!.requests;
    const withErrors = answeredWithErrors;
    const errorLines = byMessage.get('graphql request with errors') ?? 0;
    const row = {
      label,
      seconds: duration,
      requests,
      requestsPerSecond: requests / duration,
      lines: lines.length,
      linesPerSecond: lines.length / duration,
      bytesPerSecond: Buffer.byteLength(text) / duration,
      withErrors,
      errorLines,
      messages: Object.fromEntries([...byMessage].sort((a, b) => b[1] - a[1])),
    };
    process.stdout.write(`logs ${label}: ${requests} requests in ${duration} s, ${lines.length} lines (${row.linesPerSecond.toFixed(1)}/s, ${(row.bytesPerSecond / 1024).toFixed(1)} KiB/s); ${withErrors} requests with errors, ${errorLines} error lines\n`);
    return row;
  };
  const bounded = await run('shipped', base, seconds);
  const open = await run('sampling and collapsing off', unbounded, smoke ? 2 : Math.max(5, Math.round(seconds / 10)));
  const table = [
    '| Logging | Duration | Requests/s | Log lines/s | Log KiB/s | Answers with errors (its /metrics) | Their log lines |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...[bounded, open].map((r) => `| ${r.label} | ${r.seconds} s | ${r.requestsPerSecond.toFixed(0)} | ${r.linesPerSecond.toFixed(1)} | ${(r.bytesPerSecond / 1024).toFixed(1)} | ${r.withErrors} | ${r.errorLines} |`),
  ].join('\n');
  const messages = Object.entries(bounded.messages).map(([msg, n]) => `- ${n} × ${msg}`).join('\n');
  process.stdout.write(`\nlogs:\n${table}\n\nLines of the shipped run by message:\n${messages}\n`);
  if (!smoke) {
    const about =
      'The gateway\'s own log (level info, the shipped access-log sampling and collapsing of repeated warnings) under sustained mixed load: successful queries, invalid operations (400) and queries of a subgraph that is down (partial answers, a failed fetch each), against the same load for a tenth of the time with sampling and collapsing off.';
    const report = `# Benchmark: logs\n\n${about}\n\n${machine()}; ${connections} connections in all.\n\n${table}\n\nLines of the shipped run by message:\n${messages}\n\nReproduce: \`npm run build && npm run bench -- --scenario logs [--log-minutes 10]\`.\n`;
    writeFileSync(projectPath('bench', 'results', 'logs.md'), report);
    showInReadme('logs', report.slice(report.indexOf('\n\n') + 2));
    writeFileSync(projectPath('bench', 'results', 'logs.json'), `${JSON.stringify({ machine: machine(), connections, rows: [bounded, open] }, null, 2)}\n`);
  }
  for (const row of [bounded, open]) {
    if (row.errorLines !== row.withErrors) {
      throw new Error(`logs ${row.label}: ${row.withErrors} requests with errors but ${row.errorLines} lines for them`);
    }
  }
}

/** One kind of request of the soak: its body, headers, share of the rate and the status it must get. */
interface SoakClass {
  name: string;
  body: string;
  headers?: Record<string, string>;
  share: number;
  status: 200 | 400;
}

/**
 * Mixed traffic at a fixed rate for --soak-minutes (default 10; 20 s with --smoke) through
 * Frontdesk in production configuration (auth, authorization, access log, usage, the response
 * cache in Redis) over the real adapters and legacy stand-ins: cache hits, misses that are stored
 * (a new accept-language each, a vary header), mutations that purge, invalid operations (400) and
 * answers with an error (an unknown product). Apollo Gateway serves no subscriptions, so there are
 * none. The gateway's RSS (/proc) and heap (its /metrics) are sampled every 10 s. The run fails
 * when a request got no answer or an unexpected status, or when RSS at the end is more than 10%
 * above its value at minute 2.
 */
async function measureSoak(token: string): Promise<void> {
  const minutes = Number(values['soak-minutes'] ?? 10);
  const seconds = smoke ? 20 : Math.round(minutes * 60);
  const rate = Number(values['soak-rate'] ?? 200);
  const sampleEvery = smoke ? 2 : 10;
  const { subgraphs } = await legacyStack();
  const prefix = `frontdesk-bench-soak-${process.pid}:`;
  const config = {
    logging: { level: 'info' },
    supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false },
    subgraphs,
    graphql: { landingPage: false },
    redis: { url: LOCAL_REDIS, keyPrefix: prefix },
    auth: AUTH,
    authorization: { permissionsFile: projectPath('schema', 'permissions.yaml') },
    responseCache: { varyHeaders: ['accept-language'] },
    accessLog: {},
    usage: {},
    // Its heap, read from /metrics.
    metrics: {},
  };
  const bearer = { authorization: `Bearer ${token}` };
  const product = JSON.stringify({ query: 'query Product { product(id: "p1") { name price { amount currency } inStock reviews(first: 5) { rating body author { name } } } }' });
  const classes: SoakClass[] = [
    { name: 'cache hits', body: product, share: 0.55, status: 200 },
    { name: 'misses, stored', body: product, headers: { 'accept-language': 'x-[<id>]' }, share: 0.25, status: 200 },
    { name: 'demo query, signed in', body: JSON.stringify({ query: DEMO_QUERY }), headers: bearer, share: 0.1, status: 200 },
    { name: 'mutations (addReview)', body: JSON.stringify({ query: 'mutation Add { addReview(input: { productId: "p2", authorId: "u1", rating: 4, body: "Soak test review" }) { id } }' }), headers: bearer, share: 0.02, status: 200 },
    { name: 'invalid operations', body: JSON.stringify({ query: 'query Invalid { nope }' }), share: 0.04, status: 400 },
    { name: 'unknown product', body: JSON.stringify({ query: 'query Unknown { product(id: "no-such-product") { name reviews(first: 1) { rating } } }' }), share: 0.04, status: 200 },
  ];
  const port = await freePort();
  const gateway = await frontdesk('frontdesk soak', config, { logLevel: 'info' }).start(port);
  const url = `http://127.0.0.1:${port}/graphql`;
  const samples: { seconds: number; rssMb: number; heapUsedMb: number }[] = [];
  const sample = async (at: number) => {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const heap = Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1] ?? NaN);
    samples.push({ seconds: at, rssMb: rssMb(gateway.pid), heapUsedMb: heap / 1024 / 1024 });
  };
  let results: LoadResult[];
  try {
    // Warm-up answers: each class answered as expected before the clock starts.
    for (const each of classes) {
      const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(each.headers ?? {}), 'accept-language': 'warm' }, body: each.body });
      if (answer.status !== each.status) throw new Error(`soak ${each.name}: ${answer.status} ${(await answer.text()).slice(0, 300)}`);
      await answer.arrayBuffer();
    }
    const started = Date.now();
    await sample(0);
    const sampler = setInterval(() => void sample(Math.round((Date.now() - started) / 1000)).catch(() => undefined), sampleEvery * 1000);
    try {
      results = await Promise.all(
        classes.map((each) =>
          load({
            url,
            body: each.body,
            headers: each.headers ?? {},
            connections: Math.max(1, Math.round(connections * each.share)),
            durationSeconds: seconds,
            overallRate: Math.max(1, Math.round(rate * each.share)),
            idReplacement: JSON.stringify(each.headers ?? {}).includes('[<id>]'),
          }),
        ),
      );
    } finally {
      clearInterval(sampler);
    }
    await sample(seconds);
  } finally {
    await gateway.stop();
    await deleteBenchKeys(prefix);
  }
  const rows = classes.map((each, i) => {
    const result = results[i]!;
    // An error class must be refused each time (non-2xx); no class may go unanswered.
    const unexpected = each.status === 200 ? result.errors : result.transport + (result.requests - result.non2xx);
    return { ...each, requests: result.requests, rps: result.rps, p50: result.p50, p99: result.p99, unexpected };
  });
  const at = (second: number) => samples.reduce((best, s) => (Math.abs(s.seconds - second) < Math.abs(best.seconds - second) ? s : best), samples[0]!);
  const reference = at(smoke ? 6 : 120);
  const last = samples[samples.length - 1]!;
  const growth = (last.rssMb - reference.rssMb) / reference.rssMb;
  const table = [
    '| Requests | Rate (req/s) | Requests sent | p50 ms | p99 ms | Unexpected answers |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${r.rps.toFixed(1)} | ${r.requests} | ${r.p50} | ${r.p99} | ${r.unexpected} |`),
  ].join('\n');
  const perMinute = samples.filter((s, i) => (i === samples.length - 1 || s.seconds % 60 === 0 || (smoke && s.seconds % 4 === 0)) && samples.findIndex((o) => o.seconds === s.seconds) === i);
  const memory = [
    '| Time | RSS MB | Heap used MB |',
    '| ---: | ---: | ---: |',
    ...perMinute.map((s) => `| ${formatTime(s.seconds)} | ${s.rssMb.toFixed(0)} | ${s.heapUsedMb.toFixed(0)} |`),
  ].join('\n');
  const verdict = `RSS ${last.rssMb.toFixed(0)} MB at the end against ${reference.rssMb.toFixed(0)} MB at ${formatTime(reference.seconds)}: ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (limit +10%); ${rows.reduce((n, r) => n + r.unexpected, 0)} unexpected answers.`;
  process.stdout.write(`\nsoak:\n${table}\n\n${memory}\n\n${verdict}\n`);
  if (!smoke) {
    const about = `Mixed traffic at a fixed ${rate} requests/s for ${minutes} minutes through Frontdesk in production configuration (auth, authorization, access log, usage metering, the response cache in Redis) over the real adapters and legacy stand-ins: cache hits, misses that are stored, the signed-in demo query, mutations that purge, invalid operations (400) and answers with an error. Apollo Gateway serves no subscriptions, so none are sent. The gateway's RSS and heap are sampled every ${sampleEvery} s (chart: soak.svg).`;
    const report = `# Benchmark: soak\n\n${about}\n\n${machine()}.\n\n${table}\n\n${memory}\n\n${verdict}\n\n![RSS and heap over time](soak.svg)\n\nReproduce: \`npm run build && npm run bench -- --scenario soak [--soak-minutes 10] [--soak-rate 200]\`.\n`;
    writeFileSync(projectPath('bench', 'results', 'soak.md'), report);
    writeFileSync(projectPath('bench', 'results', 'soak.svg'), soakChart(samples));
    writeFileSync(projectPath('bench', 'results', 'soak.json'), `${JSON.stringify({ machine: machine(), rate, minutes, rows, samples, reference, last, growth }, null, 2)}\n`);
    showInReadme('soak', report.slice(report.indexOf('\n\n') + 2).replace('](soak.svg)', '](bench/results/soak.svg)'));
  }
  const failed = rows.filter((r) => r.unexpected > 0);
  if (failed.length > 0) throw new Error(`soak: unexpected answers: ${failed.map((r) => `${r.name} ${r.unexpected}`).join(', ')}`);
  if (!smoke && growth > 0.1) throw new Error(`soak: ${verdict}`);
}

const formatTime = (seconds: number) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;

/** RSS and heap over time as an SVG line chart. */
function soakChart(samples: { seconds: number; rssMb: number; heapUsedMb: number }[]): string {
  const width = 720;
  const height = 300;
  const pad = { left: 50, right: 20, top: 20, bottom: 40 };
  const maxX = Math.max(...samples.map((s) => s.seconds), 1);
  const maxY = Math.ceil(Math.max(...samples.map((s) => s.rssMb)) / 50) * 50 || 50;
  const x = (seconds: number) => pad.left + ((width - pad.left - pad.right) * seconds) / maxX;
  const y = (mb: number) => height - pad.bottom - ((height - pad.top - pad.bottom) * mb) / maxY;
  const line = (pick: (s: (typeof samples)[number]) => number) => samples.map((s) => `${x(s.seconds).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(' ');
  const ticksY = Array.from({ length: 6 }, (_, i) => (maxY * i) / 5);
  const ticksX = Array.from({ length: Math.floor(maxX / 60) + 1 }, (_, i) => i * 60);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...ticksY.map((mb) => `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(mb)}" y2="${y(mb)}" stroke="#ddd"/><text x="${pad.left - 6}" y="${y(mb) + 4}" text-anchor="end">${mb.toFixed(0)}</text>`),
    ...ticksX.map((s) => `<text x="${x(s)}" y="${height - pad.bottom + 16}" text-anchor="middle">${s / 60} min</text>`),
    `<text x="12" y="${pad.top + 100}" transform="rotate(-90 12 ${pad.top + 100})">MB</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line((s) => s.rssMb)}"/>`,
    `<polyline fill="none" stroke="#ff7f0e" stroke-width="2" points="${line((s) => s.heapUsedMb)}"/>`,
    `<text x="${width - pad.right - 160}" y="${pad.top + 12}" fill="#1f77b4">RSS</text><text x="${width - pad.right - 110}" y="${pad.top + 12}" fill="#ff7f0e">heap used</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** Deletes a bench run's keys from the local Redis. */
async function deleteBenchKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(LOCAL_REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

/** The shipped frontdesk.config.yaml, read as `npm start` reads it (without its environment). */
async function shippedConfig() {
  const { loadConfig } = await import('../gateway/src/core/config.js');
  return loadConfig({ cwd: projectPath(), env: {}, argv: ['--config', projectPath('frontdesk.config.yaml')] });
}

/**
 * How long a gateway with `config` keeps clients waiting on a subgraph that hangs (SIGSTOP):
 * `connections` clients send queries over reviews and accounts (a different review each, as
 * varied traffic does); the time to shed is from the hang to the first answer refused with
 * CIRCUIT_OPEN, after which answers are timed for 3 s more.
 */
async function timeToShed(config: object, accounts: { url: string }, headers: Record<string, string>, deadlineMs: number) {
  const hungPort = await freePort();
  const hung = await startProcess('dist/subgraphs/reviews/main.js', [], { PORT: String(hungPort), IDENTITY_JWKS_URL: await jwksUrl() }, `http://127.0.0.1:${hungPort}/ready`);
  const port = await freePort();
  const gateway = await frontdesk('hung', { ...config, subgraphs: { accounts, reviews: { url: `http://127.0.0.1:${hungPort}/graphql` } } }).start(port);
  const url = `http://127.0.0.1:${port}/graphql`;
  // One text (one query plan), a different review each: distinct fetches, as varied traffic sends.
  const bodyOf = (n: number) => JSON.stringify({ query: 'query($r: ID!, $u: ID!) { review(id: $r) { rating } user(id: $u) { name } }', variables: { r: `r${n}`, u: `u${(n % 5) + 1}` } });
  const codeOf = (text: string) => (JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
  try {
    for (let i = 0; i < 20; i += 1) {
      const answer = await post(url, JSON.stringify({ query: '{ review(id: "r1") { rating } user(id: "u1") { name } }' }), headers);
      if (answer.status !== 200 || codeOf(answer.text)) throw new Error(`resilience: the hung gateway answered ${answer.status} ${answer.text.slice(0, 200)} before the hang`);
    }
    hung.child.kill('SIGSTOP');
    const hungAt = performance.now();
    let shedAt: number | undefined;
    let stopAt = hungAt + 60_000;
    let sent = 0;
    let userServed = 0;
    const after: number[] = [];
    const worker = async (): Promise<void> => {
      while (performance.now() < stopAt) {
        const started = performance.now();
        const answer = await post(url, bodyOf(sent++), headers);
        const took = performance.now() - started;
        if (answer.text.includes('"user":{"name"')) userServed += 1;
        if (codeOf(answer.text) === 'CIRCUIT_OPEN' && shedAt === undefined) {
          shedAt = performance.now();
          stopAt = shedAt + 3000;
        }
        if (shedAt !== undefined && started >= shedAt) after.push(took);
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    if (shedAt === undefined) throw new Error('resilience: the gateway never shed the hung subgraph within 60 s');
    after.sort((a, b) => a - b);
    const pct = (q: number) => after[Math.min(after.length - 1, Math.floor(q * after.length))] ?? NaN;
    const data = { shedAfterMs: Math.round(shedAt - hungAt), deadlineMs, answersAfter: after.length, p50AfterMs: pct(0.5), p99AfterMs: pct(0.99), answers: sent, userServed };
    const markdown =
      `Time to shed a hung subgraph (reviews stopped with SIGSTOP, ${connections} clients, varied queries over reviews and accounts): ` +
      `**${(data.shedAfterMs / 1000).toFixed(1)} s** from the hang to the first answer refused with CIRCUIT_OPEN (the fetch deadline is ${deadlineMs / 1000} s); ` +
      `in the 3 s after, ${after.length} answers, p50 ${data.p50AfterMs.toFixed(1)} ms, p99 ${data.p99AfterMs.toFixed(1)} ms, ` +
      `and ${userServed} of ${sent} answers carried the accounts field.`;
    process.stdout.write(`resilience: ${markdown}\n`);
    return { markdown, data };
  } finally {
    hung.child.kill('SIGCONT');
    await gateway.stop();
    await hung.stop();
  }
}

async function scenario(name: Exclude<ScenarioName, 'hostile' | 'logs' | 'soak'>, token: string): Promise<Scenario> {
  const bearer = { authorization: `Bearer ${token}` };
  const onFederation = async () => {
    const path = await federationSupergraph();
    return { logging: { level: 'info' }, supergraph: { path, watch: false }, graphql: { landingPage: false } };
  };
  switch (name) {
    case 'federation': {
      const base = await onFederation();
      const path = base.supergraph.path;
      return {
        name,
        about:
          'Frontdesk in production configuration (auth, authorization, access log at info; cache off, or on with every request a miss that stores nothing or a miss that is stored) against vanilla Apollo Gateway and Hive Gateway on the same supergraph and fixture subgraphs.',
        baseline: 'apollo-gateway',
        query: FEDERATION_QUERY,
        headers: bearer,
        fetchCounter,
        variants: [
          frontdesk('frontdesk', { ...base, auth: AUTH, authorization: {}, accessLog: {} }, { logLevel: 'info' }),
          // The same without sharing in-flight fetches: what the transport and the rest do alone.
          frontdesk('frontdesk, dedupe off', { ...base, auth: AUTH, authorization: {}, accessLog: {}, subgraphRequests: { dedupe: false } }, { logLevel: 'info' }),
          // The response cache on, every request a miss: the fixtures send no Cache-Control, so each looks up and stores nothing.
          frontdesk('frontdesk, cache miss', { ...base, auth: AUTH, authorization: {}, accessLog: {}, responseCache: {} }, { logLevel: 'info' }),
          // Every request a miss that is stored (a default hint, a variable of its own per request): the cache's whole miss path, tags read from the fetches.
          frontdesk(
            'frontdesk, cache miss+store',
            { ...base, auth: AUTH, authorization: {}, accessLog: {}, responseCache: { defaultMaxAgeSeconds: 3600, varyHeaders: ['x-bench-id'] } },
            { logLevel: 'info', unique: true },
          ),
          {
            name: 'apollo-gateway',
            start: (port) => startProcess('dist/bench/federation/apollo-gateway.js', [path, String(port)], {}, `http://127.0.0.1:${port}/`, { ready: POST_TYPENAME }),
          },
          {
            name: 'hive-gateway',
            start: (port) =>
              startProcess('node_modules/@graphql-hive/gateway/dist/bin.js', ['supergraph', path, '--port', String(port), '--host', '127.0.0.1'], { NODE_ENV: 'production' }, `http://127.0.0.1:${port}/healthcheck`),
          },
        ],
      };
    }
    case 'deep': {
      const path = await federationSupergraph('deep');
      const base = { logging: { level: 'info' }, supergraph: { path, watch: false }, graphql: { landingPage: false } };
      const production = { ...base, auth: AUTH, authorization: {}, accessLog: {} };
      return {
        name,
        about:
          'The deep public-style workload (users -> reviews -> product -> reviews -> author -> reviews -> product, and the same from topProducts, product inventory through @requires; about 90 KB per answer, 16 fetches in Apollo\'s plan): Frontdesk in production configuration with the response cache off, with and without sharing in-flight subgraph fetches between requests, against vanilla Apollo Gateway (which shares none) and Hive Gateway on the same supergraph and fixture subgraphs.',
        baseline: 'apollo-gateway',
        query: DEEP_QUERY,
        headers: bearer,
        fetchCounter: fetchCounters.get('deep')!,
        variants: [
          frontdesk('frontdesk', production, { logLevel: 'info' }),
          // Every request runs its whole plan: the executor's own cost, nothing shared.
          frontdesk('frontdesk, sharing off', { ...production, subgraphRequests: { dedupe: false } }, { logLevel: 'info' }),
          // Both cores of the machine (the load generator shares them): --workers 2.
          frontdesk('frontdesk, 2 workers', { ...production, server: { workers: 2 } }, { logLevel: 'info' }),
          {
            name: 'apollo-gateway',
            start: (port) => startProcess('dist/bench/federation/apollo-gateway.js', [path, String(port)], {}, `http://127.0.0.1:${port}/`, { ready: POST_TYPENAME }),
          },
          {
            name: 'hive-gateway',
            start: (port) =>
              startProcess('node_modules/@graphql-hive/gateway/dist/bin.js', ['supergraph', path, '--port', String(port), '--host', '127.0.0.1'], { NODE_ENV: 'production' }, `http://127.0.0.1:${port}/healthcheck`),
          },
        ],
      };
    }
    case 'cache-hit': {
      const base = await onFederation();
      // The fixtures send no Cache-Control: the default hint makes their answers cacheable.
      const cached = frontdesk('frontdesk cache hit', { ...base, auth: AUTH, authorization: {}, accessLog: {}, responseCache: { defaultMaxAgeSeconds: 3600 } }, { logLevel: 'info' });
      return {
        name,
        about: "Frontdesk's production configuration with the response cache, every request after the first a hit, against a bare node:http server writing the same bytes.",
        baseline: 'node:http ceiling',
        query: FEDERATION_QUERY,
        headers: bearer,
        variants: [
          {
            name: 'node:http ceiling',
            async start(port) {
              // The exact bytes Frontdesk answers, taken from a Frontdesk of the same config.
              const helperPort = await freePort();
              const helper = await cached.start(helperPort);
              try {
                const answer = await post(`http://127.0.0.1:${helperPort}/graphql`, JSON.stringify({ query: FEDERATION_QUERY }), bearer);
                const file = join(TMP, 'cache-hit-body.json');
                writeFileSync(file, answer.text);
                return startProcess('dist/bench/federation/static-server.js', [file, String(port)], {}, `http://127.0.0.1:${port}/`);
              } finally {
                await helper.stop();
              }
            },
          },
          cached,
        ],
      };
    }
    case 'features': {
      const base = await onFederation();
      const quiet = { ...base, logging: { level: 'error' } };
      return {
        name,
        about: 'Frontdesk with one feature on at a time against Frontdesk with none (logs at error except for the access log).',
        baseline: 'none',
        query: FEDERATION_QUERY,
        headers: bearer,
        fetchCounter,
        variants: [
          frontdesk('none', quiet),
          frontdesk('auth', { ...quiet, auth: AUTH }),
          frontdesk('authorization', { ...quiet, authorization: {} }),
          // Operation limits at their defaults: parse with the token limit, measure, estimate the cost.
          frontdesk('limits', { ...quiet, limits: {} }),
          // Retries and a circuit breaker around every fetch (none trips: every fetch succeeds).
          frontdesk('resilience', { ...quiet, resilience: {} }),
          // A rate limit per client counted in the local Redis (never reached): one atomic increment per request.
          frontdesk('rate limit (redis)', { ...quiet, redis: { url: LOCAL_REDIS }, rateLimits: { keyPrefix: 'frontdesk-bench:rl', weight: 'requests', all: { rate: { limit: 1_000_000_000, windowSeconds: 60 } } } }),
          // Metering every request, flushed to the local Redis each second.
          frontdesk('metering (redis)', { ...quiet, redis: { url: LOCAL_REDIS }, usage: { keyPrefix: 'frontdesk-bench:usage' } }),
          // The fixtures send no cache hints: every request looks up, misses and stores nothing.
          frontdesk('cache miss', { ...quiet, responseCache: {} }),
          frontdesk('access log', { ...base, accessLog: {} }, { logLevel: 'info' }),
          // Prometheus metrics as shipped (request and fetch histograms, process metrics, the status page's timeline).
          frontdesk('metrics', { ...quiet, metrics: {} }),
          // OpenTelemetry at 1% sampling, exported over OTLP/HTTP to a sink in this process.
          frontdesk('tracing 1%', { ...quiet, tracing: { endpoint: await otlpSink(), sampleRatio: 0.01 } }),
        ],
      };
    }
    case 'legacy': {
      const { subgraphs, standIns } = await legacyStack();
      const config = {
        logging: { level: 'info' },
        supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false },
        subgraphs,
        graphql: { landingPage: false },
        auth: AUTH,
        authorization: { permissionsFile: projectPath('schema', 'permissions.yaml') },
        accessLog: {},
      };
      return {
        name,
        about: 'The demo query (user, orders from the ERP over SOAP, products from the catalog over REST, stock from the warehouse over gRPC, reviews) through Frontdesk in production configuration, cache off.',
        baseline: 'frontdesk',
        query: DEMO_QUERY,
        headers: bearer,
        variants: [
          frontdesk('frontdesk', config, { logLevel: 'info' }),
          // Without sharing in-flight fetches, every request reaches the adapters: their batching at work.
          frontdesk('frontdesk, dedupe off', { ...config, subgraphRequests: { dedupe: false } }, { logLevel: 'info' }),
        ],
        legacy: standIns,
      };
    }
    case 'resilience': {
      const { accounts, reviews } = await ourSubgraphs();
      const second = await service('dist/subgraphs/reviews/main.js', { IDENTITY_JWKS_URL: await jwksUrl() });
      const dead = `http://127.0.0.1:${await freePort()}/graphql`;
      const shipped = await shippedConfig();
      const base = {
        logging: { level: 'error' },
        supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false },
        graphql: { landingPage: false },
        auth: AUTH,
        subgraphRequests: shipped.subgraphRequests,
        resilience: shipped.resilience,
      };
      return {
        name,
        about:
          'The shipped resilience policies (frontdesk.config.yaml: fetch deadline, retries, breakers, ejection, health checks) over two instances of reviews: one of them down (a URL nothing listens on) against both up.',
        baseline: 'both up',
        query: ACCOUNTS_QUERY,
        headers: bearer,
        variants: [
          frontdesk('both up', { ...base, subgraphs: { accounts, reviews: { urls: [reviews!.url, second.url] } } }),
          frontdesk('one down', { ...base, subgraphs: { accounts, reviews: { urls: [reviews!.url, dead] } } }),
        ],
        extra: () => timeToShed(base, accounts!, bearer, shipped.subgraphs.reviews?.deadlineMs ?? shipped.subgraphRequests.deadlineMs),
      };
    }
    case 'auth':
    case 'cache': {
      const subgraphs = await ourSubgraphs();
      const base = { logging: { level: 'error' }, supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false }, subgraphs, graphql: { landingPage: false } };
      const authz = { ...base, auth: AUTH, authorization: { permissionsFile: projectPath('schema', 'permissions.yaml') } };
      if (name === 'auth') {
        return {
          name,
          about: 'The cost of authentication (JWT at the edge, identity token to subgraphs) and of authorization before planning.',
          baseline: 'none',
          query: ACCOUNTS_QUERY,
          headers: bearer,
          variants: [frontdesk('none', base), frontdesk('auth', { ...base, auth: AUTH }), frontdesk('auth+authz', authz)],
        };
      }
      return {
        name,
        about: "The response cache (in memory) on top of auth+authz: every request after the first a hit, or sent with Cache-Control: no-cache so it pays the cache's own work on its way to the subgraphs.",
        baseline: 'auth+authz',
        query: ACCOUNTS_QUERY,
        headers: bearer,
        variants: [
          frontdesk('auth+authz', authz),
          frontdesk('cache hit', { ...authz, responseCache: {} }),
          frontdesk('cache bypass', { ...authz, responseCache: {} }, { headers: { 'cache-control': 'no-cache' } }),
        ],
      };
    }
  }
}

const ALONE = 5;
const LOCAL_REDIS = 'redis://127.0.0.1:6379';

/**
 * Round trips the local Redis has served so far, from INFO commandstats: script calls
 * (EVAL/EVALSHA: rate-limiter-flexible's one per counter) and transactions (EXEC: the metering's
 * flush); the commands inside them are not round trips and are not counted.
 */
async function redisCommands(): Promise<number> {
  const { Redis } = await import('ioredis');
  const client = new Redis(LOCAL_REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const stats = await client.info('commandstats');
    const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    // A MULTI ... EXEC batch (the metering's flush) goes in one round trip: EXEC counts it.
    return calls('evalsha') + calls('eval') + calls('exec');
  } finally {
    client.disconnect();
  }
}

/** The counters a scenario reads: the fixture subgraphs' fetches, or each legacy stand-in's calls. */
async function counts(run: Scenario): Promise<Record<string, number>> {
  if (run.legacy) {
    const entries = await Promise.all(
      Object.entries(run.legacy).map(async ([system, base]) => [system, ((await (await fetch(`${base}/_admin/stats`)).json()) as { total: number }).total] as const),
    );
    return Object.fromEntries(entries);
  }
  return { fetches: ((await (await fetch(run.fetchCounter!)).json()) as { fetches: number }).fetches };
}

/** JSON with sorted keys: two gateways agree when their data is the same, whatever their key order. */
function canonical(text: string): string {
  const sort = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(sort) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sort(v)])) : value;
  return JSON.stringify(sort(JSON.parse(text)));
}

/**
 * A variant's headers: a unique variant's x-bench-id is `[<id>]`, made unique per request by
 * autocannon (idReplacement; in a header, since autocannon's body length assumes ids of one length),
 * and by `id` here.
 */
const headersOf = (run: Scenario, variant: Variant, id?: string): Record<string, string> => ({
  ...run.headers,
  ...variant.headers,
  ...(variant.unique ? { 'x-bench-id': id ?? '[<id>]' } : {}),
});
let uniqueIds = 0;

async function measure(run: Scenario): Promise<void> {
  const body = JSON.stringify({ query: run.query });
  const ordered = [...run.variants]
    .filter((v) => !onlyVariants || onlyVariants.has(v.name) || v.name === run.baseline)
    .sort((a, b) => (a.name === run.baseline ? -1 : b.name === run.baseline ? 1 : 0));
  let expected: string | undefined;
  let bytes = 0;
  const rows: Row[] = [];
  const failing = new Map<string, string>();
  const legacyCalls = new Map<string, Record<string, number>[]>();
  const alone = new Map<string, Record<string, number>>();
  const redisPerRequest = new Map<string, number[]>();
  for (let round = 1; round <= rounds; round += 1) {
    // The baseline first (its answer is the reference); the others rotate each round, so no
    // variant always runs at the same place in a round (the machine drifts within a round).
    const others = ordered.slice(1);
    const shift = (round - 1) % Math.max(1, others.length);
    const inRound = [ordered[0]!, ...others.slice(shift), ...others.slice(0, shift)];
    for (const variant of inRound) {
      if (failing.has(variant.name)) continue;
      const port = await freePort();
      const gateway = await variant.start(port);
      try {
        const url = `http://127.0.0.1:${port}/graphql`;
        const headers = headersOf(run, variant);
        // Correctness first, twice (a caching variant answers the second from its cache).
        let wrong: string | undefined;
        for (let i = 0; i < 2 && !wrong; i++) {
          const answer = await post(url, body, headersOf(run, variant, `check-${++uniqueIds}`));
          const parsed = answer.status === 200 ? (JSON.parse(answer.text) as { errors?: unknown; data?: unknown }) : undefined;
          // Every field of these fixtures has a value: a null is data a gateway lost.
          if (!parsed || parsed.errors || !parsed.data || answer.text.includes('null')) wrong = `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
          else {
            expected ??= canonical(answer.text);
            bytes ||= answer.text.length;
            if (canonical(answer.text) !== expected) wrong = 'answered different data than the baseline';
          }
        }
        if (wrong) {
          failing.set(variant.name, wrong);
          process.stdout.write(`${run.name} ${variant.name}: FAILING, not measured (${wrong})\n`);
          continue;
        }
        // What one request costs on its own (no other request to share fetches with): a few in a row.
        if (run.fetchCounter || run.legacy) {
          const before = await counts(run);
          for (let i = 0; i < ALONE; i++) await post(url, body, headersOf(run, variant, `alone-${++uniqueIds}`));
          const after = await counts(run);
          alone.set(variant.name, Object.fromEntries(Object.entries(after).map(([name, n]) => [name, (n - (before[name] ?? 0)) / ALONE])));
        }
        const idReplacement = variant.unique === true;
        await load({ url, body, headers, connections, durationSeconds: smoke ? 1 : 3, idReplacement });
        await Promise.all(Object.values(run.legacy ?? {}).map((base) => fetch(`${base}/_admin/reset`, { method: 'POST' })));
        const fetched = async () => (run.fetchCounter ? ((await (await fetch(run.fetchCounter)).json()) as { fetches: number }).fetches : 0);
        const fetchesBefore = await fetched();
        const commandsBefore = variant.redis ? await redisCommands() : 0;
        const cpuBefore = cpuMs(gateway.pid);
        const result = await load({ url, body, headers, connections, durationSeconds, idReplacement });
        const cpu = cpuMs(gateway.pid) - cpuBefore;
        if (variant.redis && result.requests > 0) redisPerRequest.set(variant.name, [...(redisPerRequest.get(variant.name) ?? []), ((await redisCommands()) - commandsBefore) / result.requests]);
        const fetchesPerRequest = run.fetchCounter && result.requests > 0 ? ((await fetched()) - fetchesBefore) / result.requests : undefined;
        if (run.legacy && result.requests > 0) {
          const calls = await Promise.all(
            Object.entries(run.legacy).map(async ([system, base]) => [system, ((await (await fetch(`${base}/_admin/stats`)).json()) as { total: number }).total / result.requests] as const),
          );
          legacyCalls.set(variant.name, [...(legacyCalls.get(variant.name) ?? []), Object.fromEntries(calls)]);
        }
        const row: Row = {
          variant: variant.name,
          round,
          rps: result.rps,
          p50: result.p50,
          p99: result.p99,
          errors: result.errors,
          cpuMsPerRequest: result.requests > 0 ? cpu / result.requests : NaN,
          peakRssMb: peakRssMb(gateway.pid),
          ...(fetchesPerRequest !== undefined ? { fetchesPerRequest } : {}),
        };
        rows.push(row);
        process.stdout.write(
          `${run.name} round ${round} ${variant.name}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, ${row.errors} errors, ` +
            `${row.cpuMsPerRequest.toFixed(3)} CPU ms/req, peak RSS ${row.peakRssMb.toFixed(0)} MB${fetchesPerRequest !== undefined ? `, ${fetchesPerRequest.toFixed(2)} fetches/req` : ''}\n`,
        );
      } finally {
        await gateway.stop();
      }
    }
  }
  if (failing.has(run.baseline)) throw new Error(`${run.name}: the baseline ${run.baseline} ${failing.get(run.baseline)}`);
  const extra = run.extra ? await run.extra() : undefined;
  const summary = summarize(rows, run.baseline);
  const perQuery =
    legacyCalls.size > 0
      ? Object.fromEntries([...legacyCalls].map(([variant, runs]) => [variant, Object.fromEntries(Object.keys(runs[0]!).map((system) => [system, median(runs.map((c) => c[system]!))]))]))
      : undefined;
  const aloneLines = [...alone].map(([variant, perRequest]) => `- ${variant}: ${Object.entries(perRequest).map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ')}`);
  const table = [
    summary.table,
    ...(aloneLines.length > 0 ? [`\n${run.legacy ? 'Legacy calls' : 'Subgraph fetches'} per request on its own (${ALONE} requests one after another, nothing to share with):\n${aloneLines.join('\n')}`] : []),
    ...(perQuery
      ? [
          `\nLegacy calls per request under load (median of the runs):\n${Object.entries(perQuery)
            .map(([variant, systems]) => `- ${variant}: ${Object.entries(systems).map(([system, n]) => `${system} ${n.toFixed(2)}`).join(', ')}`)
            .join('\n')}`,
        ]
      : []),
    ...(redisPerRequest.size > 0
      ? [`\nRedis round trips per request under load (median of the runs; EVALSHA and EXEC calls from the local Redis's INFO commandstats):\n${[...redisPerRequest].map(([variant, runs]) => `- ${variant}: ${median(runs).toFixed(2)}`).join('\n')}`]
      : []),
    ...(extra ? [`\n${extra.markdown}`] : []),
  ].join('\n');
  const medians = summary.medians;
  const failures = [...failing].map(([name, why]) => `- ${name}: failing, not measured (${why})`).join('\n');
  const header = `# Benchmark: ${run.name}\n\n${run.about}\n\n${machine()}; ${connections} connections, ${durationSeconds} s per run, ${rounds} round(s) alternating variants${smoke ? ' (smoke)' : ''}.\nResponse: ${bytes} bytes.\n\n`;
  process.stdout.write(`\n${run.name}:\n${table}\n${failures ? `${failures}\n` : ''}`);
  // A run of some variants only prints its table: the results files and README keep every variant.
  if (!smoke && !onlyVariants) {
    const report = `${header}${table}\n${failures ? `\n${failures}\n` : ''}\nReproduce: \`npm run build && npm run bench -- --scenario ${run.name}\`.\n`;
    writeFileSync(projectPath('bench', 'results', `${run.name}.md`), report);
    showInReadme(run.name, report.slice(report.indexOf('\n\n') + 2));
    writeFileSync(
      projectPath('bench', 'results', `${run.name}.json`),
      `${JSON.stringify({ machine: machine(), connections, durationSeconds, rounds, rows, medians, alone: Object.fromEntries(alone), ...(perQuery ? { legacyCallsPerQuery: perQuery } : {}), ...(extra ? { extra: extra.data } : {}), failing: Object.fromEntries(failing) }, null, 2)}\n`,
    );
  }
  const errors = rows.filter((r) => r.errors > 0);
  if (errors.length > 0) throw new Error(`errors under load: ${errors.map((r) => `${r.variant} round ${r.round}: ${r.errors}`).join(', ')}`);
  if (failing.size > 0 && failing.has('frontdesk')) throw new Error(`${run.name}: Frontdesk answered wrongly`);
}

/** Replaces the README's copy of a scenario's latest results (between `<!-- bench:NAME -->` markers). */
function showInReadme(name: string, report: string): void {
  const file = projectPath('README.md');
  const readme = readFileSync(file, 'utf8');
  const start = `<!-- bench:${name} -->\n`;
  const end = `<!-- /bench:${name} -->`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end, from);
  if (from === -1 || to === -1) {
    process.stderr.write(`bench: README has no ${start.trim()} ... ${end} section; not updated\n`);
    return;
  }
  writeFileSync(file, `${readme.slice(0, from + start.length)}${report.trimEnd()}\n${readme.slice(to)}`);
}

async function main(): Promise<void> {
  mkdirSync(TMP, { recursive: true });
  const token = await new SignJWT({ roles: ['admin'], scope: 'orders:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  try {
    for (const name of chosen as ScenarioName[]) {
      if (name === 'hostile') await measureHostile();
      else if (name === 'logs') await measureLogs();
      else if (name === 'soak') await measureSoak(token);
      else await measure(await scenario(name as Exclude<ScenarioName, 'hostile' | 'logs' | 'soak'>, token));
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
