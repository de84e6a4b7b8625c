import { createHash } from 'node:crypto';
import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import { buildOperationContext, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import type { QueryPlan, QueryPlanner } from '@apollo/query-planner';
import { trace } from '@opentelemetry/api';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import { compilePlan, executePlan, type CompiledPlan, type GatewayExecutionResult, type GatewayGraphQLRequestContext } from './execute-plan.js';

export type ExecutorChoice = 'frontdesk' | 'apollo';

/** Operations run by each executor since the start. */
export interface PlanRuns {
  frontdesk: number;
  apollo: number;
}

/**
 * What this executor reads of @apollo/gateway 2.14's instance beyond its typed surface: the plan
 * cache its own executor fills (same keys), the schemas, the data sources and its variable
 * validation. `installExecutor` checks they are there and keeps Apollo's executor otherwise.
 */
interface GatewayInternals {
  schema?: GraphQLSchema;
  apiSchema?: Schema;
  supergraphSchema?: GraphQLSchema;
  serviceMap: Record<string, { dataSource: GraphQLDataSource }>;
  queryPlanStore: { get(key: string): Promise<QueryPlan | undefined>; set(key: string, plan: QueryPlan): Promise<void> };
  queryPlanner?: QueryPlanner;
  recursiveSelectionsLimitDisabled: boolean;
  nonLocalSelectionsLimitDisabled: boolean;
  validateIncomingRequest(request: GatewayGraphQLRequestContext, operationContext: ReturnType<typeof buildOperationContext>): GraphQLError[];
  executor: (request: GatewayGraphQLRequestContext) => Promise<GatewayExecutionResult>;
}

/**
 * With `graphql.executor: frontdesk` (the default), query plans run on Frontdesk's executor
 * (execute-plan.ts). The requests are validated and planned as Apollo's executor does, with
 * @apollo/gateway's planner and in its plan cache (same keys). A sampled (traced) request, a
 * query-plan debugging request and any plan this executor does not run (subscriptions, @defer,
 * introspection) go through Apollo's executor, which answers them as before.
 */
export function installExecutor(gateway: ApolloGateway, choice: ExecutorChoice): PlanRuns {
  const runs: PlanRuns = { frontdesk: 0, apollo: 0 };
  const internals = gateway as unknown as GatewayInternals;
  const original = internals.executor;
  const apollo = (request: GatewayGraphQLRequestContext) => {
    runs.apollo += 1;
    return original(request);
  };
  internals.executor = apollo;
  if (choice === 'apollo') return runs;
  if (typeof original !== 'function' || typeof internals.validateIncomingRequest !== 'function' || !internals.queryPlanStore) {
    throw new Error('graphql.executor frontdesk: this @apollo/gateway version does not expose what the executor reads; set graphql.executor: apollo');
  }
  // Compiled plans live as long as Apollo keeps the plan (its store is emptied on a new supergraph).
  const compiled = new WeakMap<QueryPlan, CompiledPlan | null>();
  // Read per request, as Apollo does: the gateway updates its service map in place on a new supergraph.
  const servicesOf = (): Record<string, GraphQLDataSource> => {
    const services = Object.create(null) as Record<string, GraphQLDataSource>;
    for (const name in internals.serviceMap) services[name] = internals.serviceMap[name]!.dataSource;
    return services;
  };

  internals.executor = async (request) => {
    if (trace.getActiveSpan()?.isRecording() || request.request.http?.headers.get('apollo-query-plan-experimental')) return apollo(request);
    const { document, queryHash } = request;
    const operationName = request.request.operationName;
    const key = operationName ? createHash('sha256').update(queryHash).update(operationName).digest('hex') : queryHash;
    if (!internals.schema || !internals.apiSchema || !internals.supergraphSchema || !internals.queryPlanner) return apollo(request);
    const operationContext = buildOperationContext({ schema: internals.schema, operationDocument: document, operationName: operationName ?? undefined });
    const validationErrors = internals.validateIncomingRequest(request, operationContext);
    if (validationErrors.length > 0) return { errors: validationErrors };
    let plan = await internals.queryPlanStore.get(key);
    if (!plan) {
      // As Apollo's executor plans: the operation against the API schema, the plan kept under the same key.
      const operation = operationFromDocument(internals.apiSchema, document, { operationName: operationName ?? undefined });
      plan = internals.queryPlanner.buildQueryPlan(operation, {
        recursiveSelectionsLimitDisabled: internals.recursiveSelectionsLimitDisabled,
        nonLocalSelectionsLimitDisabled: internals.nonLocalSelectionsLimitDisabled,
      });
      try {
        await internals.queryPlanStore.set(key, plan);
      } catch (error) {
        request.logger?.warn(`Could not store queryPlan${(error as Error)?.message ?? String(error)}`);
      }
    }
    let entry = compiled.get(plan);
    if (entry === undefined) {
      entry = compilePlan(plan, operationContext, internals.apiSchema) ?? null;
      compiled.set(plan, entry);
    }
    if (entry === null) return apollo(request);
    runs.frontdesk += 1;
    return executePlan(entry, request, servicesOf(), internals.supergraphSchema);
  };
  return runs;
}
