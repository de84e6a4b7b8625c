import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LogDestination } from './log-destination.js';

const dirs: string[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): { path: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'fd-log-'));
  dirs.push(dir);
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  fds.push(fd);
  return { path, fd };
}

const line = (i: number) => `${JSON.stringify({ i, msg: `line ${i} é` })}\n`;
const flushed = (destination: LogDestination) => new Promise<void>((done) => destination.flush(() => done()));
const ended = (destination: LogDestination) => new Promise<void>((done) => destination.end(done));

describe('LogDestination', () => {
  it('holds lines below minChars until the interval, then writes them in order', async () => {
    const { path, fd } = tempFile();
    const destination = new LogDestination(fd, { minChars: 1_000_000, intervalMs: 30 });
    for (let i = 0; i < 5; i++) destination.write(line(i));
    expect(readFileSync(path, 'utf8')).toBe('');
    await new Promise((r) => setTimeout(r, 150));
    expect(readFileSync(path, 'utf8')).toBe([0, 1, 2, 3, 4].map(line).join(''));
    await ended(destination);
  });

  it('writes once minChars are pending, and flush calls back when everything before it is out', async () => {
    const { path, fd } = tempFile();
    const destination = new LogDestination(fd, { minChars: 200, intervalMs: 60_000 });
    const lines = Array.from({ length: 1_000 }, (_, i) => line(i));
    for (const text of lines) destination.write(text);
    await flushed(destination);
    expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
    // Nothing pending: flush still calls back.
    await flushed(destination);
    await ended(destination);
    // After end there is no timer: a line goes out on its own.
    destination.write(line(1_000));
    await flushed(destination);
    expect(readFileSync(path, 'utf8').endsWith(line(1_000))).toBe(true);
  });

  it('loses nothing to a full non-blocking pipe: partial writes and EAGAIN are continued in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd-log-'));
    dirs.push(dir);
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    fds.push(reader);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    fds.push(writer);
    const destination = new LogDestination(writer, { minChars: 4_096, intervalMs: 10 });
    // 2 MB against a 64 KiB pipe read slowly: most writes meet a full pipe.
    const lines = Array.from({ length: 40_000 }, (_, i) => line(i));
    for (const text of lines) destination.write(text);
    const done = flushed(destination);
    let finished = false;
    void done.then(() => (finished = true));
    const received: Buffer[] = [];
    const chunk = Buffer.alloc(16_384);
    while (!finished) {
      await new Promise((r) => setTimeout(r, 1));
      try {
        const n = readSync(reader, chunk, 0, chunk.length, null);
        if (n > 0) received.push(Buffer.from(chunk.subarray(0, n)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      }
    }
    for (;;) {
      try {
        const n = readSync(reader, chunk, 0, chunk.length, null);
        if (n <= 0) break;
        received.push(Buffer.from(chunk.subarray(0, n)));
      } catch {
        break;
      }
    }
    expect(Buffer.concat(received).toString('utf8')).toBe(lines.join(''));
    await ended(destination);
  });

  it('drops lines past maxChars, counts them, and says so in the output', async () => {
    const { path, fd } = tempFile();
    const destination = new LogDestination(fd, { minChars: 1_000_000, intervalMs: 60_000, maxChars: 100, base: { service: 'billing', replica: 'b' } });
    const accepted = Array.from({ length: 10 }, (_, i) => destination.write(line(i)));
    const kept = accepted.filter(Boolean).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(10);
    await flushed(destination);
    const [notice, ...rest] = readFileSync(path, 'utf8').trim().split('\n');
    expect(JSON.parse(notice!)).toMatchObject({ level: 'warn', service: 'billing', replica: 'b', dropped: 10 - kept });
    expect(rest).toEqual(Array.from({ length: kept }, (_, i) => line(i).trim()));
    await ended(destination);
  });

  it('writes what is pending when the process exits without flushing', () => {
    // The compiled module (npm test builds first), in a process that logs and exits at once.
    const module = pathToFileURL(resolve('dist/gateway/src/core/log-destination.js')).href;
    const script = `import { LogDestination } from ${JSON.stringify(module)};
      const d = new LogDestination(1, { minChars: 1e9, intervalMs: 60000 });
      for (let i = 0; i < 3000; i++) d.write('line ' + i + '\\n');
      process.exit(0);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join(''));
  });
});
