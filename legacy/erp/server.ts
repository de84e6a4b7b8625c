import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as soap from 'soap';
import { createLogger, type Logger } from '../../gateway/src/core/logger.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { isSeedUserId } from '../../subgraphs/shared/seed.js';
import { StandIn, type Faults, type StandInStats } from '../shared/stand-in.js';
import { cents, PRICE_CENTS, seedOrders, totalCents, type OrderRecord } from './data.js';

export const ERP_WSDL = projectPath('legacy', 'erp', 'erp.wsdl');
export const ERP_PATH = '/soap/orders';
const MAX_QUANTITY = 99;
const PAGE_SIZE = 10;

export interface ErpOptions {
  port?: number;
  host?: string;
  logLevel?: string;
  /** WS-Security UsernameToken the ERP requires. */
  username?: string;
  password?: string;
}

export interface RunningErp {
  /** Base URL; the service is at `${url}/soap/orders`, the WSDL at `${url}/soap/orders?wsdl`. */
  url: string;
  endpoint: string;
  stats(): StandInStats;
  setFaults(faults: Partial<Faults>): Faults;
  reset(): void;
  stop(): Promise<void>;
}

interface Fault {
  Fault: { faultcode: string; faultstring: string; statusCode?: number };
}

/** The optional Caller SOAP header: who is calling through the gateway. */
interface Caller {
  userId: string;
  roles: string[];
}

function callerOf(headers: unknown): Caller | undefined {
  const element = (headers as { Caller?: { UserId?: unknown; Roles?: unknown } } | undefined)?.Caller;
  const userId = text(element?.UserId);
  if (!userId) return undefined;
  return { userId, roles: (text(element?.Roles) ?? '').split(' ').filter(Boolean) };
}

function clientFault(message: string): Fault {
  return { Fault: { faultcode: 'soap:Client', faultstring: message, statusCode: 500 } };
}

function toWire(order: OrderRecord) {
  // Element order follows the xs:sequence of tns:Order.
  return {
    attributes: { revision: order.revision.toString() },
    id: order.id,
    customerId: order.customerId,
    status: order.status,
    placedAt: order.placedAt.toISOString(),
    lines: order.lines.map((line) => ({
      productId: line.productId,
      quantity: line.quantity,
      unitPrice: { amount: cents(line.unitCents), currency: 'EUR' },
    })),
    total: { amount: cents(totalCents(order)), currency: 'EUR' },
    ...(order.note === null ? {} : { note: order.note }),
  };
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && '$value' in value) return String((value as { $value: unknown }).$value);
  return undefined;
}

/** The legacy ERP: a SOAP 1.1 service (node-soap) that requires a WS-Security UsernameToken. */
export async function startErp(options: ErpOptions = {}): Promise<RunningErp> {
  const logger: Logger = createLogger(options.logLevel ?? 'info', { service: 'legacy-erp' });
  const username = options.username ?? 'frontdesk';
  const password = options.password ?? 'erp-dev-secret';
  const standIn = new StandIn();
  const orders = seedOrders();
  const byId = new Map(orders.map((o) => [o.id, o]));

  const operation =
    <Args>(name: string, detail: (args: Args) => string, handler: (args: Args, caller: Caller | undefined) => object) =>
    async (args: Args, _cb: unknown, headers: unknown, req: IncomingMessage) => {
      const requestId = req?.headers?.['x-request-id'];
      const caller = callerOf(headers);
      // The trace context comes as a SOAP header (tc:traceparent), as a SOAP-only client would send it.
      standIn.count(name, detail(args), typeof requestId === 'string' ? requestId : undefined, caller?.userId, (headers as { traceparent?: unknown } | undefined)?.traceparent);
      logger.info({ operation: name, args, caller: caller?.userId }, 'request');
      return handler(args, caller);
    };

  const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

  const services = {
    OrderService: {
      OrderPort: {
        GetOrder: operation<{ orderId: string }>('GetOrder', (a) => a.orderId, ({ orderId }) => {
          const order = byId.get(orderId);
          if (!order) throw clientFault(`order ${orderId} not found`);
          return { order: toWire(order) };
        }),
        ListOrdersByCustomer: operation<{ customerId: string; page?: string; pageSize?: number | string }>(
          'ListOrdersByCustomer',
          (a) => `${a.customerId} page=${a.page ?? ''} size=${a.pageSize ?? ''}`,
          ({ customerId, page, pageSize }) => {
            const size = pageSize === undefined ? PAGE_SIZE : Number(pageSize);
            if (!Number.isInteger(size) || size < 1 || size > 100) throw clientFault('pageSize must be 1..100');
            // Newest first.
            const mine = orders.filter((o) => o.customerId === customerId).reverse();
            let start = 0;
            if (page) {
              start = mine.findIndex((o) => o.id === page) + 1;
              if (start === 0) throw clientFault(`unknown page ${page}`);
            }
            const slice = mine.slice(start, start + size);
            const more = start + size < mine.length;
            return { orders: slice.map(toWire), ...(more ? { nextPage: slice.at(-1)!.id } : {}) };
          },
        ),
        GetOrdersBatch: operation<{ orderIds: string | string[] }>('GetOrdersBatch', (a) => asList(a.orderIds).join(','), ({ orderIds }) => {
          const ids = asList(orderIds);
          if (ids.length > 100) throw clientFault('at most 100 order ids');
          return { orders: ids.map((id) => byId.get(id)).filter((o): o is OrderRecord => o !== undefined).map(toWire) };
        }),
        PlaceOrder: operation<{ customerId: string; lines?: { productId: string; quantity: string | number } | { productId: string; quantity: string | number }[]; note?: string }>(
          'PlaceOrder',
          (a) => a.customerId,
          ({ customerId, lines, note }) => {
            if (!isSeedUserId(customerId)) throw clientFault(`unknown customer ${customerId}`);
            const list = asList(lines);
            if (list.length === 0) throw clientFault('an order needs at least one line');
            const parsed = list.map((line) => {
              const unit = PRICE_CENTS.get(line.productId);
              if (unit === undefined) throw clientFault(`unknown product ${line.productId}`);
              const quantity = Number(line.quantity);
              if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
                throw clientFault(`quantity for ${line.productId} must be 1..${MAX_QUANTITY}, got ${line.quantity}`);
              }
              return { productId: line.productId, quantity, unitCents: unit };
            });
            const order: OrderRecord = {
              id: `o${orders.length + 1}`,
              customerId,
              status: 'Pending',
              placedAt: new Date(),
              lines: parsed,
              note: text(note) ?? null,
              revision: 9_007_199_254_740_993n,
            };
            orders.push(order);
            byId.set(order.id, order);
            return { order: toWire(order) };
          },
        ),
        CancelOrder: operation<{ orderId: string }>('CancelOrder', (a) => a.orderId, ({ orderId }, caller) => {
          const order = byId.get(orderId);
          if (!order) throw clientFault(`order ${orderId} not found`);
          // Callers that name themselves (the Caller header) cancel only their own orders, unless admin.
          if (caller && caller.userId !== order.customerId && !caller.roles.includes('admin')) {
            throw clientFault(`order ${orderId} does not belong to the caller`);
          }
          if (order.status === 'Shipped' || order.status === 'Delivered') throw clientFault(`order ${orderId} has shipped and cannot be cancelled`);
          order.status = 'Cancelled';
          order.revision += 1n;
          return { order: toWire(order) };
        }),
      },
    },
  };

  const server: Server = createServer();
  // node-soap installs its request listener once the WSDL is processed: wait for it.
  const soapServer = await new Promise<soap.Server>((resolve, reject) => {
    const listening = soap.listen(server, {
      path: ERP_PATH,
      services,
      xml: readFileSync(ERP_WSDL, 'utf8'),
      callback: (error: unknown) => (error ? reject(error as Error) : resolve(listening)),
    });
  });
  soapServer.authenticate = (security: unknown) => {
    const token = (security as { UsernameToken?: { Username?: unknown; Password?: unknown } } | undefined)?.UsernameToken;
    return text(token?.Username) === username && text(token?.Password) === password;
  };
  // Faults, probes and test controls in front of node-soap's own request listener.
  const soapListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://erp');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/health' || url.pathname === '/ready') return send(200, { status: url.pathname === '/health' ? 'ok' : 'ready', service: 'erp' });
    if (url.pathname === '/_admin/stats') return send(200, standIn.snapshot());
    if (url.pathname === '/_admin/reset' && req.method === 'POST') {
      standIn.reset();
      return send(200, { ok: true });
    }
    if (url.pathname === '/_admin/faults' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => send(200, standIn.setFaults(JSON.parse(body || '{}') as Partial<Faults>)));
      return;
    }
    const forward = () => soapListeners.forEach((listener) => listener(req, res));
    if (req.method !== 'POST') return forward();
    void standIn.delay().then(() => {
      if (standIn.shouldFail()) {
        // Counted like an answered call (by its SOAP action), so a test sees each attempt.
        const action = String(req.headers.soapaction ?? /action="([^"]*)"/.exec(String(req.headers['content-type']))?.[1] ?? '').replace(/"/g, '');
        standIn.count(action.split(/[/#]/).pop() || 'unknown', 'failed: 503', typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined);
        res.writeHead(503, { 'content-type': 'text/html' });
        return res.end('<html><body>ERP maintenance window (host erp-db-01)</body></html>');
      }
      if (standIn.faults.malformed) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        return res.end('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetOrderResponse><order><id>o1</');
      }
      forward();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'legacy ERP ready');
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    endpoint: `${url}${ERP_PATH}`,
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
