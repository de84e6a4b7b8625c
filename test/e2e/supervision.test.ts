import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { eventually } from '../support/servers.js';

/**
 * `npm start` as an operator runs it (the built stack runner), moved by FRONTDESK_PORT_OFFSET so
 * it cannot collide with a stack on the default ports. Needs `npm run build`.
 */

/** Every port the stack binds, for an offset. */
const PORTS = [4000, 4001, 4002, 4003, 4004, 4005, 4099, 5001, 5002, 5003, 5103];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freeOffset(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const offset = 20_000 + Math.floor(Math.random() * 2_500) * 10;
    const free = await Promise.all(PORTS.map((port) => portFree(port + offset)));
    if (free.every(Boolean)) return offset;
  }
  throw new Error('no free port range for the stack');
}

/** The pids of this stack's processes running `script` (Linux /proc: their environment holds the offset). */
function pidsOf(script: string, offset: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(script)) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\u0000');
      if (environ.includes(`FRONTDESK_PORT_OFFSET=${offset}`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('npm start supervises its services', () => {
  let runner: ChildProcess;
  let offset: number;
  let output = '';
  let gateway: string;

  beforeAll(async () => {
    offset = await freeOffset();
    gateway = `http://127.0.0.1:${4000 + offset}/graphql`;
    const { PORT: _port, HOST: _host, ...env } = process.env;
    runner = spawn(process.execPath, [projectPath('dist', 'scripts', 'stack.js')], {
      cwd: projectPath(),
      env: { ...env, FRONTDESK_PORT_OFFSET: String(offset), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runner.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(async () => output.includes('Frontdesk is up') || runner.exitCode !== null, 60_000, 200);
    } finally {
      if (!output.includes('Frontdesk is up')) process.stderr.write(output.slice(-3000));
    }
    expect(runner.exitCode).toBeNull();
  }, 70_000);

  afterAll(async () => {
    if (runner && runner.exitCode === null) {
      runner.kill('SIGTERM');
      await new Promise((resolve) => runner.once('exit', resolve));
    }
  });

  const ask = async (query: string) => {
    const response = await fetch(gateway, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    return (await response.json()) as { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] };
  };

  it('binds every service to 127.0.0.1', () => {
    const listening = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === '0A') // LISTEN
      .map((cols) => ({ address: cols[1]!.split(':')[0], port: parseInt(cols[1]!.split(':')[1]!, 16) }));
    for (const port of PORTS) {
      const socket = listening.find((l) => l.port === port + offset);
      expect(socket, `port ${port + offset}`).toBeDefined();
      expect(socket!.address, `port ${port + offset}`).toBe('0100007F'); // 127.0.0.1
    }
  });

  it('restarts a killed legacy stand-in while the rest keeps serving', async () => {
    expect(await ask('{ product(id: "p1") { name } }')).toEqual({ data: { product: { name: 'Oslo corner sofa' } } });
    const [catalog] = pidsOf('dist/legacy/catalog/main.js', offset);
    expect(catalog).toBeDefined();
    process.kill(catalog!, 'SIGKILL');
    // The rest of the graph answers meanwhile.
    expect(await ask('{ user(id: "u1") { name } }')).toEqual({ data: { user: { name: 'Ada McCarthy' } } });
    await eventually(async () => output.includes('frontdesk: catalog exited with signal SIGKILL; restart #1'), 5_000, 50);
    await eventually(async () => {
      const ready = await fetch(`http://127.0.0.1:${5001 + offset}/ready`).catch(() => undefined);
      return ready?.status === 200;
    }, 20_000, 100);
    // Through the gateway again, past the response cache (a product not asked for before).
    const answer = await ask('{ product(id: "p3") { id } }');
    expect(answer).toEqual({ data: { product: { id: 'p3' } } });
    const [restarted] = pidsOf('dist/legacy/catalog/main.js', offset);
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(catalog);
    expect(runner.exitCode).toBeNull();
  }, 40_000);

  it('stops everything on SIGTERM', async () => {
    runner.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => runner.once('exit', resolve));
    expect(code).toBe(0);
    await eventually(async () => pidsOf('dist/', offset).length === 0, 10_000, 100);
    for (const port of PORTS) expect(await portFree(port + offset), `port ${port + offset}`).toBe(true);
  }, 30_000);
});
