/**
 * lru-cache's clock for entries that must end at a wall-clock time (a token's `exp`): its default,
 * performance.now(), is monotonic and would not follow the system clock the expiry is read against.
 * Used with ttlResolution 0: the clock is read on every lookup, never a cached reading.
 */
export const WALL_CLOCK = { now: (): number => Date.now() };
