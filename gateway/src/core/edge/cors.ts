import type { IncomingMessage } from 'node:http';

export interface CorsOptions {
  /** Allowed origins: exact (`https://app.example.com`), `*`, or with `*` in the host or as the port (`http://localhost:*`). */
  origins: readonly string[];
  credentials: boolean;
  maxAgeSeconds: number;
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
}

/** An origin pattern as a regular expression: `*` is one or more host labels, `:*` any port (or none). */
function patternOf(origin: string): RegExp {
  if (origin === '*') return /^.+$/;
  let source = '';
  for (let i = 0; i < origin.length; i += 1) {
    const char = origin[i]!;
    if (char === ':' && origin[i + 1] === '*') {
      source += '(?::\\d{1,5})?';
      i += 1;
    } else if (char === '*') source += '[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*';
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'i');
}

/**
 * CORS for browser clients: the allowed origins get `Access-Control-Allow-Origin` (the origin
 * itself, never `*` with credentials) and preflights are answered 204; a refused origin's
 * preflight is answered 403, its other requests go without CORS headers (the browser keeps the
 * answer from the page).
 */
export class Cors {
  private readonly patterns: RegExp[];
  private readonly allowHeaders: string;
  private readonly exposeHeaders: string;

  constructor(private readonly options: CorsOptions) {
    this.patterns = options.origins.map(patternOf);
    this.allowHeaders = options.allowHeaders.join(', ');
    this.exposeHeaders = options.exposeHeaders.join(', ');
  }

  allows(origin: string): boolean {
    return this.patterns.some((pattern) => pattern.test(origin));
  }

  /** Headers of a simple (non-preflight) request's answer, flat; empty when the origin is refused or absent. */
  responseHeaders(req: IncomingMessage): string[] {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !this.allows(origin)) return [];
    const headers = ['access-control-allow-origin', origin, 'vary', 'origin'];
    if (this.options.credentials) headers.push('access-control-allow-credentials', 'true');
    if (this.exposeHeaders) headers.push('access-control-expose-headers', this.exposeHeaders);
    return headers;
  }

  /** The headers of a preflight's 204, flat; undefined when the origin is refused. */
  preflightHeaders(req: IncomingMessage): string[] | undefined {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !this.allows(origin)) return undefined;
    const headers = ['access-control-allow-origin', origin, 'vary', 'origin, access-control-request-headers'];
    if (this.options.credentials) headers.push('access-control-allow-credentials', 'true');
    headers.push('access-control-allow-methods', 'GET, POST, OPTIONS');
    headers.push('access-control-allow-headers', this.allowHeaders);
    headers.push('access-control-max-age', String(this.options.maxAgeSeconds));
    return headers;
  }
}
