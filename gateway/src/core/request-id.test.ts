import { describe, expect, it } from 'vitest';
import { requestId } from './request-id.js';

describe('requestId', () => {
  it('makes version 4 UUIDs, none twice, across refills of its random pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i += 1) {
      const id = requestId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5_000);
  });

  it('spreads its digits evenly (random, not a counter)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4_000; i += 1) {
      const digit = requestId().slice(-1);
      counts.set(digit, (counts.get(digit) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    for (const count of counts.values()) expect(count).toBeGreaterThan(150);
  });
});
