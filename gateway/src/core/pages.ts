import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const require = createRequire(import.meta.url);

/** The gateway's own pages (status, explorer) load nothing from elsewhere: scripts, styles and data from this origin only. */
export const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** A GET route answering fixed bytes with a content type (immutable assets are cached by the browser). */
export function staticRoute(body: string | Buffer, contentType: string, cache = 'no-cache'): (req: IncomingMessage, res: ServerResponse) => void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return (req, res) => {
    res.statusCode = 200;
    res.setHeader('content-type', contentType);
    res.setHeader('content-length', bytes.length);
    res.setHeader('cache-control', cache);
    res.setHeader('x-content-type-options', 'nosniff');
    if (contentType.startsWith('text/html')) {
      res.setHeader('content-security-policy', PAGE_CSP);
      res.setHeader('referrer-policy', 'no-referrer');
    }
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };
}

/** A file of an installed npm package (whether or not the package exports its path), read once. */
export function packageFile(pkg: string, file: string): Buffer {
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const path = join(dir, pkg, file);
    if (existsSync(path)) return readFileSync(path);
  }
  throw new Error(`${pkg}/${file} is not installed (npm ci)`);
}
