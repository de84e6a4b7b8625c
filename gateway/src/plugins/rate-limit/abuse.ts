import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../../core/logger.js';
import type { SharedRedis } from '../../core/redis.js';
import type { AbuseOptions } from './options.js';

export interface Block {
  key: string;
  until: number;
  /** How many times this key was blocked (the period doubles with each). */
  times: number;
  code: string;
}

/**
 * Blocks a client (its key: API key client, user, or the address of a caller without valid
 * credentials) that collects too many refusals of the configured codes within a window: the
 * refusals are counted by rate-limiter-flexible (in Redis, shared by every replica, or in memory),
 * and a block lasts blockSeconds, doubling with each further block up to maxBlockSeconds. Blocks
 * live in a Redis hash every replica reads each second (in memory without Redis), so an operator
 * lifts one for all.
 */
export class AbuseGuard {
  private readonly blocks = new Map<string, Block>();
  private readonly strikes: RateLimiterAbstract;
  private readonly codes: ReadonlySet<string>;
  private readonly hash: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: AbuseOptions,
    keyPrefix: string,
    private readonly logger: Logger,
    private readonly redis?: SharedRedis,
  ) {
    this.codes = new Set(options.codes);
    this.hash = `${keyPrefix}:blocks`;
    const limits = { keyPrefix: `${keyPrefix}:strikes`, points: options.refusals, duration: options.windowSeconds };
    this.strikes = redis ? new RateLimiterRedis({ storeClient: redis.client(), ...limits }) : new RateLimiterMemory(limits);
    if (redis) {
      this.timer = setInterval(() => void this.sync(), 1000);
      this.timer.unref();
    }
  }

  /** The block on this key now, if any. */
  blocked(key: string, now = Date.now()): Block | undefined {
    const block = this.blocks.get(key);
    if (!block) return undefined;
    if (block.until > now) return block;
    return undefined;
  }

  /** Counts a refusal against the key; past the threshold within the window, blocks it. */
  async refused(key: string, code: string): Promise<void> {
    if (!this.codes.has(code) || this.blocked(key)) return;
    try {
      const counted = await this.strikes.consume(key, 1);
      if (counted.consumedPoints >= this.options.refusals) await this.block(key, code);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) return; // the store is down: no block rather than a wrong one
      await this.block(key, code);
    }
  }

  private async block(key: string, code: string): Promise<void> {
    const times = (this.blocks.get(key)?.times ?? 0) + 1;
    const seconds = Math.min(this.options.maxBlockSeconds, this.options.blockSeconds * 2 ** (times - 1));
    const block: Block = { key, until: Date.now() + seconds * 1000, times, code };
    this.blocks.set(key, block);
    await this.strikes.delete(key).catch(() => undefined);
    this.logger.warn({ key, seconds, times, code }, `client ${key} blocked for ${seconds} s after repeated refusals`);
    if (!this.redis) return;
    try {
      await (await this.redis.ready()).hset(this.hash, key, JSON.stringify(block));
    } catch {
      // This replica still blocks it.
    }
  }

  /** Takes the blocks every replica wrote (and the lifts) from Redis. */
  private async sync(): Promise<void> {
    try {
      const stored = await (await this.redis!.ready()).hgetall(this.hash);
      const now = Date.now();
      const seen = new Set<string>();
      for (const [key, value] of Object.entries(stored)) {
        seen.add(key);
        try {
          const block = JSON.parse(value) as Block;
          // Kept a day after it ends: the next block of the key is longer.
          if (block.until + 86_400_000 < now) await this.redis!.client().hdel(this.hash, key);
          else this.blocks.set(key, block);
        } catch {
          await this.redis!.client().hdel(this.hash, key);
        }
      }
      for (const key of this.blocks.keys()) if (!seen.has(key)) this.blocks.delete(key);
    } catch {
      // Redis down: keep the blocks known here.
    }
  }

  list(now = Date.now()): (Block & { remainingSeconds: number })[] {
    return [...this.blocks.values()].filter((b) => b.until > now).map((b) => ({ ...b, remainingSeconds: Math.ceil((b.until - now) / 1000) }));
  }

  /** Lifts a block (every replica, through Redis); true when there was one. */
  async lift(key: string): Promise<boolean> {
    const had = this.blocked(key) !== undefined;
    const block = this.blocks.get(key);
    // The history stays (a next block is longer); the block ends now.
    if (block) this.blocks.set(key, { ...block, until: Date.now() });
    await this.strikes.delete(key).catch(() => undefined);
    if (this.redis && block) await (await this.redis.ready()).hset(this.hash, key, JSON.stringify({ ...block, until: Date.now() }));
    if (had) this.logger.info({ key }, `block of client ${key} lifted`);
    return had;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
