import type { SubgraphReply } from '../../core/subgraph-transport.js';
import type { RetryPolicy } from './options.js';

/** Answers worth another attempt: the subgraph (or what is in front of it) is briefly unable. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Failures before any answer that another attempt may not meet (not timeouts: a hung subgraph is not asked twice). */
const RETRYABLE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);

export function retryableError(error: unknown): boolean {
  const err = error as { code?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code;
  return code !== undefined && RETRYABLE_ERRORS.has(code);
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

/**
 * Sends, and sends a query again on a retryable failure: up to `maxRetries` times, after a
 * full-jitter exponential backoff or the subgraph's Retry-After (giving up when it asks for longer
 * than `maxDelayMs`), while the budget allows.
 */
export async function withRetries(send: () => Promise<SubgraphReply>, policy: RetryPolicy, budget: RetryBudget, onRetry: (attempt: number, why: string) => void): Promise<SubgraphReply> {
  budget.request();
  for (let attempt = 0; ; attempt += 1) {
    let reply: SubgraphReply | undefined;
    let failure: unknown;
    try {
      reply = await send();
      if (!RETRYABLE_STATUS.has(reply.status)) return reply;
    } catch (error) {
      if (!retryableError(error)) throw error;
      failure = error;
    }
    const giveUp = (): SubgraphReply => {
      if (reply) return reply;
      throw failure;
    };
    if (attempt >= policy.maxRetries) return giveUp();
    const asked = reply ? retryAfterMs(reply.headers.get('retry-after')) : undefined;
    if (asked !== undefined && asked > policy.maxDelayMs) return giveUp();
    if (!budget.tryRetry()) return giveUp();
    const backoff = Math.random() * Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
    onRetry(attempt + 1, reply ? `HTTP ${reply.status}` : String((failure as { code?: string }).code ?? (failure as Error).message));
    await sleep(Math.max(backoff, asked ?? 0));
  }
}
