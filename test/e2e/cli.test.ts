import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { echoSdl, startEcho } from '../support/echo.js';
import { composeToFile, gql, tempDir } from '../support/servers.js';
import { freePort } from '../../bench/harness.js';

// The built CLI (`npm test` builds before vitest runs) as an operator would start it.
const MAIN = projectPath('dist', 'gateway', 'src', 'main.js');

let echo: RunningSubgraph;
beforeAll(async () => {
  echo = await startEcho();
});
afterAll(async () => {
  await echo?.stop();
});

interface Cli {
  child: ChildProcess;
  output: string[];
  exit: Promise<number | null>;
}

const IDENTITY_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function run(args: string[], env: Record<string, string> = {}, cwd = tempDir()): Cli {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => output.push(line));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exit };
}

async function readyUrl(cli: Cli): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const line of cli.output) {
      if (line.includes('"gateway ready"')) return (JSON.parse(line) as { url: string }).url;
    }
    if (cli.child.exitCode !== null) throw new Error(`gateway exited: ${cli.output.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gateway not ready: ${cli.output.join('\n')}`);
}

describe('node dist/gateway/src/main.js', () => {
  it('serves an arbitrary supergraph file given with --supergraph and --port, and drains on SIGTERM', async () => {
    const path = join(tempDir(), 'other.graphql');
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    const cli = run(['--supergraph', path, '--port', '0']);
    const url = await readyUrl(cli);
    expect((await gql(url, '{ added }')).body).toEqual({ data: { added: 'the new field' } });
    expect((await fetch(new URL('/ready', url))).status).toBe(200);

    const inFlight = gql(url, '{ slow(ms: 600) }');
    await new Promise((resolve) => setTimeout(resolve, 150));
    cli.child.kill('SIGTERM');
    expect((await inFlight).body).toEqual({ data: { slow: 'slept 600ms' } });
    expect(await cli.exit).toBe(0);
    expect(cli.output.some((line) => line.includes('gateway stopped'))).toBe(true);
  });

  it('--workers 2 serves one port from two processes: both answer, /metrics counts every request of both, SIGTERM drains both', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const path = join(dir, 'workers.graphql');
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    const configPath = join(dir, 'workers.yaml');
    writeFileSync(configPath, 'metrics: {}\naccessLog: {}\n');
    const cli = run(['--supergraph', path, '--port', '0', '--workers', '2', '--config', configPath]);
    const deadline = Date.now() + 15_000;
    let ready: { url: string; worker: number }[] = [];
    while (ready.length < 2 && Date.now() < deadline) {
      ready = cli.output.filter((line) => line.includes('"gateway ready"')).map((line) => JSON.parse(line) as { url: string; worker: number });
      if (cli.child.exitCode !== null) throw new Error(cli.output.join('\n'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(new Set(ready.map((r) => r.worker)).size).toBe(2);
    // One port for both.
    expect(new Set(ready.map((r) => r.url)).size).toBe(1);
    // Each worker runs with server.workerGc's V8 flags (its command line, from /proc).
    const pids = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === cli.child.pid;
        } catch {
          return false;
        }
      });
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('--max-semi-space-size=64');
      expect(argv.includes('--single-threaded-gc')).toBe(availableParallelism() <= 2);
    }
    const url = ready[0]!.url;
    // Each request on a connection of its own: the primary hands connections out in turn.
    for (let i = 0; i < 12; i++) {
      const answer = await new Promise<string>((resolve, reject) => {
        const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ query: '{ added }' }));
      });
      expect(JSON.parse(answer)).toEqual({ data: { added: 'the new field' } });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const served = cli.output.filter((line) => line.includes('"msg":"graphql request"'));
    expect(served).toHaveLength(12);
    const byWorker = new Set(served.map((line) => (JSON.parse(line) as { worker: number }).worker));
    expect(byWorker.size, served.join('\n')).toBe(2);
    // /metrics, answered by either worker, sums both.
    const metrics = await (await fetch(new URL('/metrics', url))).text();
    const counted = [...metrics.matchAll(/^frontdesk_graphql_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(counted).toBe(12);

    cli.child.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    expect(cli.output.filter((line) => line.includes('gateway stopped'))).toHaveLength(2);
  });

  it('--workers 2 signs identity tokens with one key on every worker: a subgraph trusting the JWKS of either verifies both', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const port = await freePort();
    // The subgraph fetches the JWKS from the gateway's port: whichever worker answers it.
    const trusting = await startEcho({ identity: { jwks: `http://127.0.0.1:${port}/.well-known/jwks.json` } });
    try {
      const path = join(dir, 'workers.graphql');
      composeToFile(path, [{ name: 'echo', url: trusting.url, sdl: echoSdl({ withAdded: true }) }]);
      const configPath = join(dir, 'workers.yaml');
      const key = 'fd_workers_test_key';
      writeFileSync(configPath, `accessLog: {}\nauth:\n  apiKeys:\n    keys:\n      - { sha256: ${createHash('sha256').update(key).digest('hex')}, clientId: shop, plan: pro }\n`);
      const cli = run(['--supergraph', path, '--port', String(port), '--workers', '2', '--config', configPath]);
      try {
        const deadline = Date.now() + 15_000;
        while (cli.output.filter((line) => line.includes('"gateway ready"')).length < 2 && Date.now() < deadline) {
          if (cli.child.exitCode !== null) throw new Error(cli.output.join('\n'));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const workers = new Set<number>();
        for (let i = 0; i < 12; i++) {
          const answer = await new Promise<string>((resolve, reject) => {
            const req = request(`http://127.0.0.1:${port}/graphql`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close', 'x-api-key': key } }, (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => resolve(body));
            });
            req.on('error', reject);
            req.end(JSON.stringify({ query: '{ whoami }' }));
          });
          const body = JSON.parse(answer) as { data?: { whoami: string | null }; errors?: unknown[] };
          expect(body.errors, answer).toBeUndefined();
          expect(JSON.parse(body.data!.whoami!)).toMatchObject({ kind: 'client', id: 'shop' });
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        for (const line of cli.output.filter((l) => l.includes('"msg":"graphql request"'))) workers.add((JSON.parse(line) as { worker: number }).worker);
        expect(workers.size).toBe(2);
      } finally {
        cli.child.kill('SIGTERM');
        await cli.exit;
      }
    } finally {
      await trusting.stop();
    }
  });

  it('fails fast with exit 1 naming a missing supergraph file', async () => {
    const missing = join(tempDir(), 'nope.graphql');
    const cli = run(['--supergraph', missing, '--port', '0']);
    expect(await cli.exit).toBe(1);
    expect(cli.output.join('\n')).toContain(`Cannot load supergraph ${missing}: file not found`);
  });

  it('fails fast with exit 1 naming an invalid supergraph file and the problem', async () => {
    const path = join(tempDir(), 'broken.graphql');
    writeFileSync(path, 'type Query { hello: String }\n');
    const cli = run(['--supergraph', path, '--port', '0']);
    expect(await cli.exit).toBe(1);
    const text = cli.output.join('\n');
    expect(text).toContain(`Invalid supergraph ${path}:`);
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('fails fast with exit 1 on an invalid config, naming the key path', async () => {
    const config = join(tempDir(), 'frontdesk.config.yaml');
    writeFileSync(config, 'server:\n  port: "eighty"\n  colour: blue\n');
    const cli = run(['--config', config]);
    expect(await cli.exit).toBe(1);
    const text = cli.output.join('\n');
    expect(text).toContain(`Invalid configuration in ${config}`);
    expect(text).toContain('server.port');
    expect(text).toMatch(/server: Unrecognized key.*colour/);
  });

  it('refuses to start the shipped config in production without the identity signing key every replica shares', async () => {
    const path = join(tempDir(), 'other.graphql');
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    const cli = run(['--supergraph', path, '--port', '0'], { NODE_ENV: 'production' }, projectPath());
    expect(await cli.exit).toBe(1);
    const text = cli.output.join('\n');
    expect(text).toContain('auth.identity.privateKeyPem or privateKeyFile is required with NODE_ENV=production');
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('starts the shipped frontdesk.config.yaml in production on any supergraph, the demo rules only with PERMISSIONS_FILE', async () => {
    const path = join(tempDir(), 'other.graphql');
    composeToFile(path, [{ name: 'echo', url: echo.url, sdl: echoSdl({ withAdded: true }) }]);
    const keyFile = join(tempDir(), 'identity.pem');
    writeFileSync(keyFile, IDENTITY_KEY);
    const shipped = run(['--supergraph', path, '--port', '0'], { NODE_ENV: 'production', IDENTITY_PRIVATE_KEY_FILE: keyFile }, projectPath());
    try {
      const url = await readyUrl(shipped);
      expect((await gql(url, '{ added }')).body).toEqual({ data: { added: 'the new field' } });
      // The supergraph's own @authenticated still applies.
      expect((await gql(url, '{ secret added }')).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(shipped.output.join('\n')).not.toContain('permissions name fields');
    } finally {
      shipped.child.kill('SIGTERM');
      await shipped.exit;
    }
    // The demo's rules name demo fields: on another supergraph they start with one warning.
    const demo = run(['--supergraph', path, '--port', '0'], { NODE_ENV: 'production', PERMISSIONS_FILE: 'schema/permissions.yaml', IDENTITY_PRIVATE_KEY: IDENTITY_KEY }, projectPath());
    try {
      const url = await readyUrl(demo);
      expect((await gql(url, '{ added }')).body).toEqual({ data: { added: 'the new field' } });
      const warning = demo.output.find((line) => line.includes('permissions name fields'));
      expect(warning).toContain('Query.order');
    } finally {
      demo.child.kill('SIGTERM');
      await demo.exit;
    }
  });
});
