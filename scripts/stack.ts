import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createInterface } from 'node:readline';
import { readSupergraphConfig } from '../schema/composition.js';
import { DEMO_QUERY } from '../gateway/src/core/config.js';
import { projectPath } from '../subgraphs/shared/paths.js';

/**
 * `npm start`: the whole stack on this machine. Starts the legacy stand-ins, every subgraph in
 * schema/supergraph.yaml (on the port of its routing_url) and the gateway as child processes with
 * prefixed logs, all on 127.0.0.1 unless HOST is set, waits for each /ready, and stops everything
 * on Ctrl-C or SIGTERM. A service that fails to start stops the run with its name and last log
 * lines; one that exits later is restarted with backoff while the others keep serving.
 */

interface Service {
  name: string;
  entry: string;
  args?: string[];
  port: number;
  /** Where /ready answers, when it is not `port` (gRPC services answer HTTP on an admin port). */
  readyPort?: number;
  env?: Record<string, string>;
}

/**
 * Development credentials shared by the stand-ins and the adapters that call them, unless the
 * environment sets its own: the ERP's WS-Security user and the catalog's admin token.
 */
const DEV_SECRETS: Record<string, string> = {
  ERP_USERNAME: 'frontdesk',
  ERP_PASSWORD: 'erp-dev-secret',
  CATALOG_ADMIN_TOKEN: 'catalog-admin-dev',
};

/** Ports of the legacy stand-ins; adapter mapping files point their targets at these. */
const DEV_ISSUER_PORT = 4099 + Number(process.env.FRONTDESK_PORT_OFFSET ?? 0);

/**
 * FRONTDESK_PORT_OFFSET moves every port of the stack by that much (a second stack on one machine,
 * the supervision test); the adapters' targets and the gateway's subgraph URLs follow.
 */
const OFFSET = Number(process.env.FRONTDESK_PORT_OFFSET ?? 0);
if (!Number.isInteger(OFFSET) || OFFSET < 0 || OFFSET > 50_000) throw new Error(`FRONTDESK_PORT_OFFSET must be an integer from 0 to 50000, not ${process.env.FRONTDESK_PORT_OFFSET}`);

const LEGACY: Record<string, { port: number; readyPort?: number }> = {
  catalog: { port: 5001 + OFFSET },
  erp: { port: 5002 + OFFSET },
  warehouse: { port: 5003 + OFFSET, readyPort: 5103 + OFFSET },
};

/** An adapter's target with the offset applied to a legacy stand-in's port: TARGET_URL or TARGET_ADDRESS for its process. */
function targetEnv(mappingFile: string): Record<string, string> {
  if (OFFSET === 0) return {};
  const mapping = parseYaml(readFileSync(mappingFile, 'utf8')) as { target?: { url?: string; address?: string } };
  const shift = (port: string) => String(Number(port) + OFFSET);
  if (mapping.target?.url) return { TARGET_URL: mapping.target.url.replace(/:(\d+)(?=\/|$)/, (_m, port: string) => `:${shift(port)}`) };
  if (mapping.target?.address) return { TARGET_ADDRESS: mapping.target.address.replace(/:(\d+)$/, (_m, port: string) => `:${shift(port)}`) };
  return {};
}

interface Running {
  service: Service;
  child: ChildProcess;
  tail: string[];
  label: string;
  /** How the current child exited ("code 1", "signal SIGKILL"). */
  exited: Promise<string>;
  /** Ready once: from then on an exit restarts it instead of stopping the run. */
  supervised: boolean;
  restarts: number;
  backoffMs: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
}

const READY_TIMEOUT_MS = 30_000;
const TAIL_LINES = 30;
const COLORS = [36, 35, 33, 32, 34, 31, 96, 95];
const useColor = process.stdout.isTTY;
const running: Running[] = [];
let stopping = false;

function prefix(name: string, index: number): string {
  const label = `[${name}]`.padEnd(14);
  return useColor ? `\u001b[${COLORS[index % COLORS.length]}m${label}\u001b[0m` : label;
}

/**
 * How a subgraph starts, by convention: a native subgraph's dist/subgraphs/<name>/main.js, or the
 * generic adapter engine with the mapping file in adapters/services/<name>/.
 */
function entryFor(name: string): { entry: string; args?: string[]; env?: Record<string, string> } {
  const native = projectPath('dist', 'subgraphs', name, 'main.js');
  if (existsSync(native)) return { entry: native };
  const folder = projectPath('adapters', 'services', name);
  if (existsSync(folder)) {
    for (const file of readdirSync(folder)) {
      const match = /\.(rest|grpc|soap)\.yaml$/.exec(file);
      const mapping = projectPath('adapters', 'services', name, file);
      if (match) return { entry: projectPath('dist', 'adapters', match[1]!, 'main.js'), args: ['--mapping', mapping], env: targetEnv(mapping) };
    }
  }
  throw new Error(`no start script for "${name}": expected subgraphs/${name}/main.ts or a mapping in adapters/services/${name}/`);
}

function legacyServices(): Service[] {
  return Object.entries(LEGACY)
    .filter(([name]) => existsSync(projectPath('dist', 'legacy', name, 'main.js')))
    .map(([name, ports]) => ({
      name,
      entry: projectPath('dist', 'legacy', name, 'main.js'),
      ...ports,
      env: ports.readyPort ? { ADMIN_PORT: String(ports.readyPort) } : undefined,
    }));
}

/** Where every service listens: this machine only, unless HOST says otherwise. */
const HOST = process.env.HOST ?? '127.0.0.1';
/** Restart backoff: doubles from the first delay up to the last; a run this long resets it. */
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

function spawnChild(entry: Running): void {
  const { service } = entry;
  const child = spawn(process.execPath, [service.entry, ...(service.args ?? [])], {
    env: { ...DEV_SECRETS, ...process.env, HOST, PORT: String(service.port), ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      entry.tail.push(line);
      if (entry.tail.length > TAIL_LINES) entry.tail.shift();
      process.stdout.write(`${entry.label} ${line}\n`);
    });
  }
  entry.child = child;
  entry.startedAt = Date.now();
  entry.exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`)));
  void entry.exited.then((how) => {
    if (stopping || entry.child !== child) return;
    if (!entry.supervised) {
      void fail(entry, `exited unexpectedly with ${how}`);
      return;
    }
    restart(entry, how);
  });
}

/**
 * A service that exits after it was ready is started again after a backoff (0.5 s doubling to
 * 30 s, back to 0.5 s after a minute of running), with one line each time; the others keep serving.
 */
function restart(entry: Running, how: string): void {
  if (Date.now() - entry.startedAt > STABLE_AFTER_MS) entry.backoffMs = BACKOFF_FIRST_MS;
  const delay = entry.backoffMs;
  entry.backoffMs = Math.min(BACKOFF_MAX_MS, entry.backoffMs * 2);
  entry.restarts += 1;
  process.stderr.write(`frontdesk: ${entry.service.name} exited with ${how}; restart #${entry.restarts} in ${delay} ms\n`);
  entry.timer = setTimeout(() => {
    entry.timer = undefined;
    if (!stopping) spawnChild(entry);
  }, delay);
}

function start(service: Service): Running {
  const entry = {
    service,
    tail: [],
    label: prefix(service.name, running.length),
    supervised: false,
    restarts: 0,
    backoffMs: BACKOFF_FIRST_MS,
    startedAt: 0,
  } as unknown as Running;
  running.push(entry);
  spawnChild(entry);
  return entry;
}

async function waitReady(entry: Running): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const url = `http://127.0.0.1:${entry.service.readyPort ?? entry.service.port}/ready`;
  while (Date.now() < deadline) {
    if (entry.child.exitCode !== null) throw new Error(`exited with code ${entry.child.exitCode} before it was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000}s (${url})`);
}

async function stopAll(): Promise<void> {
  stopping = true;
  // Gateway first, so no request reaches a subgraph that is already gone.
  for (const entry of [...running].reverse()) {
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGTERM');
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), 15_000);
    await entry.exited;
    clearTimeout(timer);
  }
}

async function fail(entry: Running | undefined, reason: string): Promise<never> {
  if (!stopping) {
    process.stderr.write(`\nfrontdesk: ${entry ? entry.service.name : 'stack'} ${reason}\n`);
    if (entry) process.stderr.write(`last log lines of ${entry.service.name}:\n${entry.tail.map((l) => `  ${l}`).join('\n')}\n`);
    await stopAll();
  }
  process.exit(1);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  const gatewayPort = Number(process.env.PORT ?? 4000 + OFFSET);
  const subgraphs = readSupergraphConfig(projectPath('schema', 'supergraph.yaml')).map((subgraph) => ({
    name: subgraph.name,
    ...entryFor(subgraph.name),
    port: Number(new URL(subgraph.url).port || 80) + OFFSET,
  }));
  const identity = { IDENTITY_JWKS_URL: `http://127.0.0.1:${gatewayPort}/.well-known/jwks.json` };
  const issuer: Service = { name: 'issuer', entry: projectPath('dist', 'scripts', 'dev-issuer.js'), port: DEV_ISSUER_PORT };
  for (const subgraph of subgraphs) subgraph.env = { ...subgraph.env, ...identity };
  // The gateway finds moved subgraphs by SUBGRAPH_<NAME>_URL, and the moved issuer by AUTH_JWKS_URL.
  const moved: Record<string, string> =
    OFFSET === 0
      ? {}
      : {
          AUTH_JWKS_URL: `http://127.0.0.1:${DEV_ISSUER_PORT}/.well-known/jwks.json`,
          ...Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`, `http://127.0.0.1:${s.port}/graphql`])),
        };
  const layers: Service[][] = [
    [issuer, ...legacyServices()],
    subgraphs,
    [
      {
        name: 'gateway',
        entry: projectPath('dist', 'gateway', 'src', 'main.js'),
        port: gatewayPort,
        // The demo's authorization rules name the demo's fields: they come with the demo, not with frontdesk.config.yaml.
        env: { PERMISSIONS_FILE: process.env.PERMISSIONS_FILE ?? projectPath('schema', 'permissions.yaml'), ...moved },
      },
    ],
  ];
  for (const layer of layers) {
    const started = layer.map(start);
    for (const entry of started) {
      try {
        await waitReady(entry);
        entry.supervised = true;
      } catch (error) {
        await fail(entry, (error as Error).message);
      }
    }
  }
  const url = `http://localhost:${gatewayPort}/graphql`;
  process.stdout.write(
    `\nFrontdesk is up: ${running.map((r) => r.service.name).join(', ')}\n` +
      `  Explorer:  ${url}  (GraphiQL served by the gateway; works without internet)\n` +
      `  Status:    http://localhost:${gatewayPort}/status  (admin token: npm run token -- --sub ops --roles admin)\n` +
      `  Metrics:   http://localhost:${gatewayPort}/metrics\n  Health:    http://localhost:${gatewayPort}/health  /ready\n` +
      `  Try it:    curl -s ${url} -H 'content-type: application/json' --data '${JSON.stringify({ query: DEMO_QUERY.replace(/\s+/g, ' ').trim() })}'\n\n` +
      `Demo query (preloaded in the explorer):\n${DEMO_QUERY}\n` +
      `Signed in: npm run token -- --sub u1 --scopes orders:read, then in the explorer's Headers tab\n` +
      `  "Authorization": "Bearer <token>"   and query { me { name email orders(first: 3) { status } } }\n\n` +
      `Ctrl-C stops everything.\n\n`,
  );
}

await main().catch((error: unknown) => fail(undefined, (error as Error).message));
