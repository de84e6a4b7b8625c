/** A cache hint as a subgraph's Cache-Control header states it. */
export interface CacheHint {
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
}

/**
 * Reads a subgraph's Cache-Control as a hint: `max-age`, `private`; `no-store` or `no-cache`
 * make it uncacheable. Undefined without the header, so callers choose their default.
 */
export function hintFromCacheControl(header: string | null): CacheHint | undefined {
  if (header === null) return undefined;
  let maxAge = 0;
  let scope: CacheHint['scope'] = 'PUBLIC';
  for (const part of header.toLowerCase().split(',')) {
    const [directive, value] = part.trim().split('=');
    if (directive === 'no-store' || directive === 'no-cache') return { maxAge: 0, scope };
    if (directive === 'private') scope = 'PRIVATE';
    if (directive === 'max-age' && value && /^\d+$/.test(value)) maxAge = Number(value);
  }
  return { maxAge, scope };
}
