import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../gateway/src/core/logger.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { StandIn, type Faults, type StandInStats } from '../shared/stand-in.js';
import { CATEGORIES, CATEGORY_NAMES, seedProducts, type CatalogProduct, type Category } from './data.js';

export const CATALOG_OPENAPI_PATH = projectPath('legacy', 'catalog', 'openapi.json');
const MAX_IDS = 100;
const MAX_BODY = 64 * 1024;

export interface CatalogOptions {
  port?: number;
  host?: string;
  logLevel?: string;
  /** Bearer token that POST /v1/products requires. */
  adminToken?: string;
}

export interface RunningCatalog {
  url: string;
  port: number;
  server: Server;
  stats(): StandInStats;
  setFaults(faults: Partial<Faults>): Faults;
  reset(): void;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function json(res: ServerResponse, status: number, body: unknown, cacheControl = 'no-store'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': cacheControl,
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function validateNewProduct(body: unknown): Omit<CatalogProduct, 'id' | 'updated_at'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be an object');
  const b = body as Record<string, unknown>;
  const text = (field: string, required = true): string | null => {
    const value = b[field];
    if (value === undefined || value === null) {
      if (required) throw new HttpError(400, `${field} is required`, field);
      return null;
    }
    if (typeof value !== 'string' || value.trim() === '') throw new HttpError(400, `${field} must be a non-empty string`, field);
    return value.trim();
  };
  const sku = text('sku')!;
  const name = text('name')!;
  const description = text('description', false);
  if (!CATEGORIES.includes(b.category as Category)) throw new HttpError(400, `category must be one of ${CATEGORIES.join(', ')}`, 'category');
  const price = b.price as { amount?: unknown; currency?: unknown } | undefined;
  if (!price || typeof price.amount !== 'string' || !/^\d+\.\d{2}$/.test(price.amount) || price.currency !== 'EUR') {
    throw new HttpError(400, 'price must be { amount: "123.45", currency: "EUR" }', 'price');
  }
  if (typeof b.weight_kg !== 'number' || !(b.weight_kg > 0)) throw new HttpError(400, 'weight_kg must be a positive number', 'weight_kg');
  const d = b.dimensions as Record<string, unknown> | undefined;
  const dims = ['width_cm', 'depth_cm', 'height_cm'] as const;
  if (!d || dims.some((k) => !Number.isInteger(d[k]) || (d[k] as number) <= 0)) {
    throw new HttpError(400, 'dimensions must have positive integer width_cm, depth_cm and height_cm', 'dimensions');
  }
  return {
    sku,
    name,
    description,
    category: b.category as Category,
    price: { amount: price.amount, currency: 'EUR' },
    weight_kg: b.weight_kg,
    dimensions: { width_cm: d.width_cm as number, depth_cm: d.depth_cm as number, height_cm: d.height_cm as number },
  };
}

/** The legacy catalog: a plain REST/JSON service with snake_case wire names. */
export async function startCatalog(options: CatalogOptions = {}): Promise<RunningCatalog> {
  const logger: Logger = createLogger(options.logLevel ?? 'info', { service: 'legacy-catalog' });
  const adminToken = options.adminToken ?? 'catalog-admin-dev';
  const openapi = readFileSync(CATALOG_OPENAPI_PATH, 'utf8');
  const products = seedProducts();
  const byId = new Map(products.map((p) => [p.id, p]));
  const standIn = new StandIn();

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    // Uncounted endpoints: the spec, probes, and the test controls.
    if (path === '/openapi.json' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(openapi);
      return;
    }
    if (path === '/health' || path === '/ready') return json(res, 200, { status: path === '/health' ? 'ok' : 'ready', service: 'catalog' });
    if (path === '/_admin/stats' && method === 'GET') return json(res, 200, standIn.snapshot());
    if (path === '/_admin/faults' && method === 'POST') return json(res, 200, standIn.setFaults((await readJson(req)) as Partial<Faults>));
    if (path === '/_admin/reset' && method === 'POST') {
      standIn.reset();
      return json(res, 200, { ok: true });
    }

    const productMatch = /^\/v1\/products\/([^/]+)$/.exec(path);
    const operation =
      productMatch && method === 'GET'
        ? 'getProduct'
        : path === '/v1/products' && method === 'GET'
          ? 'listProducts'
          : path === '/v1/products' && method === 'POST'
            ? 'createProduct'
            : path === '/v1/categories' && method === 'GET'
              ? 'listCategories'
              : undefined;
    if (!operation) throw new HttpError(404, `no route for ${method} ${path}`);
    const requestId = req.headers['x-request-id'];
    const caller = req.headers['x-catalog-user'];
    standIn.count(operation, `${method} ${url.pathname}${url.search}`, typeof requestId === 'string' ? requestId : undefined, typeof caller === 'string' ? caller : undefined, req.headers.traceparent);
    await standIn.delay();
    if (standIn.shouldFail()) throw new HttpError(503, 'catalog temporarily unavailable');
    if (standIn.faults.malformed) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "p1", "name": "Oslo sofa", "price": {"amount": ');
      return;
    }

    switch (operation) {
      case 'getProduct': {
        const product = byId.get(decodeURIComponent(productMatch![1]!));
        if (!product) throw new HttpError(404, 'product not found');
        return json(res, 200, product, 'public, max-age=60');
      }
      case 'listProducts': {
        const ids = url.searchParams.get('ids');
        if (ids !== null) {
          const list = ids.split(',').filter(Boolean);
          if (list.length > MAX_IDS) throw new HttpError(400, `at most ${MAX_IDS} ids`, 'ids');
          const items = list.map((id) => byId.get(id)).filter((p): p is CatalogProduct => p !== undefined);
          return json(res, 200, { items, next_cursor: null }, 'public, max-age=60');
        }
        const category = url.searchParams.get('category');
        if (category !== null && !CATEGORIES.includes(category as Category)) throw new HttpError(400, 'unknown category', 'category');
        const limitText = url.searchParams.get('limit');
        const limit = limitText === null ? 20 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, 'limit must be 1..100', 'limit');
        const cursor = url.searchParams.get('cursor');
        const filtered = category ? products.filter((p) => p.category === category) : products;
        let start = 0;
        if (cursor !== null) {
          start = filtered.findIndex((p) => p.id === cursor) + 1;
          if (start === 0) throw new HttpError(400, 'unknown cursor', 'cursor');
        }
        const items = filtered.slice(start, start + limit);
        const more = start + limit < filtered.length;
        return json(res, 200, { items, next_cursor: more ? items.at(-1)!.id : null }, 'public, max-age=60');
      }
      case 'createProduct': {
        const auth = req.headers.authorization;
        if (!auth) throw new HttpError(401, 'admin token required');
        if (auth !== `Bearer ${adminToken}`) throw new HttpError(403, 'admin token refused');
        const input = validateNewProduct(await readJson(req));
        const product: CatalogProduct = { id: `p${products.length + 1}`, ...input, updated_at: new Date().toISOString() };
        products.push(product);
        byId.set(product.id, product);
        logger.info({ id: product.id }, 'product created');
        return json(res, 201, product);
      }
      default: {
        const counts = new Map<Category, number>();
        for (const p of products) counts.set(p.category, (counts.get(p.category) ?? 0) + 1);
        return json(
          res,
          200,
          CATEGORIES.map((id) => ({ id, name: CATEGORY_NAMES[id], product_count: counts.get(id) ?? 0 })),
          'public, max-age=300',
        );
      }
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://catalog');
    const started = Date.now();
    route(req, res, url)
      .catch((error: unknown) => {
        if (error instanceof HttpError) {
          json(res, error.status, { error: error.message, ...(error.field ? { field: error.field } : {}) });
        } else {
          logger.error({ err: error }, 'catalog request failed');
          json(res, 500, { error: 'internal error' });
        }
      })
      .finally(() => {
        if (!url.pathname.startsWith('/_admin') && url.pathname !== '/health' && url.pathname !== '/ready') {
          logger.info({ method: req.method, path: url.pathname + url.search, status: res.statusCode, ms: Date.now() - started }, 'request');
        }
      });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'legacy catalog ready');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    stats: () => standIn.snapshot(),
    setFaults: (faults) => standIn.setFaults(faults),
    reset: () => standIn.reset(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
