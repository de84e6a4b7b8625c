import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { createLogger, type Logger } from '../../gateway/src/core/logger.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { SEED_PRODUCT_COUNT } from '../../subgraphs/shared/seed.js';
import { StandIn, type Faults, type StandInStats } from '../shared/stand-in.js';

export const WAREHOUSE_PROTO = projectPath('legacy', 'warehouse', 'warehouse.proto');

export interface WarehouseOptions {
  port?: number;
  /** HTTP port for /health, /ready and the /_admin test controls (0 picks one). */
  adminPort?: number;
  host?: string;
  logLevel?: string;
}

export interface RunningWarehouse {
  /** host:port of the gRPC server. */
  address: string;
  port: number;
  adminUrl: string;
  stats(): StandInStats;
  setFaults(faults: Partial<Faults>): Faults;
  reset(): void;
  stop(): Promise<void>;
}

interface Stock {
  quantity: number;
  version: bigint;
  updatedAt: Date;
}

/** Stock for p1..p200: every seventh product is out of stock; versions sit beyond 2^53. */
export function seedStock(): Map<string, Stock> {
  const stock = new Map<string, Stock>();
  for (let i = 1; i <= SEED_PRODUCT_COUNT; i += 1) {
    stock.set(`p${i}`, {
      quantity: i % 7 === 0 ? 0 : ((i * 37) % 90) + 3,
      version: 9_007_199_254_740_993n + BigInt(i),
      updatedAt: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000),
    });
  }
  return stock;
}

function timestamp(date: Date): { seconds: string; nanos: number } {
  const ms = date.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

const ZONES: Record<string, { days: number; base: number; carrier: string }> = {
  DE: { days: 2, base: 4.9, carrier: 'DHL' },
  AT: { days: 3, base: 7.9, carrier: 'DHL' },
  CH: { days: 4, base: 14.9, carrier: 'Swiss Post' },
  FR: { days: 3, base: 8.9, carrier: 'Colissimo' },
  NL: { days: 3, base: 7.5, carrier: 'PostNL' },
  US: { days: 9, base: 39, carrier: 'FedEx' },
};

type Call<Req> = grpc.ServerUnaryCall<Req, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

function fail(callback: Callback, code: grpc.status, details: string): void {
  callback({ code, details } as grpc.ServiceError, null);
}

/** The legacy warehouse: a gRPC server with server reflection, request counters and fault knobs. */
export async function startWarehouse(options: WarehouseOptions = {}): Promise<RunningWarehouse> {
  const logger: Logger = createLogger(options.logLevel ?? 'info', { service: 'legacy-warehouse' });
  const definition = protoLoader.loadSync(WAREHOUSE_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    warehouse: { v1: { Inventory: grpc.ServiceClientConstructor; Shipping: grpc.ServiceClientConstructor } };
  };
  const stock = seedStock();
  const standIn = new StandIn();
  let reservations = 0;

  // Counting, latency, the UNAVAILABLE rate and malformed answers, around every handler.
  const counted =
    <Req>(operation: string, detail: (req: Req) => string, handler: (call: Call<Req>, callback: Callback) => void) =>
    (call: Call<Req>, callback: Callback): void => {
      const requestId = call.metadata.get('x-request-id')[0];
      const caller = call.metadata.get('x-warehouse-user')[0];
      standIn.count(operation, detail(call.request), typeof requestId === 'string' ? requestId : undefined, typeof caller === 'string' ? caller : undefined, call.metadata.get('traceparent')[0]);
      logger.info({ operation, request: call.request }, 'request');
      void standIn.delay().then(() => {
        if (call.cancelled) return;
        if (standIn.shouldFail()) return fail(callback, grpc.status.UNAVAILABLE, 'warehouse temporarily unavailable');
        if (standIn.faults.malformed) return fail(callback, grpc.status.INTERNAL, 'corrupted record');
        handler(call, callback);
      });
    };

  const level = (id: string) => {
    const entry = stock.get(id)!;
    return { product_id: id, quantity: entry.quantity, in_stock: entry.quantity > 0, version: entry.version.toString(), updated_at: timestamp(entry.updatedAt) };
  };

  const server = new grpc.Server();
  server.addService(proto.warehouse.v1.Inventory.service, {
    GetStock: counted<{ product_id: string }>('GetStock', (r) => r.product_id, (call, callback) => {
      if (!stock.has(call.request.product_id)) return fail(callback, grpc.status.NOT_FOUND, `no stock record for ${call.request.product_id}`);
      callback(null, level(call.request.product_id));
    }),
    BatchGetStock: counted<{ product_ids: string[] }>('BatchGetStock', (r) => r.product_ids.join(','), (call, callback) => {
      if (call.request.product_ids.length > 500) return fail(callback, grpc.status.INVALID_ARGUMENT, 'at most 500 ids');
      callback(null, { levels: call.request.product_ids.filter((id) => stock.has(id)).map(level) });
    }),
    Reserve: counted<{ product_id: string; quantity: number }>('Reserve', (r) => `${r.product_id}x${r.quantity}`, (call, callback) => {
      const { product_id: id, quantity } = call.request;
      const entry = stock.get(id);
      if (!entry) return fail(callback, grpc.status.NOT_FOUND, `no stock record for ${id}`);
      if (quantity <= 0) return fail(callback, grpc.status.INVALID_ARGUMENT, 'quantity must be positive');
      if (entry.quantity < quantity) return fail(callback, grpc.status.FAILED_PRECONDITION, `only ${entry.quantity} left`);
      entry.quantity -= quantity;
      entry.version += 1n;
      entry.updatedAt = new Date();
      reservations += 1;
      callback(null, {
        reservation_id: `res-${reservations}`,
        product_id: id,
        quantity,
        remaining: entry.quantity,
        expires_at: timestamp(new Date(Date.now() + 15 * 60_000)),
      });
    }),
  });
  server.addService(proto.warehouse.v1.Shipping.service, {
    Estimate: counted<{ weight_kg: number; destination: string }>('Estimate', (r) => `${r.weight_kg}kg->${r.destination}`, (call, callback) => {
      const { weight_kg: weight, destination } = call.request;
      const zone = ZONES[destination.toUpperCase()];
      if (!(weight > 0)) return fail(callback, grpc.status.INVALID_ARGUMENT, 'weight_kg must be positive');
      if (!zone) return fail(callback, grpc.status.INVALID_ARGUMENT, `no shipping to ${destination}`);
      const days = zone.days + (weight > 50 ? 2 : weight > 20 ? 1 : 0);
      const price = zone.base + Math.ceil(weight) * 0.45;
      callback(null, {
        transit_time: { seconds: String(days * 86_400), nanos: 0 },
        days,
        price: { amount: price.toFixed(2), currency: 'EUR' },
        carrier: zone.carrier,
      });
    }),
  });
  new ReflectionService(definition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host ?? '0.0.0.0'}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  const admin: HttpServer = createHttpServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', 'http://warehouse').pathname;
    if (path === '/health' || path === '/ready') return send(200, { status: path === '/health' ? 'ok' : 'ready', service: 'warehouse', grpcPort: port });
    if (path === '/_admin/stats') return send(200, standIn.snapshot());
    if (path === '/_admin/reset' && req.method === 'POST') {
      standIn.reset();
      return send(200, { ok: true });
    }
    if (path === '/_admin/faults' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        try {
          send(200, standIn.setFaults(JSON.parse(body) as Partial<Faults>));
        } catch {
          send(400, { error: 'body must be JSON' });
        }
      });
      return;
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => admin.listen(options.adminPort ?? 0, options.host ?? '0.0.0.0', resolve));
  const adminPort = (admin.address() as AddressInfo).port;
  logger.info({ port, adminPort }, 'legacy warehouse ready');

  return {
    address: `127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    stats: () => standIn.snapshot(),
    setFaults: (faults) => standIn.setFaults(faults),
    reset: () => standIn.reset(),
    stop: async () => {
      server.forceShutdown();
      await new Promise<void>((resolve) => {
        admin.close(() => resolve());
        admin.closeAllConnections();
      });
    },
  };
}
