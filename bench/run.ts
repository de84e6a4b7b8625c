import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { IdentitySigner } from '../gateway/src/plugins/auth/index.js';
import { projectPath } from '../subgraphs/shared/paths.js';
import { cpuMs, freePort, load, machine, peakRssMb, post, startProcess, summarize, type Proc, type Row } from './harness.js';

/**
 * `npm run bench [-- --smoke] [-- --scenario auth|cache]` (default: every scenario). The same gateway (built, in its own
 * process) over the same accounts and reviews subgraphs (own processes), variants measured in turn
 * A B C A B C... with every variant's body checked identical to the baseline's first.
 * Scenario `auth`: the cost of authentication and of authorization before planning:
 *   none           no auth, no authorization (baseline),
 *   auth           JWT verification at the edge, identity token signed for every subgraph fetch
 *                  and verified by the subgraphs,
 *   auth+authz     the same plus authorization before planning (gateway/permissions.yaml).
 * Scenario `cache`: the response cache (in memory) on top of auth+authz (baseline):
 *   cache hit      every request after the first is served from the cache,
 *   cache bypass   requests sent with Cache-Control: no-cache: the cost of the cache's own work
 *                  on a request that goes to the subgraphs (key fields added and stripped).
 */
const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '32' },
  },
});
const SCENARIOS = ['auth', 'cache'] as const;
type Scenario = (typeof SCENARIOS)[number];
const chosen = values.scenario === undefined || values.scenario === 'all' ? [...SCENARIOS] : [values.scenario];
if (!chosen.every((name): name is Scenario => (SCENARIOS as readonly string[]).includes(name))) {
  process.stderr.write(`bench: unknown scenario ${values.scenario} (known: ${SCENARIOS.join(', ')}, all)\n`);
  process.exit(2);
}
const smoke = values.smoke;
const rounds = Number(values.rounds ?? (smoke ? 1 : 3));
const durationSeconds = Number(values.duration ?? (smoke ? 1 : 10));
const connections = Number(values.connections);

const SECRET = 'bench-hmac-secret-of-at-least-32-characters';
const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const QUERY = '{ users(first: 20) { edges { node { id name memberSince reviews(first: 3) { rating body product { id reviewCount } } } } } }';

interface Variant {
  name: string;
  config: object;
  /** Request headers of this variant (besides the bearer token, sent by every variant but none). */
  headers?: Record<string, string>;
}

async function main(): Promise<void> {
  const processes: Proc[] = [];
  const jwks = JSON.stringify(await new IdentitySigner({ issuer: 'frontdesk-gateway', audience: 'frontdesk-subgraphs', ttlSeconds: 60, privateKeyPem: IDENTITY_KEY }).jwks);
  // The subgraphs verify identity tokens against this JWKS: the key every variant signs with.
  const jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(jwks);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
  try {
    const subgraphs: Record<string, string> = {};
    for (const name of ['accounts', 'reviews']) {
      const port = await freePort();
      processes.push(
        await startProcess(`dist/subgraphs/${name}/main.js`, [], { PORT: String(port), IDENTITY_JWKS_URL: jwksUrl }, `http://127.0.0.1:${port}/ready`),
      );
      subgraphs[name] = `http://127.0.0.1:${port}/graphql`;
    }
    const dir = projectPath('bench', 'results', '.tmp');
    mkdirSync(dir, { recursive: true });
    const base = {
      logging: { level: 'error' },
      supergraph: { path: projectPath('schema', 'supergraph.graphql'), watch: false },
      subgraphs: Object.fromEntries(Object.entries(subgraphs).map(([name, url]) => [name, { url }])),
      graphql: { landingPage: false },
    };
    const auth = { jwt: { algorithms: ['HS256'], hmacSecret: SECRET }, identity: { privateKeyPem: IDENTITY_KEY } };
    const authz = { ...base, auth, authorization: { permissionsFile: projectPath('gateway', 'permissions.yaml') } };
    const scenarios: Record<Scenario, { baseline: string; variants: Variant[] }> = {
      auth: {
        baseline: 'none',
        variants: [
          { name: 'none', config: base },
          { name: 'auth', config: { ...base, auth } },
          { name: 'auth+authz', config: authz },
        ],
      },
      cache: {
        baseline: 'auth+authz',
        variants: [
          { name: 'auth+authz', config: authz },
          { name: 'cache hit', config: { ...authz, responseCache: {} } },
          { name: 'cache bypass', config: { ...authz, responseCache: {} }, headers: { 'cache-control': 'no-cache' } },
        ],
      },
    };
    for (const scenario of chosen as Scenario[]) await run(scenario, scenarios[scenario].baseline, scenarios[scenario].variants, dir);
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    jwksServer.close();
  }
}

async function run(scenario: Scenario, baseline: string, variants: Variant[], dir: string): Promise<void> {
  const token = await new SignJWT({ roles: ['admin'], scope: 'orders:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  const headers = { authorization: `Bearer ${token}` };
  const body = JSON.stringify({ query: QUERY });

  let expected: string | undefined;
  const rows: Row[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const variant of variants) {
      const file = join(dir, `${variant.name.replace(/\W/g, '-')}.json`);
      writeFileSync(file, JSON.stringify(variant.config));
      const port = await freePort();
      const gateway = await startProcess('dist/gateway/src/main.js', ['--config', file, '--port', String(port)], { NODE_ENV: 'production' }, `http://127.0.0.1:${port}/ready`);
      try {
        const url = `http://127.0.0.1:${port}/graphql`;
        // Correctness first: every variant must answer exactly the same body, without errors.
        const sent = variant.name === 'none' ? {} : { ...headers, ...variant.headers };
        // Twice: a cached variant answers the second from its cache, which must be the same body.
        for (let i = 0; i < 2; i++) {
          const answer = await post(url, body, sent);
          if (answer.status !== 200 || answer.text.includes('"errors"')) throw new Error(`${variant.name} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
          expected ??= answer.text;
          if (answer.text !== expected) throw new Error(`${variant.name} answered a different body than the baseline`);
        }
        // Warm-up, then the measured window.
        await load({ url, body, headers: sent, connections, durationSeconds: smoke ? 1 : 3 });
        const cpuBefore = cpuMs(gateway.pid);
        const result = await load({ url, body, headers: sent, connections, durationSeconds });
        const cpu = cpuMs(gateway.pid) - cpuBefore;
        rows.push({
          variant: variant.name,
          round,
          rps: result.rps,
          p50: result.p50,
          p99: result.p99,
          errors: result.errors,
          cpuMsPerRequest: result.requests > 0 ? cpu / result.requests : NaN,
          peakRssMb: peakRssMb(gateway.pid),
        });
        process.stdout.write(`round ${round} ${variant.name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.errors} errors\n`);
      } finally {
        await gateway.stop();
      }
    }
  }
  const { table, medians } = summarize(rows, baseline);
  const header = `# Benchmark: ${scenario}\n\n${machine()}; ${connections} connections, ${durationSeconds} s per run, ${rounds} round(s) alternating variants${smoke ? ' (smoke)' : ''}.\nQuery: \`${QUERY}\` (${expected?.length ?? 0} bytes).\n\n`;
  process.stdout.write(`\n${scenario}:\n${table}\n`);
  if (!smoke) {
    mkdirSync(projectPath('bench', 'results'), { recursive: true });
    writeFileSync(projectPath('bench', 'results', `${scenario}.md`), `${header}${table}\n\nReproduce: \`npm run build && npm run bench -- --scenario ${scenario}\`.\n`);
    writeFileSync(projectPath('bench', 'results', `${scenario}.json`), `${JSON.stringify({ machine: machine(), connections, durationSeconds, rounds, rows, medians }, null, 2)}\n`);
  }
  const failed = rows.filter((r) => r.errors > 0);
  if (failed.length > 0) throw new Error(`errors under load: ${failed.map((r) => `${r.variant} round ${r.round}: ${r.errors}`).join(', ')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
