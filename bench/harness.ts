import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { projectPath } from '../subgraphs/shared/paths.js';

/**
 * The pieces every benchmark scenario shares: processes started and stopped, load from a separate
 * process (autocannon's CLI), CPU time and peak RSS of the process under test read from /proc,
 * and the table printed and written. Figures are ratios against a baseline measured in the same
 * run, never absolute thresholds.
 */

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Where the process's stdout and stderr go. */
  logFile: string;
  /** SIGTERM, then SIGKILL after 5 s; the log file is removed after a clean stop unless `keepLog`. */
  stop(options?: { keepLog?: boolean }): Promise<void>;
}

/** Where processes log. */
export const BENCH_TMP = projectPath('bench', 'results', '.tmp');

/** The last `lines` lines of a log file. */
function tail(file: string, lines = 10): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

let started = 0;

/** A free loopback port (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `node <script>` and waits until `<readyUrl>` answers 200 (GET, or the request `ready` describes). */
export async function startProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  options: { timeoutMs?: number; ready?: RequestInit; nodeArgs?: string[] } = {},
): Promise<Proc> {
  const { timeoutMs = 20_000, ready = {}, nodeArgs = [] } = options;
  // Output goes to a file, not through a pipe into this process: reading a gateway's access log
  // line by line would cost the machine's CPU that the gateway under test competes for.
  mkdirSync(BENCH_TMP, { recursive: true });
  const logFile = join(BENCH_TMP, `${String(++started).padStart(2, '0')}-${script.replace(/\W+/g, '-')}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, projectPath(script), ...args], {
    cwd: projectPath(),
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: 'true', LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}:\n${tail(logFile)}`);
    try {
      if ((await fetch(readyUrl, ready)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} was not ready within ${timeoutMs} ms:\n${tail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    pid: child.pid!,
    logFile,
    async stop(options: { keepLog?: boolean } = {}) {
      const running = child.exitCode === null;
      if (running) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const code = await exited;
      clearTimeout(timer);
      // A process that was still running and stopped cleanly leaves no log behind (an access log
      // under load is hundreds of megabytes); one that had died, or did not stop, keeps it.
      if (running && code === 0 && !options.keepLog) rmSync(logFile, { force: true });
    },
  };
}

const TICKS_PER_SECOND = 100;

/** A process and its live children (the workers of a `--workers N` gateway), from /proc. */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) tree.push(Number(entry));
    } catch {
      // Ended meanwhile.
    }
  }
  return tree;
}

function ownCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** User + system CPU time of a process and its live children so far, in ms (Linux /proc). */
export function cpuMs(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + ownCpuMs(each), 0);
}

/** Peak resident set size of a process plus that of each live child, in MB (Linux /proc VmHWM). */
export function peakRssMb(pid: number): number {
  return statusMb(pid, /VmHWM:\s+(\d+) kB/);
}

/** Resident set size now of a process plus that of each live child, in MB (Linux /proc VmRSS). */
export function rssMb(pid: number): number {
  return statusMb(pid, /VmRSS:\s+(\d+) kB/);
}

function statusMb(pid: number, field: RegExp): number {
  let total = 0;
  for (const each of processTree(pid)) {
    try {
      const match = field.exec(readFileSync(`/proc/${each}/status`, 'utf8'));
      if (match) total += Number(match[1]) / 1024;
    } catch {
      // Ended meanwhile.
    }
  }
  return total > 0 ? total : NaN;
}

export interface LoadOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Replace `[<id>]` in the headers with a unique id per request (autocannon's idReplacement). */
  idReplacement?: boolean;
  /** A fixed rate over all connections, requests per second (autocannon's overallRate). */
  overallRate?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Transport errors, timeouts and non-2xx answers together. */
  errors: number;
  /** Answers with a status outside 2xx (a refusal is one). */
  non2xx: number;
  /** Transport errors and timeouts alone (no answer at all). */
  transport: number;
}

/** Runs autocannon in its own process (bench/load.ts) against one URL, POSTing one body; parses its JSON. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const json = JSON.stringify({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    idReplacement: options.idReplacement === true,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
  // Large bodies go through a file: one argument may hold 128 KiB at most.
  let argument = json;
  if (json.length > 64 * 1024) {
    mkdirSync(BENCH_TMP, { recursive: true });
    argument = `@${join(BENCH_TMP, `load-${process.pid}-${Date.now()}.json`)}`;
    writeFileSync(argument.slice(1), json);
  }
  const args = [projectPath('dist', 'bench', 'load.js'), argument];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited with ${code}: ${stderr.slice(-500)}`);
  const result = JSON.parse(stdout) as {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
  };
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    non2xx: result.non2xx,
    transport: result.errors + result.timeouts,
  };
}

/** POSTs a GraphQL body and returns the response text. */
export async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, text: await response.text() };
}

export interface Row {
  variant: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMsPerRequest: number;
  peakRssMb: number;
  /** Subgraph fetches per client request, where the subgraphs count them. */
  fetchesPerRequest?: number;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function machine(): string {
  return `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** Median per variant and its ratio to the baseline's median requests/s, as a markdown table. */
export function summarize(rows: Row[], baseline: string): { table: string; medians: Record<string, Omit<Row, 'round' | 'variant'> & { ratio: number; cpuRatio: number }> } {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const medians: Record<string, Omit<Row, 'round' | 'variant'> & { ratio: number; cpuRatio: number }> = {};
  for (const variant of variants) {
    const own = rows.filter((r) => r.variant === variant);
    medians[variant] = {
      rps: median(own.map((r) => r.rps)),
      p50: median(own.map((r) => r.p50)),
      p99: median(own.map((r) => r.p99)),
      errors: own.reduce((sum, r) => sum + r.errors, 0),
      cpuMsPerRequest: median(own.map((r) => r.cpuMsPerRequest)),
      peakRssMb: Math.max(...own.map((r) => r.peakRssMb)),
      ...(own.every((r) => r.fetchesPerRequest !== undefined) ? { fetchesPerRequest: median(own.map((r) => r.fetchesPerRequest!)) } : {}),
      ratio: 0,
      cpuRatio: 0,
    };
  }
  const base = medians[baseline]!.rps;
  const baseCpu = medians[baseline]!.cpuMsPerRequest;
  for (const m of Object.values(medians)) {
    m.ratio = m.rps / base;
    m.cpuRatio = m.cpuMsPerRequest / baseCpu;
  }
  const fetches = Object.values(medians).some((m) => m.fetchesPerRequest !== undefined);
  const lines = [
    `| Variant | req/s (median) | ratio to ${baseline} | p50 ms | p99 ms | errors | CPU ms/req | CPU/req ratio to ${baseline} | peak RSS MB |${fetches ? ' subgraph fetches/req |' : ''}`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${fetches ? ' ---: |' : ''}`,
    ...variants.map((v) => {
      const m = medians[v]!;
      const extra = fetches ? ` ${m.fetchesPerRequest?.toFixed(2) ?? ''} |` : '';
      return `| ${v} | ${m.rps.toFixed(0)} | ${m.ratio.toFixed(2)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.errors} | ${m.cpuMsPerRequest.toPrecision(4)} | ${m.cpuRatio.toFixed(2)} | ${m.peakRssMb.toFixed(0)} |${extra}`;
    }),
  ];
  return { table: lines.join('\n'), medians };
}
