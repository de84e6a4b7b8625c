import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readSupergraphConfig } from '../schema/composition.js';
import { DEMO_QUERY } from '../gateway/src/core/config.js';
import { projectPath } from '../subgraphs/shared/paths.js';

/**
 * `npm start`: the whole stack on this machine. Starts the legacy stand-ins, every subgraph in
 * schema/supergraph.yaml (on the port of its routing_url) and the gateway as child processes with
 * prefixed logs, waits for each /ready, and stops everything on Ctrl-C. A service that fails to
 * start stops the run with its name and last log lines.
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
const DEV_ISSUER_PORT = 4099;

const LEGACY: Record<string, { port: number; readyPort?: number }> = {
  catalog: { port: 5001 },
  erp: { port: 5002 },
  warehouse: { port: 5003, readyPort: 5103 },
};

interface Running {
  service: Service;
  child: ChildProcess;
  tail: string[];
  exited: Promise<number | null>;
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
function entryFor(name: string): { entry: string; args?: string[] } {
  const native = projectPath('dist', 'subgraphs', name, 'main.js');
  if (existsSync(native)) return { entry: native };
  const folder = projectPath('adapters', 'services', name);
  if (existsSync(folder)) {
    for (const file of readdirSync(folder)) {
      const match = /\.(rest|grpc|soap)\.yaml$/.exec(file);
      if (match) return { entry: projectPath('dist', 'adapters', match[1]!, 'main.js'), args: ['--mapping', projectPath('adapters', 'services', name, file)] };
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

function start(service: Service): Running {
  const index = running.length;
  const child = spawn(process.execPath, [service.entry, ...(service.args ?? [])], {
    env: { ...DEV_SECRETS, ...process.env, PORT: String(service.port), ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const label = prefix(service.name, index);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      process.stdout.write(`${label} ${line}\n`);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const entry = { service, child, tail, exited };
  running.push(entry);
  void exited.then((code) => {
    if (!stopping) void fail(entry, `exited unexpectedly with code ${code}`);
  });
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
    if (entry.child.exitCode === null) entry.child.kill('SIGTERM');
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

  const gatewayPort = Number(process.env.PORT ?? 4000);
  const subgraphs = readSupergraphConfig(projectPath('schema', 'supergraph.yaml')).map((subgraph) => ({
    name: subgraph.name,
    ...entryFor(subgraph.name),
    port: Number(new URL(subgraph.url).port || 80),
  }));
  const identity = { IDENTITY_JWKS_URL: `http://127.0.0.1:${gatewayPort}/.well-known/jwks.json` };
  const issuer: Service = { name: 'issuer', entry: projectPath('dist', 'scripts', 'dev-issuer.js'), port: DEV_ISSUER_PORT };
  for (const subgraph of subgraphs) Object.assign(subgraph, { env: identity });
  const layers: Service[][] = [
    [issuer, ...legacyServices()],
    subgraphs,
    [
      {
        name: 'gateway',
        entry: projectPath('dist', 'gateway', 'src', 'main.js'),
        port: gatewayPort,
        // The demo's authorization rules name the demo's fields: they come with the demo, not with frontdesk.config.yaml.
        env: { PERMISSIONS_FILE: process.env.PERMISSIONS_FILE ?? projectPath('schema', 'permissions.yaml') },
      },
    ],
  ];
  for (const layer of layers) {
    const started = layer.map(start);
    for (const entry of started) {
      try {
        await waitReady(entry);
      } catch (error) {
        await fail(entry, (error as Error).message);
      }
    }
  }
  const url = `http://localhost:${gatewayPort}/graphql`;
  process.stdout.write(
    `\nFrontdesk is up: ${running.map((r) => r.service.name).join(', ')}\n` +
      `  Sandbox:   ${url}\n  Health:    http://localhost:${gatewayPort}/health  /ready\n` +
      `  Try it:    curl -s ${url} -H 'content-type: application/json' --data '${JSON.stringify({ query: DEMO_QUERY.replace(/\s+/g, ' ').trim() })}'\n\n` +
      `Demo query (preloaded in Sandbox):\n${DEMO_QUERY}\n` +
      `Signed in: npm run token -- --sub u1 --scopes orders:read, then in Sandbox's Headers tab\n` +
      `  Authorization: Bearer <token>   and query { me { name email orders(first: 3) { status } } }\n\n` +
      `Ctrl-C stops everything.\n\n`,
  );
}

await main().catch((error: unknown) => fail(undefined, (error as Error).message));
