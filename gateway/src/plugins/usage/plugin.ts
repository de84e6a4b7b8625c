import { clientKeyOf, usagePlanOf } from '../../core/context.js';
import { EdgeRefusal, type AdminRoute, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { toCsv, UsageMeter } from './meter.js';
import type { UsageOptions } from './options.js';

/** A period bound from a query parameter: an ISO date or time; undefined when absent. */
function instant(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new EdgeRefusal('BAD_USER_INPUT', `${name} must be an ISO date or time, e.g. 2026-12-03 or 2026-12-03T14:00:00Z`);
  return at;
}

/**
 * Metering: every answered GraphQL request (by Apollo Server, from the response cache, or refused
 * at the edge) counts for its client, plan, operation name and hour: requests, errors by code
 * (requests that carried each code), estimated cost units, response bytes and latency buckets.
 * Each replica counts in memory and adds its counts to Redis every flushIntervalMs; without Redis
 * the memory is the store. `GET /admin/usage` (role admin) reports them (`?from&to&client&plan&operation`,
 * `&format=csv` for billing).
 */
export function createUsagePlugin(options: UsageOptions, ctx: PluginContext): FrontdeskPlugin {
  const meter = new UsageMeter(options, ctx.redis ? () => ctx.redis!.ready(2000) : undefined);
  let failing = false;
  const flush = async (): Promise<void> => {
    try {
      await meter.flush();
      if (failing) ctx.logger.info('usage counts reach redis again');
      failing = false;
    } catch (error) {
      if (!failing) ctx.logger.warn({ err: (error as Error).message }, 'usage counts cannot reach redis; kept in memory meanwhile');
      failing = true;
    }
  };
  const timer = ctx.redis ? setInterval(() => void flush(), options.flushIntervalMs) : undefined;
  timer?.unref();

  const usageRoute: AdminRoute = {
    methods: ['GET'],
    async handle({ identity, query }) {
      if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'The usage admin route needs credentials', { 'www-authenticate': 'Bearer' });
      if (!identity.roles.includes('admin')) throw new EdgeRefusal('FORBIDDEN', 'The usage admin route needs role admin');
      const known = new Set(['from', 'to', 'client', 'plan', 'operation', 'format']);
      const unknown = [...query.keys()].filter((key) => !known.has(key));
      if (unknown.length > 0) throw new EdgeRefusal('BAD_USER_INPUT', `Unknown parameter ${unknown.join(', ')}; use from, to, client, plan, operation, format`);
      const format = query.get('format') ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new EdgeRefusal('BAD_USER_INPUT', 'format must be json or csv');
      const now = Date.now();
      const from = instant(query.get('from'), 'from') ?? now - 24 * 3_600_000;
      const to = instant(query.get('to'), 'to') ?? now;
      if (to < from) throw new EdgeRefusal('BAD_USER_INPUT', 'to is before from');
      if (to - from > 400 * 86_400_000) throw new EdgeRefusal('BAD_USER_INPUT', 'A report spans 400 days at most');
      // This replica's latest counts first, so a report right after traffic has all of it.
      await flush();
      const rows = await meter.report({
        from,
        to,
        ...(query.get('client') ? { client: query.get('client')! } : {}),
        ...(query.get('plan') ? { plan: query.get('plan')! } : {}),
        ...(query.get('operation') ? { operation: query.get('operation')! } : {}),
      });
      if (format === 'csv') return { body: toCsv(rows), contentType: 'text/csv; charset=utf-8' };
      return { body: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows } };
    },
  };

  return {
    name: 'usage',
    adminRoutes: { '/admin/usage': usageRoute },
    didRespond(record) {
      meter.record({
        client: clientKeyOf(record.identity, record.clientIp),
        plan: usagePlanOf(record.identity),
        operation: record.operationName ?? '(anonymous)',
        status: record.status,
        errorCodes: record.errorCodes,
        cost: record.cost ?? 0,
        bytes: record.bytes,
        durationMs: record.durationMs,
        at: Date.now(),
      });
    },
    async close() {
      if (timer) clearInterval(timer);
      await flush();
    },
  };
}
