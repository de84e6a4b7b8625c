import type { SubgraphReply } from '../../core/subgraph-transport.js';
import type { RetryPolicy } from './options.js';

/** Answers worth another attempt: the subgraph (or what is in front of it) is briefly unable. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Failures before any answer that another attempt may not meet (not timeouts: a hung subgraph is not asked twice). */
const RETRYABLE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);

/** Failures before anything was sent: safe to try elsewhere even for a mutation. */
const UNSENT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  const err = error as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof err.code === 'string' ? err.code : err.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

export function retryableError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && RETRYABLE_ERRORS.has(code);
}

/** The call failed to connect: nothing reached the upstream. */
export function unsentError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && UNSENT_ERRORS.has(code);
}

/** Retry-After as milliseconds (seconds or an HTTP date); undefined without a usable one. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Retries stay under `percent` of fetches over the last 10 seconds, plus `minPerSecond`: when a
 * subgraph fails everything, retries add at most that share of load (Finagle's and Envoy's
 * retry budgets).
 */
export class RetryBudget {
  private readonly requests = new Array<number>(10).fill(0);
  private readonly retries = new Array<number>(10).fill(0);
  private second = 0;

  constructor(
    private readonly percent: number,
    private readonly minPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  private roll(): number {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      for (let s = Math.max(this.second + 1, second - 9); s <= second; s += 1) {
        this.requests[s % 10] = 0;
        this.retries[s % 10] = 0;
      }
      this.second = second;
    }
    return second % 10;
  }

  request(): void {
    this.requests[this.roll()]! += 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean {
    const slot = this.roll();
    const requests = this.requests.reduce((a, b) => a + b, 0);
    const retries = this.retries.reduce((a, b) => a + b, 0);
    if (retries >= this.minPerSecond * 10 + (requests * this.percent) / 100) return false;
    this.retries[slot]! += 1;
    return true;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the retry loop needs to know of an answer: its status and Retry-After (a subgraph reply by default). */
export interface RetryRules<T> {
  /** A call that is not idempotent (a mutation): retried only when it failed to connect. */
  unsentOnly?: boolean;
  status?(value: T): number;
  retryAfter?(value: T): string | null;
  /** A failure worth another attempt (default: connection errors). */
  retryable?(error: unknown): boolean;
  /** A failure before anything was sent (default: failures to connect). */
  unsent?(error: unknown): boolean;
}

const REPLY_RULES: RetryRules<SubgraphReply> = { status: (reply) => reply.status, retryAfter: (reply) => reply.headers.get('retry-after') };

/**
 * Sends, and sends a query again on a retryable failure: up to `maxRetries` times, after a
 * full-jitter exponential backoff or the upstream's Retry-After (giving up when it asks for longer
 * than `maxDelayMs`), while the budget allows. With `unsentOnly` (a mutation), only failures to
 * connect are tried again: nothing was sent.
 */
export async function withRetries<T = SubgraphReply>(
  send: () => Promise<T>,
  policy: RetryPolicy,
  budget: RetryBudget,
  onRetry: (attempt: number, why: string) => void,
  rules: RetryRules<T> = REPLY_RULES as RetryRules<T>,
): Promise<T> {
  budget.request();
  for (let attempt = 0; ; attempt += 1) {
    let reply: T | undefined;
    let answered = false;
    let failure: unknown;
    try {
      reply = await send();
      answered = true;
      const status = rules.status?.(reply);
      if (rules.unsentOnly || status === undefined || !RETRYABLE_STATUS.has(status)) return reply;
    } catch (error) {
      if (!(rules.unsentOnly ? (rules.unsent ?? unsentError)(error) : (rules.retryable ?? retryableError)(error))) throw error;
      failure = error;
    }
    const giveUp = (): T => {
      if (answered) return reply as T;
      throw failure;
    };
    if (attempt >= policy.maxRetries) return giveUp();
    const asked = answered && rules.retryAfter ? retryAfterMs(rules.retryAfter(reply as T)) : undefined;
    if (asked !== undefined && asked > policy.maxDelayMs) return giveUp();
    if (!budget.tryRetry()) return giveUp();
    const backoff = Math.random() * Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
    onRetry(attempt + 1, answered ? `status ${rules.status?.(reply as T)}` : (errorCode(failure) ?? (failure as Error).message));
    await sleep(Math.max(backoff, asked ?? 0));
  }
}
