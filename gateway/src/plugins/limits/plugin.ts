import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';
import type { EdgeRequest, FrontdeskPlugin, PluginContext } from '../../core/plugin.js';
import { EdgeRefusal } from '../../core/plugin.js';
import type { LoadedSupergraph } from '../../core/supergraph.js';
import type { LimitsOptions } from './options.js';
import { describeVerdict, OperationLimits } from './operation-limits.js';

/** The plan whose limits apply: the identity's, "anonymous" without one, `all` for an identity without a plan. */
export function planOf(identity: EdgeRequest['identity']): string | undefined {
  return identity ? identity.plan : 'anonymous';
}

/**
 * Operation limits at the edge, after authentication and before the response cache, planning and
 * any subgraph call: tokens, depth, aliases, root fields, directives, fields in total and the
 * estimated cost, against the maxima of the caller's plan. A refusal is 400 QUERY_TOO_COMPLEX with
 * the limit, the measured value and the maximum in its extensions. A request body admitted once is
 * admitted again without being parsed (its exact text, by plan and supergraph).
 */
export function createLimitsPlugin(options: LimitsOptions, ctx: PluginContext): FrontdeskPlugin {
  const limits = new OperationLimits(options);
  /** Admitted bodies by plan and exact text, with their estimated cost (what rate limits weigh). */
  const admitted = new LRUCache<string, number>({ max: 10_000, maxSize: 32 * 1024 * 1024, sizeCalculation: (_v, key) => Math.max(1, key.length * 2) });
  let admittedUnder: LoadedSupergraph | undefined;
  const overLimits = new Counter({
    name: 'frontdesk_operation_limit_refusals_total',
    help: 'Operations over a limit (tokens, depth, aliases, rootFields, directives, fields, cost), by limit and action (refused; measured: served in limits.mode measure)',
    labelNames: ['limit', 'action'],
    registers: ctx.metrics ? [ctx.metrics] : [],
  });

  return {
    name: 'limits',
    admit(request: EdgeRequest): void {
      const supergraph = ctx.supergraph();
      if (supergraph !== admittedUnder) {
        admitted.clear();
        admittedUnder = supergraph;
      }
      const plan = planOf(request.identity);
      const key = request.text !== undefined ? `${plan ?? ''}\u0000${request.text}` : undefined;
      const known = key !== undefined ? admitted.get(key) : undefined;
      if (known !== undefined) {
        if (known >= 0) request.cost = known;
        return;
      }
      const body = request.body as { query?: unknown; operationName?: unknown; variables?: unknown; extensions?: { cost?: unknown } } | undefined;
      if (!body || typeof body !== 'object' || typeof body.query !== 'string') return; // Apollo Server answers a request without a query
      const variables = body.variables && typeof body.variables === 'object' && !Array.isArray(body.variables) ? (body.variables as Record<string, unknown>) : undefined;
      const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
      const estimator = limits.estimatorFor(supergraph, () => supergraph.originalSdl);
      const check = limits.check(body.query, operationName, variables, plan, estimator);
      if (check.syntaxError) {
        throw new EdgeRefusal('GRAPHQL_PARSE_FAILED', check.syntaxError.message, {}, check.syntaxError.locations ? { locations: check.syntaxError.locations } : {});
      }
      const max = limits.limitsOf(plan).cost;
      if (check.exceeded) {
        const { limit, measured, max: maximum } = check.exceeded;
        const details = { limit, measured: Math.round(measured), max: maximum, plan: plan ?? null };
        overLimits.inc({ limit, action: options.mode === 'enforce' ? 'refused' : 'measured' });
        if (options.mode === 'enforce') {
          request.logger.info({ limit, measured, max: maximum, plan }, 'operation refused: over a limit');
          throw new EdgeRefusal('QUERY_TOO_COMPLEX', describeVerdict(check.exceeded), {}, { limits: details });
        }
        request.logger.warn({ limit, measured, max: maximum, plan }, 'operation over a limit (limits.mode measure: served)');
      }
      if (check.cost !== undefined) request.cost = Math.round(check.cost);
      const asked = options.exposeCost && body.extensions !== null && typeof body.extensions === 'object' && body.extensions.cost === true;
      if (asked && check.cost !== undefined) {
        request.responseExtensions = { ...request.responseExtensions, cost: { estimated: Math.round(check.cost), max, plan: plan ?? null } };
      } else if (key !== undefined && !check.exceeded) admitted.set(key, check.cost !== undefined ? Math.round(check.cost) : -1);
    },
  };
}
