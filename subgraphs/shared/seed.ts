/**
 * The ids every stand-in agrees on, so that seeded data references resolve across services:
 * users u1..u60 live in accounts, products p1..p200 in the legacy catalog.
 */
export const SEED_USER_COUNT = 60;
export const SEED_PRODUCT_COUNT = 200;

export function isSeedUserId(id: string): boolean {
  const match = /^u([1-9]\d*)$/.exec(id);
  return match !== null && Number(match[1]) <= SEED_USER_COUNT;
}

export function isCatalogProductId(id: string): boolean {
  const match = /^p([1-9]\d*)$/.exec(id);
  return match !== null && Number(match[1]) <= SEED_PRODUCT_COUNT;
}

/** A small deterministic PRNG (mulberry32) so seeded data is identical on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
