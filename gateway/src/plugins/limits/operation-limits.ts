import { LRUCache } from 'lru-cache';
import { buildASTSchema, GraphQLError, parse, type GraphQLSchema } from 'graphql';
import { DEFAULT_LIMITS, type LimitSet } from './options.js';
import { CostEstimator, costNamesOf, DocumentTooLarge, LIMIT_NAMES, measureDocument, type LimitName, type MeasuredDocument } from './measure.js';

/** An operation over one of its limits. */
export interface LimitVerdict {
  limit: LimitName;
  /** What was measured; for tokens past the parser's stop, the maximum plus one. */
  measured: number;
  max: number;
}

export interface LimitCheck {
  /** The first limit exceeded, if any. */
  exceeded?: LimitVerdict;
  /** The estimated cost of the operation that will run (when a schema with costs is known). */
  cost?: number;
  /** A syntax error: the document is not GraphQL. */
  syntaxError?: GraphQLError;
}

export interface OperationLimitsOptions {
  all?: LimitSet;
  plans?: Record<string, LimitSet>;
  defaultListSize: number;
  /** Parsed documents kept, by query text. Default 1000. */
  memoEntries?: number;
}

type Resolved = Record<LimitName, number>;

/**
 * The limits of one server (the gateway, or a subgraph protecting itself): measures an
 * operation's document once per distinct text (parsed with the token limit, fragments counted
 * once), its cost per request (it depends on the variables), and compares both with the caller's
 * plan. Shared by the gateway's limits plugin and subgraphs/shared.
 */
export class OperationLimits {
  private readonly all: Resolved;
  private readonly plans = new Map<string, Resolved>();
  /** The largest token limit of any plan: parsing never goes further. */
  private readonly maxTokens: number;
  private readonly memo: LRUCache<string, MeasuredDocument | GraphQLError | DocumentTooLarge>;
  private readonly estimators = new WeakMap<object, CostEstimator | null>();

  constructor(private readonly options: OperationLimitsOptions) {
    this.all = { ...DEFAULT_LIMITS, ...defined(options.all ?? {}) };
    for (const [plan, set] of Object.entries(options.plans ?? {})) this.plans.set(plan, { ...this.all, ...defined(set) });
    this.maxTokens = Math.max(this.all.tokens, ...[...this.plans.values()].map((set) => set.tokens));
    this.memo = new LRUCache({ max: options.memoEntries ?? 1000, maxSize: 16 * 1024 * 1024, sizeCalculation: (_value, key) => Math.max(1, key.length * 4) });
  }

  /** The maxima of a plan (undefined plan: `all`). */
  limitsOf(plan: string | undefined): Readonly<Resolved> {
    return (plan !== undefined ? this.plans.get(plan) : undefined) ?? this.all;
  }

  /**
   * The cost estimator of a schema given as SDL (a supergraph or a subgraph's own): built once per
   * `owner` object. Undefined when the SDL does not build (then cost is not limited).
   */
  estimatorFor(owner: object, sdl: () => string): CostEstimator | undefined {
    let found = this.estimators.get(owner);
    if (found === undefined) {
      try {
        const document = parse(sdl(), { noLocation: true });
        const schema: GraphQLSchema = buildASTSchema(document, { assumeValid: true, assumeValidSDL: true });
        found = new CostEstimator(schema, { defaultListSize: this.options.defaultListSize, names: costNamesOf(document) });
      } catch {
        found = null;
      }
      this.estimators.set(owner, found);
    }
    return found ?? undefined;
  }

  /** The estimator of an already built schema (a subgraph's), with the names its SDL gives @cost and @listSize. */
  estimatorOfSchema(schema: GraphQLSchema, sdl: string): CostEstimator {
    let found = this.estimators.get(schema);
    if (!found) {
      found = new CostEstimator(schema, { defaultListSize: this.options.defaultListSize, names: costNamesOf(parse(sdl, { noLocation: true })) });
      this.estimators.set(schema, found);
    }
    return found;
  }

  /** Parses (once per text) and measures an operation against a plan's limits. */
  check(
    query: string,
    operationName: string | null | undefined,
    variables: Record<string, unknown> | null | undefined,
    plan: string | undefined,
    estimator: CostEstimator | undefined,
  ): LimitCheck {
    const max = this.limitsOf(plan);
    let measured = this.memo.get(query);
    if (measured === undefined) {
      try {
        measured = measureDocument(query, this.maxTokens);
      } catch (error) {
        measured = error instanceof DocumentTooLarge || error instanceof GraphQLError ? error : new GraphQLError(String((error as Error).message));
      }
      this.memo.set(query, measured);
    }
    if (measured instanceof DocumentTooLarge) return { exceeded: { limit: 'tokens', measured: measured.maxTokens + 1, max: max.tokens } };
    if (measured instanceof GraphQLError) return { syntaxError: measured };
    if (measured.tokens > max.tokens) return { exceeded: { limit: 'tokens', measured: measured.tokens, max: max.tokens } };
    // Every operation of the document is validated, so every one is held to the structural limits.
    for (const shape of measured.operations) {
      for (const limit of STRUCTURAL) {
        if (shape[limit] > max[limit]) return { exceeded: { limit, measured: shape[limit], max: max[limit] } };
      }
    }
    if (!estimator) return {};
    const selected = operationName ? measured.operations.find((op) => op.name === operationName) : measured.operations.length === 1 ? measured.operations[0] : undefined;
    // An unknown name is the executor's 400; without one, hold every operation to the cost limit.
    const candidates = selected ? [selected] : measured.operations;
    let cost = 0;
    for (const shape of candidates) cost = Math.max(cost, estimator.estimate(measured, shape.operation, variables));
    if (cost > max.cost) return { exceeded: { limit: 'cost', measured: cost, max: max.cost }, cost };
    return { cost };
  }
}

const STRUCTURAL = ['depth', 'aliases', 'rootFields', 'directives', 'fields', 'introspectionLists'] as const satisfies readonly LimitName[];

function defined(set: LimitSet): Partial<Resolved> {
  const out: Partial<Resolved> = {};
  for (const name of LIMIT_NAMES) if (set[name] !== undefined) out[name] = set[name];
  return out;
}

/** The client-facing message of a refusal: the limit, what was measured and the maximum. */
export function describeVerdict(verdict: LimitVerdict): string {
  const what: Record<LimitName, string> = {
    tokens: 'tokens',
    depth: 'depth',
    aliases: 'aliases',
    rootFields: 'root fields',
    directives: 'directives',
    fields: 'fields',
    introspectionLists: 'nested introspection lists',
    cost: 'estimated cost',
  };
  const measured = verdict.limit === 'tokens' && verdict.measured > verdict.max ? `more than ${verdict.max}` : String(Math.round(verdict.measured));
  return `The operation exceeds the ${what[verdict.limit]} limit: ${measured}, at most ${verdict.max} allowed.`;
}
