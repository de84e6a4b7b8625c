import { write, writeSync } from 'node:fs';

export interface LogDestinationOptions {
  /** Pending characters that start a write at once. */
  minChars: number;
  /** Pending lines are written at least this often. */
  intervalMs: number;
  /** Past this many pending characters (the output cannot keep up) new lines are dropped, and counted. */
  maxChars: number;
  /** Fields of the logger's own lines (service and bindings), put on the line that counts dropped ones. */
  base: Record<string, unknown>;
}

const DEFAULTS: LogDestinationOptions = { minChars: 16_384, intervalMs: 200, maxChars: 32 * 1024 * 1024, base: {} };
/** How long to wait before writing again to an output that said EAGAIN (a full non-blocking pipe). */
const RETRY_MS = 10;

/** Destinations not yet ended: what is pending when the process exits is written then. */
const live = new Set<LogDestination>();
let exitHook = false;

/**
 * pino's destination in the gateway process: lines gathered in memory and written to a file
 * descriptor (stdout) in one asynchronous write once `minChars` are pending or every
 * `intervalMs`, so a request that logs never waits for the output and an access log line costs
 * no write of its own. One write is in flight at a time, so lines keep their order; a partial
 * write or a full pipe (EAGAIN) is continued, never lost. What is pending when the process exits
 * is written synchronously. pino's own asynchronous destination (sonic-boom) measured its whole
 * pending buffer on every line and copied strings on the main thread: half the cost of an access
 * log line at cache-hit rates (decision record 008).
 */
export class LogDestination {
  private readonly options: LogDestinationOptions;
  private pending: string[] = [];
  private pendingChars = 0;
  /** The bytes being written and how far the write got. */
  private inFlight: Buffer | undefined;
  private written = 0;
  private dropped = 0;
  private waiters: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly fd: number,
    options: Partial<LogDestinationOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.timer = setInterval(() => this.start(), this.options.intervalMs);
    this.timer.unref();
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const destination of live) destination.flushSync();
      });
    }
  }

  /** pino calls this with each serialized line (newline included). */
  write(line: string): boolean {
    if (this.pendingChars + line.length > this.options.maxChars) {
      this.dropped += 1;
      return false;
    }
    this.pending.push(line);
    this.pendingChars += line.length;
    // Once ended there is no timer: every line goes out now.
    if (this.pendingChars >= this.options.minChars || this.ended) this.start();
    return true;
  }

  /** Writes what is pending; `done` runs once everything written before this call is out (pino's `logger.flush(cb)`). */
  flush(done?: (error?: Error) => void): void {
    if (done) {
      if (this.inFlight === undefined && this.pending.length === 0 && this.dropped === 0) {
        process.nextTick(done);
        return;
      }
      this.waiters.push(() => done());
    }
    this.start();
  }

  /** Writes everything pending now, blocking: for process exit. */
  flushSync(): void {
    const rest: Buffer[] = [];
    if (this.inFlight !== undefined) rest.push(this.inFlight.subarray(this.written));
    this.inFlight = undefined;
    this.written = 0;
    const next = this.take();
    if (next) rest.push(next);
    for (const buffer of rest) {
      let offset = 0;
      while (offset < buffer.length) {
        try {
          offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
        } catch (error) {
          // A full non-blocking pipe: try again; anything else cannot be written at exit.
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') break;
        }
      }
    }
    this.notify();
  }

  /** Stops the timer and writes what is pending; later lines are written at once (the gateway stopped). */
  end(done?: () => void): void {
    this.ended = true;
    clearInterval(this.timer);
    this.flush(() => {
      live.delete(this);
      done?.();
    });
  }

  /** Lines pending, joined into bytes (with a line about the dropped ones first), or undefined. */
  private take(): Buffer | undefined {
    if (this.pending.length === 0 && this.dropped === 0) return undefined;
    let text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    if (this.dropped > 0) {
      text = `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), ...this.options.base, dropped: this.dropped, msg: 'log lines dropped: the output did not keep up' })}\n${text}`;
      this.dropped = 0;
    }
    this.pending = [];
    this.pendingChars = 0;
    return Buffer.from(text, 'utf8');
  }

  private start(): void {
    if (this.inFlight !== undefined) return;
    const next = this.take();
    if (next === undefined) {
      this.notify();
      return;
    }
    this.inFlight = next;
    this.written = 0;
    this.continue();
  }

  private continue(): void {
    const buffer = this.inFlight!;
    write(this.fd, buffer, this.written, buffer.length - this.written, null, (error, bytes) => {
      if (this.inFlight !== buffer) return; // flushSync wrote the rest meanwhile
      if (error) {
        if (error.code === 'EAGAIN') {
          setTimeout(() => this.continue(), RETRY_MS).unref();
          return;
        }
        // The output is gone (EPIPE, EBADF...): these lines cannot be written anywhere.
        this.inFlight = undefined;
      } else {
        this.written += bytes;
        if (this.written < buffer.length) {
          this.continue();
          return;
        }
        this.inFlight = undefined;
      }
      // Lines that came while writing go next; waiters are told when nothing is left.
      if (this.pendingChars >= this.options.minChars || this.waiters.length > 0 || this.ended) this.start();
    });
  }

  private notify(): void {
    if (this.inFlight !== undefined || this.pending.length > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
