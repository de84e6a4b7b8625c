import { randomBytes } from 'node:crypto';

/**
 * A cheap 32-bit fingerprint of a string, to find long keys (request bodies, Authorization headers)
 * in a map by number: its length, its first and last 64 characters, and 32 spread between. A Map
 * keyed by the string itself hashes every character of each new string, more than half a
 * microsecond for a 460-character body (decision record 015). A fingerprint can be shared by two
 * strings: whoever keys by it compares the full string before using what it found.
 */
export function fingerprint(text: string, seed: number): number {
  const n = text.length;
  let h = Math.imul(seed ^ n, FNV_PRIME);
  const head = n < 64 ? n : 64;
  for (let i = 0; i < head; i += 1) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  if (n > 64) {
    const tail = n - 64 > 64 ? n - 64 : 64;
    for (let i = tail; i < n; i += 1) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
    const span = tail - 64;
    if (span > 0) for (let k = 0; k < 32; k += 1) h = Math.imul(h ^ text.charCodeAt(64 + ((k * span) >>> 5)), FNV_PRIME);
  }
  return h >>> 0;
}

const FNV_PRIME = 16777619;

/** A seed per process: which strings share a fingerprint cannot be worked out from outside. */
export const PROCESS_SEED = randomBytes(4).readInt32LE(0);
