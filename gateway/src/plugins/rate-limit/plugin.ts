import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { clientKeyOf as clientKey, usagePlanOf, type Identity } from '../../core/context.js';
import { EdgeRefusal, type AdminRoute, type EdgeRequest, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { AbuseGuard, type Block } from './abuse.js';
import type { PlanLimits, RateLimitsOptions } from './options.js';

/** One counted limit: a window (rate, burst, per operation) or a quota period. */
interface Policy {
  /** Its name in the RateLimit headers. */
  name: string;
  limit: number;
  windowSeconds: number;
  unit: 'requests' | 'cost';
  period?: 'daily' | 'monthly';
  /** The counter shared by every replica (Redis), and this replica's own (no Redis, or Redis down with onStoreFailure open). */
  shared?: RateLimiterAbstract;
  local: RateLimiterAbstract;
}

interface PlanPolicies {
  plan: string;
  maxCost?: number;
  allowed?: ReadonlySet<string>;
  rate?: Policy;
  burst?: Policy;
  tenant?: Policy;
  operations: Map<string, Policy>;
  rootFields: Map<string, Policy>;
  quotas: Policy[];
}

/** The operation a request runs: its name and its root field names; empty when the text does not parse. */
const shapeCache = new LRUCache<string, { name: string | undefined; rootFields: readonly string[] }>({ max: 5000 });
function operationShape(query: string, operationName: string | undefined): { name: string | undefined; rootFields: readonly string[] } {
  const cacheKey = `${operationName ?? ''}\u0000${query}`;
  const cached = shapeCache.get(cacheKey);
  if (cached) return cached;
  let shape: { name: string | undefined; rootFields: readonly string[] } = { name: operationName, rootFields: [] };
  try {
    const operations = parse(query, { noLocation: true, maxTokens: 10_000 }).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
    shape = { name: operationName ?? operation?.name?.value, rootFields: [...new Set((operation?.selectionSet.selections ?? []).flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : [])))] };
  } catch {
    // Apollo Server answers the syntax error.
  }
  shapeCache.set(cacheKey, shape);
  return shape;
}

const DAY = 86_400;

/** The period a quota counts in now (its key part) and when it resets. */
function periodOf(period: 'daily' | 'monthly', now = new Date()): { id: string; resetAt: Date } {
  if (period === 'daily') {
    const resetAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    return { id: now.toISOString().slice(0, 10), resetAt };
  }
  const resetAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { id: now.toISOString().slice(0, 7), resetAt };
}

const quoted = (name: string) => `"${name}"`;

/**
 * Rate limits, bursts and quotas per client from its plan (`all` with the plan's overrides),
 * counted atomically in Redis by rate-limiter-flexible (shared by every replica) or in memory.
 * A request weighs its estimated cost (the operation limits' estimate) or 1. Refusals are 429
 * RATE_LIMITED or QUOTA_EXCEEDED with Retry-After and the IETF RateLimit-Policy / RateLimit
 * headers; an admitted request's answer carries its remaining budget. When Redis fails, one
 * warning, a counter, and per onStoreFailure: this replica's own counts (open) or 503 (closed).
 */
export function createRateLimitPlugin(initial: RateLimitsOptions, ctx: PluginContext): FrontdeskPlugin {
  /** The settings in force: a changed config file replaces the plans (the counts in Redis stay: same keys). */
  let options = initial;
  const plans = new Map<string, PlanPolicies>();
  const abuse = options.abuse ? new AbuseGuard(options.abuse, options.keyPrefix, ctx.logger, ctx.redis) : undefined;
  const blockedRefusal = (block: Block): EdgeRefusal => {
    const seconds = Math.max(1, Math.ceil((block.until - Date.now()) / 1000));
    return new EdgeRefusal('CLIENT_BLOCKED', `Too many refused requests: blocked for ${seconds} s`, { 'retry-after': String(seconds) }, { blockedUntil: new Date(block.until).toISOString() });
  };
  const store = { failures: 0, failing: false, since: undefined as string | undefined };

  const limiter = (name: string, points: number, duration: number): Pick<Policy, 'shared' | 'local'> => {
    const keyPrefix = `${options.keyPrefix}:${name}`;
    const local = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!ctx.redis) return { local };
    return { local, shared: new RateLimiterRedis({ storeClient: ctx.redis.client(), keyPrefix, points, duration }) };
  };

  const policiesOf = (plan: string): PlanPolicies => {
    let found = plans.get(plan);
    if (found) return found;
    const own: PlanLimits = options.plans[plan] ?? {};
    const merged: PlanLimits = { ...options.all, ...own, operations: { ...options.all.operations, ...own.operations }, rootFields: { ...options.all.rootFields, ...own.rootFields } };
    const unit = options.weight === 'cost' ? 'cost' : 'requests';
    const window = (name: string, w: { limit: number; windowSeconds: number }): Policy => ({
      name,
      limit: w.limit,
      windowSeconds: w.windowSeconds,
      unit,
      ...limiter(`${plan}:${name}`, w.limit, w.windowSeconds),
    });
    const quotas: Policy[] = [];
    for (const period of ['daily', 'monthly'] as const) {
      const quota = merged[period];
      const length = period === 'daily' ? DAY : 31 * DAY;
      for (const quotaUnit of ['requests', 'cost'] as const) {
        const limit = quota?.[quotaUnit];
        if (limit === undefined) continue;
        // The period is part of each key, so the count starts again at each boundary; keys live two periods.
        quotas.push({ name: `${period}-${quotaUnit}`, limit, windowSeconds: length, unit: quotaUnit, period, ...limiter(`${plan}:${period}-${quotaUnit}`, limit, 2 * length) });
      }
    }
    found = {
      plan,
      ...(merged.maxCost !== undefined ? { maxCost: merged.maxCost } : {}),
      ...(merged.allowedOperations ? { allowed: new Set(merged.allowedOperations) } : {}),
      ...(merged.rate ? { rate: window('rate', merged.rate) } : {}),
      ...(merged.burst ? { burst: window('burst', merged.burst) } : {}),
      ...(merged.tenant ? { tenant: window('tenant', merged.tenant) } : {}),
      operations: new Map(Object.entries(merged.operations ?? {}).map(([name, w]) => [name, window(`op-${name}`, w)])),
      rootFields: new Map(Object.entries(merged.rootFields ?? {}).map(([name, w]) => [name, window(`field-${name}`, w)])),
      quotas,
    };
    plans.set(plan, found);
    return found;
  };

  const storeFailed = (error: unknown, request: EdgeRequest): void => {
    store.failures += 1;
    if (!store.failing) {
      store.failing = true;
      store.since = new Date().toISOString();
      request.logger.warn({ err: (error as Error).message, onStoreFailure: options.onStoreFailure }, 'rate limits: redis unavailable; counting in this replica meanwhile (open) or refusing (closed)');
    }
  };

  /** Takes `points` from a policy's counter: the shared one, or per onStoreFailure when it fails. A refusal rejects with RateLimiterRes. */
  const take = async (policy: Policy, key: string, points: number, request: EdgeRequest): Promise<RateLimiterRes> => {
    if (!policy.shared) return policy.local.consume(key, points);
    try {
      // Waits for a first connection (briefly), fails at once while Redis is known to be down.
      if (ctx.redis!.client().status !== 'ready') await ctx.redis!.ready();
      const result = await policy.shared.consume(key, points);
      if (store.failing) {
        store.failing = false;
        request.logger.info({ failures: store.failures }, 'rate limits: redis is back; limits are shared again');
      }
      return result;
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error;
      storeFailed(error, request);
      if (options.onStoreFailure === 'open') return policy.local.consume(key, points);
      throw new EdgeRefusal('SERVICE_UNAVAILABLE', 'Rate limits cannot be checked right now; retry shortly', { 'retry-after': '1' });
    }
  };

  const policyHeader = (policies: Policy[]) => policies.map((p) => `${quoted(p.name)};q=${p.limit};w=${p.windowSeconds}`).join(', ');
  const secondsUntil = (policy: Policy, res: RateLimiterRes) =>
    policy.period ? Math.max(1, Math.ceil((periodOf(policy.period).resetAt.getTime() - Date.now()) / 1000)) : Math.max(1, Math.ceil(res.msBeforeNext / 1000));

  const refuse = (request: EdgeRequest, plan: string, policy: Policy, all: Policy[], res: RateLimiterRes): never => {
    const retryAfter = secondsUntil(policy, res);
    const headers = { 'retry-after': String(retryAfter), 'ratelimit-policy': policyHeader(all), ratelimit: `${quoted(policy.name)};r=0;t=${retryAfter}` };
    if (policy.period) {
      const resetAt = periodOf(policy.period).resetAt.toISOString();
      request.logger.info({ plan, policy: policy.name, limit: policy.limit }, 'request refused: quota used up');
      throw new EdgeRefusal('QUOTA_EXCEEDED', `The ${policy.period} quota of plan "${plan}" is used up (${policy.limit} ${policy.unit}); it resets at ${resetAt}`, headers, {
        quota: { period: policy.period, limit: policy.limit, unit: policy.unit, resetAt, plan },
      });
    }
    request.logger.info({ plan, policy: policy.name, limit: policy.limit, windowSeconds: policy.windowSeconds }, 'request refused: rate limit');
    throw new EdgeRefusal('RATE_LIMITED', `Rate limit of plan "${plan}" reached (${policy.limit} ${policy.unit} per ${policy.windowSeconds} s); retry in ${retryAfter} s`, headers, {
      rateLimit: { policy: policy.name, limit: policy.limit, windowSeconds: policy.windowSeconds, unit: policy.unit, retryAfterSeconds: retryAfter, plan },
    });
  };

  const adminOnly = (identity: Identity | undefined): void => {
    if (!identity) throw new EdgeRefusal('UNAUTHENTICATED', 'The rate-limit admin routes need credentials', { 'www-authenticate': 'Bearer' });
    if (!identity.roles.includes('admin')) throw new EdgeRefusal('FORBIDDEN', 'The rate-limit admin routes need role admin');
  };
  const adminRoutes: Record<string, AdminRoute> = {
    ...(abuse
      ? {
          '/admin/blocks': {
            methods: ['GET', 'POST'],
            async handle({ identity, method, body }) {
              adminOnly(identity);
              if (method === 'GET') return { body: { blocks: abuse.list().map((b) => ({ key: b.key, until: new Date(b.until).toISOString(), remainingSeconds: b.remainingSeconds, times: b.times, code: b.code })) } };
              const lift = (body as { lift?: unknown } | null)?.lift;
              if (typeof lift !== 'string' || Object.keys(body as object).length !== 1) throw new EdgeRefusal('BAD_USER_INPUT', 'Send {"lift": "<key>"} with a key from GET /admin/blocks (e.g. "ip:203.0.113.7")');
              return { body: { lifted: await abuse.lift(lift) } };
            },
          } satisfies AdminRoute,
        }
      : {}),
    '/admin/rate-limits': {
      methods: ['GET'],
      async handle({ identity }) {
        adminOnly(identity);
        return { body: { store: ctx.redis ? 'redis' : 'memory', onStoreFailure: options.onStoreFailure, storeFailures: store.failures, storeFailing: store.failing, failingSince: store.since ?? null } };
      },
    },
  };

  const refusals = new Counter({
    name: 'frontdesk_rate_limit_refusals_total',
    help: 'Requests refused by rate limits, quotas, plan admission and abuse blocks, by code and plan',
    labelNames: ['code', 'plan'],
    registers: ctx.metrics ? [ctx.metrics] : [],
  });
  const counted = (plan: string, error: unknown): never => {
    if (error instanceof EdgeRefusal && error.code !== 'SERVICE_UNAVAILABLE') refusals.inc({ code: error.code, plan });
    throw error;
  };

  return {
    name: 'rate-limit',
    adminRoutes,
    reconfigure(config) {
      const next = config.rateLimits;
      if (!next || JSON.stringify(next) === JSON.stringify(options)) return;
      if (next.keyPrefix !== options.keyPrefix || JSON.stringify(next.abuse) !== JSON.stringify(options.abuse)) {
        ctx.logger.warn('rateLimits.keyPrefix and rateLimits.abuse take effect at the next start; the plans apply now');
      }
      options = { ...next, keyPrefix: options.keyPrefix, ...(options.abuse ? { abuse: options.abuse } : {}) };
      plans.clear();
      ctx.logger.info({ plans: Object.keys(options.plans) }, 'rate-limit plans reloaded');
    },
    ...(abuse
      ? {
          screen(clientIp: string) {
            const block = abuse.blocked(`ip:${clientIp}`);
            if (!block) return undefined;
            refusals.inc({ code: 'CLIENT_BLOCKED', plan: 'anonymous' });
            return blockedRefusal(block);
          },
          didRefuse({ code, clientIp, identity }: { code: string; clientIp: string; identity: Identity | undefined }) {
            void abuse.refused(clientKey(identity, clientIp), code);
          },
          close() {
            abuse.close();
          },
        }
      : {}),
    admit(request: EdgeRequest): Promise<void> {
      return admitRequest(request).catch((error: unknown) => counted(usagePlanOf(request.identity), error));
    },
  };

  async function admitRequest(request: EdgeRequest): Promise<void> {
    if (abuse && request.identity) {
      const block = abuse.blocked(clientKey(request.identity, request.clientIp));
      if (block) throw blockedRefusal(block);
    }
    const plan = usagePlanOf(request.identity);
    const policies = policiesOf(plan);
    const key = clientKey(request.identity, request.clientIp);
    const cost = Math.max(1, Math.ceil(request.cost ?? 1));
    const weight = options.weight === 'cost' ? cost : 1;
    const body = request.body as { operationName?: unknown; query?: unknown } | undefined;
    const given = typeof body?.operationName === 'string' ? body.operationName : undefined;
    // The document is read only when the plan needs more than the name the client sent.
    const needsShape = policies.rootFields.size > 0 || ((policies.allowed || policies.operations.size > 0) && given === undefined);
    const shape = needsShape && typeof body?.query === 'string' ? operationShape(body.query, given) : { name: given, rootFields: [] as readonly string[] };
    const operationName = shape.name;
    const operation = operationName !== undefined ? policies.operations.get(operationName) : undefined;
    // The plan's own admission: a safelist of operation names and a maximum cost (before anything is counted).
    if (policies.allowed && (operationName === undefined || !policies.allowed.has(operationName))) {
      throw new EdgeRefusal('OPERATION_NOT_ALLOWED', `Plan "${plan}" runs only its listed operations${operationName !== undefined ? `; "${operationName}" is not one of them` : ': name the operation'}`);
    }
    if (policies.maxCost !== undefined && request.cost !== undefined && request.cost > policies.maxCost) {
      throw new EdgeRefusal('QUERY_TOO_COMPLEX', `The operation's estimated cost ${request.cost} is over the ${policies.maxCost} of plan "${plan}"`, {}, {
        limits: { limit: 'cost', measured: request.cost, max: policies.maxCost, plan },
      });
    }
    const applied: Policy[] = [];
    const remaining: string[] = [];
    const count = async (policy: Policy, points: number, counterKey = key): Promise<void> => {
      applied.push(policy);
      let res: RateLimiterRes;
      try {
        res = await take(policy, counterKey, points, request);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        // A spent rate may still draw on the burst allowance.
        if (policy === policies.rate && policies.burst) {
          applied.push(policies.burst);
          try {
            res = await take(policies.burst, counterKey, points, request);
            remaining.push(`${quoted(policies.burst.name)};r=${res.remainingPoints};t=${secondsUntil(policies.burst, res)}`);
            return;
          } catch (burstError) {
            if (!(burstError instanceof RateLimiterRes)) throw burstError;
            return refuse(request, plan, policy, applied, burstError);
          }
        }
        return refuse(request, plan, policy, applied, error);
      }
      remaining.push(`${quoted(policy.name)};r=${res.remainingPoints};t=${secondsUntil(policy, res)}`);
    };
    if (policies.rate) await count(policies.rate, weight);
    if (operation) await count(operation, weight, `${key}:${operationName!}`);
    if (policies.rootFields.size > 0) {
      for (const field of shape.rootFields) {
        const policy = policies.rootFields.get(field);
        if (policy) await count(policy, weight, `${key}:field:${field}`);
      }
    }
    const tenant = request.identity?.tenant;
    if (policies.tenant && tenant !== undefined) await count(policies.tenant, weight, `tenant:${tenant}`);
    for (const quota of policies.quotas) {
      const period = periodOf(quota.period!);
      await count(quota, quota.unit === 'cost' ? cost : 1, `${period.id}:${key}`);
    }
    if (applied.length === 0) return;
    request.responseHeaders = [...(request.responseHeaders ?? []), 'ratelimit-policy', policyHeader(applied), 'ratelimit', remaining.join(', ')];
  }
}
