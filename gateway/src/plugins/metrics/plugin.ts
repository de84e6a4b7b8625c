import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { clusterMetrics } from '../../core/cluster.js';
import { DURATION_BUCKETS, instanceLabel, metricsRoute, outcomeOf, removeSeries, TopLabels, collectProcessMetrics } from '../../core/metrics.js';
import { EdgeRefusal, type AdminRoute, type FrontdeskPlugin, type PluginContext, type ResponseRecord } from '../../core/plugin.js';
import { FetchRefused, ResponseTooLarge, type SubgraphReply } from '../../core/subgraph-transport.js';
import type { MetricsOptions } from './options.js';
import { statusPageRoutes } from './pages.js';
import { SLOT_MS, Timeline } from './timeline.js';

/** Why a subgraph fetch failed, as a bounded label. */
function failureReason(error: unknown): string {
  if (error instanceof FetchRefused) return error.code.toLowerCase();
  if (error instanceof ResponseTooLarge) return 'response_too_large';
  const code = (error as { code?: string }).code ?? '';
  const name = (error as Error).name;
  if (/TIMEOUT|ETIMEDOUT/.test(code) || name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') return 'connection';
  return 'unavailable';
}

/** The client label of a request: the name its application sent, the API key's client, or what kind of caller it is. */
function clientOf(record: ResponseRecord): string {
  if (record.clientName) return record.clientName.slice(0, 100);
  if (record.identity?.kind === 'client') return record.identity.id;
  return record.identity ? 'user' : 'anonymous';
}

interface InstanceStats {
  subgraph: string;
  instance: string;
  inFlight: number;
  fetches: number;
  errors: number;
  /** Moving average of fetch durations, in ms. */
  averageMs: number;
  lastError?: { at: string; reason: string };
}

const RECENT_ERRORS = 50;

/**
 * Prometheus metrics of the gateway (prom-client) on /metrics (or a port of its own): request
 * durations by operation, client and outcome; errors by code; subgraph fetches by subgraph and
 * instance (durations, failures, in flight); Node's process metrics. Other features register
 * theirs (cache results, breaker states, refusals) in the same registry. Also the status page:
 * the last hour in 10-second slots, top operations and clients, recent errors, subgraph instances.
 */
export function createMetricsPlugin(options: MetricsOptions, ctx: PluginContext & { metrics: Registry }): FrontdeskPlugin {
  const registry = ctx.metrics;
  if (options.processMetrics) collectProcessMetrics(registry);
  const requests = new Histogram({
    name: 'frontdesk_graphql_request_duration_seconds',
    help: 'GraphQL requests by operation name, client and outcome (success, partial, refused, failed): duration from arrival to the last byte written',
    labelNames: ['operation', 'client', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'frontdesk_graphql_errors_total',
    help: 'GraphQL responses carrying an error, by error code (a response counts once per distinct code)',
    labelNames: ['code'],
    registers: [registry],
  });
  const fetches = new Histogram({
    name: 'frontdesk_subgraph_fetch_duration_seconds',
    help: 'HTTP exchanges with subgraph instances (each attempt), by subgraph, instance and outcome (success: a 2xx answer, error)',
    labelNames: ['subgraph', 'instance', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const fetchErrors = new Counter({
    name: 'frontdesk_subgraph_fetch_errors_total',
    help: 'Failed subgraph exchanges by subgraph, instance and reason (timeout, connection, http_<status>, ...)',
    labelNames: ['subgraph', 'instance', 'reason'],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'frontdesk_subgraph_fetches_in_flight',
    help: 'Subgraph exchanges waiting for their answer, by subgraph and instance',
    labelNames: ['subgraph', 'instance'],
    registers: [registry],
  });
  const operations = new TopLabels(options.topOperations, (value) => void removeSeries(requests, 'operation', value));
  const clients = new TopLabels(options.topClients, (value) => void removeSeries(requests, 'client', value));
  const rerank = setInterval(() => {
    operations.rerank();
    clients.rerank();
  }, 60_000);
  rerank.unref();

  const timeline = new Timeline();
  const recentErrors: { at: string; requestId: string; operation: string | null; client: string; status: number; codes: readonly string[] }[] = [];
  const instances = new Map<string, InstanceStats>();
  const statsOf = (subgraph: string, instance: string): InstanceStats => {
    const key = `${subgraph}\u0000${instance}`;
    let stats = instances.get(key);
    if (!stats) instances.set(key, (stats = { subgraph, instance, inFlight: 0, fetches: 0, errors: 0, averageMs: 0 }));
    return stats;
  };
  // Cache lookups for the timeline, read from the response cache's counter (when it is on) each slot.
  let lastCache = { hits: 0, lookups: 0 };
  const sampleCache = async () => {
    const metric = registry.getSingleMetric('frontdesk_response_cache_requests_total') as Counter | undefined;
    if (!metric) return;
    let hits = 0;
    let lookups = 0;
    for (const value of (await metric.get()).values) {
      const result = value.labels.result;
      if (result === 'BYPASS') continue;
      lookups += value.value;
      if (result === 'HIT' || result === 'STALE') hits += value.value;
    }
    timeline.cache(Math.max(0, hits - lastCache.hits), Math.max(0, lookups - lastCache.lookups));
    lastCache = { hits, lookups };
  };
  const sampler = options.statusPage ? setInterval(() => void sampleCache(), SLOT_MS / 2) : undefined;
  sampler?.unref();

  let ownServer: Server | undefined;
  // With server.workers > 1, /metrics answers for every worker of the cluster.
  const route = metricsRoute([registry], clusterMetrics(registry));
  if (options.port !== undefined) {
    ownServer = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === options.path && (req.method === 'GET' || req.method === 'HEAD')) route(req, res);
      else {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify({ errors: [{ message: `No route for ${req.method ?? 'GET'} ${path}`, extensions: { code: 'NOT_FOUND' } }] }));
      }
    });
    ownServer.on('error', (error) => ctx.logger.error({ err: error.message, port: options.port }, 'metrics port failed'));
    ownServer.listen(options.port, options.host, () => {
      const address = ownServer!.address();
      ctx.logger.info({ port: typeof address === 'object' && address ? address.port : options.port, path: options.path }, 'metrics listening on their own port');
    });
  }

  const statusRoute: AdminRoute = {
    methods: ['GET'],
    async handle({ identity, query }) {
      if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'The status route needs credentials', { 'www-authenticate': 'Bearer' });
      if (!identity.roles.includes('admin')) throw new EdgeRefusal('FORBIDDEN', 'The status route needs role admin');
      const unknown = [...query.keys()].filter((key) => key !== 'minutes');
      if (unknown.length > 0) throw new EdgeRefusal('BAD_USER_INPUT', `Unknown parameter ${unknown.join(', ')}; use minutes`);
      const minutes = query.has('minutes') ? Number(query.get('minutes')) : 60;
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) throw new EdgeRefusal('BAD_USER_INPUT', 'minutes must be a whole number from 1 to 60');
      const supergraph = ctx.supergraph();
      return {
        body: {
          now: new Date().toISOString(),
          uptimeSeconds: Math.round(process.uptime()),
          summary: timeline.summary(5),
          series: timeline.series(minutes),
          topOperations: operations.top().slice(0, 10),
          topClients: clients.top().slice(0, 10),
          recentErrors: [...recentErrors].reverse(),
          subgraphs: supergraph.subgraphs.map((subgraph) => ({
            name: subgraph.name,
            instances: [...instances.values()]
              .filter((stats) => stats.subgraph === subgraph.name)
              .map((stats) => ({ ...stats, averageMs: Math.round(stats.averageMs * 100) / 100, errorRatio: stats.fetches > 0 ? Math.round((stats.errors / stats.fetches) * 10_000) / 10_000 : 0 })),
          })),
        },
      };
    },
  };

  return {
    name: 'metrics',
    routes: {
      ...(ownServer ? {} : { [options.path]: route }),
      ...(options.statusPage ? statusPageRoutes() : {}),
    },
    adminRoutes: options.statusPage ? { '/admin/status': statusRoute } : {},
    didRespond(record) {
      const outcome = outcomeOf(record.status, record.errorCodes.length);
      const client = clientOf(record);
      requests.observe({ operation: operations.label(record.operationName ?? '(anonymous)'), client: clients.label(client), outcome }, record.durationMs / 1000);
      for (const code of record.errorCodes) errors.inc({ code });
      if (!options.statusPage) return;
      timeline.record(record.durationMs, outcome);
      if (record.errorCodes.length > 0) {
        recentErrors.push({ at: new Date().toISOString(), requestId: record.requestId, operation: record.operationName, client, status: record.status, codes: record.errorCodes });
        if (recentErrors.length > RECENT_ERRORS) recentErrors.shift();
      }
    },
    subgraph: {
      // Registered after the resilience plugin: the innermost wrapper, around each attempt on the instance chosen.
      async wrapFetch(send, fetch, chosen) {
        const url = chosen ?? fetch.next();
        const labels = { subgraph: fetch.subgraph, instance: instanceLabel(url) };
        const stats = statsOf(labels.subgraph, labels.instance);
        inFlight.inc(labels);
        stats.inFlight += 1;
        const started = performance.now();
        let reply: SubgraphReply | undefined;
        let failure: string | undefined;
        try {
          reply = await send(url);
          if (reply.status < 200 || reply.status >= 300) failure = `http_${reply.status}`;
          return reply;
        } catch (error) {
          failure = failureReason(error);
          throw error;
        } finally {
          const ms = performance.now() - started;
          inFlight.dec(labels);
          stats.inFlight -= 1;
          stats.fetches += 1;
          stats.averageMs = stats.fetches === 1 ? ms : stats.averageMs * 0.9 + ms * 0.1;
          fetches.observe({ ...labels, outcome: failure ? 'error' : 'success' }, ms / 1000);
          if (failure) {
            fetchErrors.inc({ ...labels, reason: failure });
            stats.errors += 1;
            stats.lastError = { at: new Date().toISOString(), reason: failure };
          }
        }
      },
    },
    async close() {
      clearInterval(rerank);
      if (sampler) clearInterval(sampler);
      if (ownServer?.listening) await new Promise<void>((resolve) => ownServer!.close(() => resolve()));
    },
  };
}
