import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  getEnterLeaveForKind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  parse,
  TokenKind,
  valueFromASTUntyped,
  type ASTVisitor,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type Token,
  type ValidationContext,
} from 'graphql';

/** What is measured of an operation, each checked against its plan's maximum. */
export const LIMIT_NAMES = ['tokens', 'depth', 'aliases', 'rootFields', 'directives', 'fields', 'introspectionLists', 'cost'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
export type Limits = Partial<Record<LimitName, number>>;

/** The shape of one operation: every measure but cost, which depends on the variables. */
export interface OperationShape {
  name: string | undefined;
  operation: OperationDefinitionNode;
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  fields: number;
  /** Introspection lists nested in one another (types → fields → args is 3, what every introspection query needs). */
  introspectionLists: number;
}

/** A document parsed once and measured once: the memo of a query text. */
export interface MeasuredDocument {
  document: DocumentNode;
  tokens: number;
  operations: OperationShape[];
  fragments: Map<string, FragmentDefinitionNode>;
}

export class DocumentTooLarge extends Error {
  constructor(readonly maxTokens: number) {
    super(`the document has more than ${maxTokens} tokens`);
  }
}

/**
 * Parses a document with graphql-js's token limit (parsing stops at the limit, so a token flood
 * costs no more than the limit) and measures every operation in it. Depth, aliases and directives
 * are graphql-armor's rules, which count each fragment once and reuse the count wherever it is
 * spread; root fields and fields in total are counted the same way here.
 * Throws DocumentTooLarge past `maxTokens`, or the GraphQLError of a syntax error.
 */
export function measureDocument(text: string, maxTokens: number): MeasuredDocument {
  let document: DocumentNode;
  try {
    document = parse(text, { maxTokens });
  } catch (error) {
    // graphql-js 16 words it "more that N tokens".
    if (/Document contains more th\w+ \d+ tokens/.test((error as Error).message)) throw new DocumentTooLarge(maxTokens);
    throw error;
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  // graphql-armor's rules need nothing of the validation context but the fragments.
  const context = { getFragment: (name: string) => fragments.get(name) } as unknown as ValidationContext;
  const measured = { depth: 0, aliases: 0, directives: 0 };
  const armor = (rule: (context: ValidationContext) => unknown, into: keyof typeof measured) => {
    const visitor = rule(context) as ASTVisitor;
    const enter = getEnterLeaveForKind(visitor, Kind.OPERATION_DEFINITION).enter!;
    return (operation: OperationDefinitionNode): number => {
      measured[into] = 0;
      (enter as (this: ASTVisitor, node: OperationDefinitionNode) => void).call(visitor, operation);
      return measured[into];
    };
  };
  const accept = (into: keyof typeof measured) => [(_: unknown, { n }: { n: number }) => void (measured[into] = n)];
  const depthOf = armor(maxDepthRule({ n: Infinity, ignoreIntrospection: true, flattenFragments: true, onAccept: accept('depth'), propagateOnRejection: false }), 'depth');
  // Depth is the nesting of fields: a fragment spread adds no level of its own.
  // Every alias counts, __typename's too: 5,000 aliased __typename still make 5,000 result fields.
  const aliasesOf = armor(maxAliasesRule({ n: Infinity, allowList: [], onAccept: accept('aliases'), propagateOnRejection: false }), 'aliases');
  const directivesOf = armor(maxDirectivesRule({ n: Infinity, onAccept: accept('directives'), propagateOnRejection: false }), 'directives');
  const counts = new FieldCounter(fragments);
  return {
    document,
    tokens: countTokens(document),
    fragments,
    operations: operations.map((operation) => ({
      name: operation.name?.value,
      operation,
      depth: depthOf(operation),
      aliases: aliasesOf(operation),
      directives: directivesOf(operation),
      rootFields: counts.count(operation.selectionSet, false),
      fields: counts.count(operation.selectionSet, true),
      introspectionLists: counts.introspectionLists(operation.selectionSet),
    })),
  };
}

/** Tokens of a parsed document, from the token list the parser keeps (no second lexing). */
function countTokens(document: DocumentNode): number {
  let tokens = 0;
  for (let token: Token | null | undefined = document.loc?.startToken; token; token = token.next) {
    if (token.kind !== TokenKind.COMMENT && token.kind !== TokenKind.SOF && token.kind !== TokenKind.EOF) tokens += 1;
  }
  return tokens;
}

/** Introspection fields that return lists: nested in one another, each multiplies the answer by the schema's size. */
const INTROSPECTION_LISTS = new Set(['types', 'fields', 'args', 'inputFields', 'interfaces', 'possibleTypes', 'enumValues', 'directives']);

/** Counts fields of a selection set (nested or only the first level), each fragment counted once and reused. */
class FieldCounter {
  private readonly memo = { nested: new Map<string, number>(), flat: new Map<string, number>(), lists: new Map<string, number>() };

  /**
   * The most introspection lists nested on one path below `__schema` or `__type` (graphql-armor's
   * depth leaves introspection out, so `types { fields { type { fields { ... } } } }` would not be
   * bounded otherwise). Fragments are measured once.
   */
  introspectionLists(selectionSet: SelectionSetNode, inside = false): number {
    let deepest = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const within = inside || name === '__schema' || name === '__type';
        if (!selection.selectionSet) continue;
        const below = this.introspectionLists(selection.selectionSet, within);
        deepest = Math.max(deepest, below + (within && INTROSPECTION_LISTS.has(name) ? 1 : 0));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, this.introspectionLists(selection.selectionSet, inside));
      } else {
        // A fragment is measured once inside introspection and once outside.
        const key = `${inside ? 'i' : 'o'}${selection.name.value}`;
        let found = this.memo.lists.get(key);
        if (found === undefined) {
          this.memo.lists.set(key, 0);
          const fragment = this.fragments.get(selection.name.value);
          found = fragment ? this.introspectionLists(fragment.selectionSet, inside) : 0;
          this.memo.lists.set(key, found);
        }
        deepest = Math.max(deepest, found);
      }
    }
    return deepest;
  }

  constructor(private readonly fragments: Map<string, FragmentDefinitionNode>) {}

  count(selectionSet: SelectionSetNode, nested: boolean): number {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        total += 1;
        if (nested && selection.selectionSet) total += this.count(selection.selectionSet, true);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += this.count(selection.selectionSet, nested);
      } else {
        const memo = nested ? this.memo.nested : this.memo.flat;
        const name = selection.name.value;
        let found = memo.get(name);
        if (found === undefined) {
          memo.set(name, 0); // a cycle counts nothing (validation refuses it)
          const fragment = this.fragments.get(name);
          found = fragment ? this.count(fragment.selectionSet, nested) : 0;
          memo.set(name, found);
        }
        total += found;
      }
    }
    return total;
  }
}

/** The cost directives of one schema, by the names its @link gives them (see readCostDirectives). */
export interface CostNames {
  cost: string;
  listSize: string;
}

const COST_SPEC = /^https:\/\/specs\.apollo\.dev\/(?:cost|federation)\/v\d+\.\d+$/;

/**
 * The names of @cost and @listSize in a schema: Apollo's names, or the names a `@link` imports
 * them as (`import: [{ name: "@cost", as: "@weight" }]`); a supergraph links the cost spec.
 */
export function costNamesOf(document: DocumentNode): CostNames {
  const names: CostNames = { cost: 'cost', listSize: 'listSize' };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const args = Object.fromEntries((link.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)])) as { url?: unknown; import?: unknown };
      if (typeof args.url !== 'string' || !COST_SPEC.test(args.url) || !Array.isArray(args.import)) continue;
      for (const entry of args.import as unknown[]) {
        const [from, as] = typeof entry === 'string' ? [entry, entry] : [(entry as { name?: string }).name, (entry as { as?: string }).as ?? (entry as { name?: string }).name];
        if (from === '@cost' && as) names.cost = as.slice(1);
        if (from === '@listSize' && as) names.listSize = as.slice(1);
      }
    }
  }
  return names;
}

export interface CostOptions {
  /** Size assumed for a list field without @listSize and without a slicing argument. */
  defaultListSize: number;
  names: CostNames;
}

interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
}

/**
 * Demand control's static cost estimate, with Apollo's semantics: a field returning an object,
 * interface or union costs 1, a scalar or enum 0, `@cost(weight)` on the field, its type or an
 * argument replaces or adds that; a list multiplies its items by its size: the largest slicing
 * argument given (or its default), else `@listSize(assumedSize)`, else the default list size;
 * `sizedFields` apply the slicing size to those child lists (connections). A mutation adds 10.
 * Each fragment is costed once per document and reused.
 */
export class CostEstimator {
  private readonly weights = new WeakMap<object, number | null>();
  private readonly sizes = new WeakMap<object, ListSize | null>();

  constructor(
    readonly schema: GraphQLSchema,
    private readonly options: CostOptions,
  ) {}

  estimate(measured: MeasuredDocument, operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined): number {
    const root = operation.operation === 'mutation' ? this.schema.getMutationType() : operation.operation === 'subscription' ? this.schema.getSubscriptionType() : this.schema.getQueryType();
    if (!root) return 0;
    const walk = new CostWalk(this, measured.fragments, variables ?? {}, operation);
    return (operation.operation === 'mutation' ? 10 : 0) + walk.selectionSet(operation.selectionSet, root, undefined);
  }

  /** The @cost weight of a definition (field, argument, type), or undefined. */
  weightOf(node: { astNode?: { directives?: readonly DirectiveNode[] } | null; extensionASTNodes?: readonly { directives?: readonly DirectiveNode[] }[] }): number | undefined {
    let found = this.weights.get(node);
    if (found === undefined) {
      const directive = directiveOf(node, this.options.names.cost);
      const weight = directive ? argumentOf(directive, 'weight') : undefined;
      found = typeof weight === 'number' ? weight : typeof weight === 'string' && Number.isFinite(Number(weight)) ? Number(weight) : null;
      this.weights.set(node, found);
    }
    return found ?? undefined;
  }

  listSizeOf(field: GraphQLField<unknown, unknown>): ListSize | undefined {
    let found = this.sizes.get(field);
    if (found === undefined) {
      const directive = directiveOf(field, this.options.names.listSize);
      if (!directive) found = null;
      else {
        const assumed = argumentOf(directive, 'assumedSize');
        const slicing = argumentOf(directive, 'slicingArguments');
        const sized = argumentOf(directive, 'sizedFields');
        found = {
          ...(typeof assumed === 'number' ? { assumedSize: assumed } : {}),
          ...(Array.isArray(slicing) ? { slicingArguments: slicing.map(String) } : {}),
          ...(Array.isArray(sized) ? { sizedFields: sized.map(String) } : {}),
        };
      }
      this.sizes.set(field, found);
    }
    return found ?? undefined;
  }

  get defaultListSize(): number {
    return this.options.defaultListSize;
  }
}

function directiveOf(
  node: { astNode?: { directives?: readonly DirectiveNode[] } | null; extensionASTNodes?: readonly { directives?: readonly DirectiveNode[] }[] },
  name: string,
): DirectiveNode | undefined {
  const found = node.astNode?.directives?.find((d) => d.name.value === name);
  if (found) return found;
  for (const extension of node.extensionASTNodes ?? []) {
    const inExtension = extension.directives?.find((d) => d.name.value === name);
    if (inExtension) return inExtension;
  }
  return undefined;
}

function argumentOf(directive: DirectiveNode, name: string): unknown {
  const arg = directive.arguments?.find((a) => a.name.value === name);
  return arg ? valueFromASTUntyped(arg.value) : undefined;
}

/** One operation's cost walk: fragments memoized by name and parent type. */
class CostWalk {
  private readonly memo = new Map<string, number>();

  constructor(
    private readonly estimator: CostEstimator,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
    private readonly operation: OperationDefinitionNode,
  ) {}

  selectionSet(selectionSet: SelectionSetNode, parent: GraphQLCompositeType, sized: { fields: string[]; size: number } | undefined): number {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) total += this.field(selection, parent, sized);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.typeNamed(selection.typeCondition.name.value) ?? parent : parent;
        total += this.selectionSet(selection.selectionSet, type, sized);
      } else {
        const name = selection.name.value;
        let found = this.memo.get(name);
        if (found === undefined) {
          this.memo.set(name, 0); // a cycle costs nothing (validation refuses it)
          const fragment = this.fragments.get(name);
          const type = fragment ? this.typeNamed(fragment.typeCondition.name.value) ?? parent : parent;
          found = fragment ? this.selectionSet(fragment.selectionSet, type, undefined) : 0;
          this.memo.set(name, found);
        }
        total += found;
      }
    }
    return total;
  }

  private typeNamed(name: string): GraphQLCompositeType | undefined {
    const type = this.estimator.schema.getType(name);
    return type && isCompositeType(type) ? type : undefined;
  }

  private field(node: FieldNode, parent: GraphQLCompositeType, sized: { fields: string[]; size: number } | undefined): number {
    if (node.name.value.startsWith('__')) return 0;
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!definition) return 0;
    const named = getNamedType(definition.type) as GraphQLNamedType;
    const composite = isCompositeType(named);
    let weight = this.estimator.weightOf(definition) ?? this.estimator.weightOf(named) ?? (composite ? 1 : 0);
    for (const argument of definition.args) {
      const argWeight = this.estimator.weightOf(argument);
      if (argWeight !== undefined && node.arguments?.some((a) => a.name.value === argument.name)) weight += argWeight;
    }
    const listSize = this.estimator.listSizeOf(definition);
    const slicing = listSize?.slicingArguments ? this.slicingSize(node, definition, listSize.slicingArguments) : undefined;
    const childSized = listSize?.sizedFields && slicing !== undefined ? { fields: listSize.sizedFields, size: slicing } : undefined;
    const children = node.selectionSet && composite ? this.selectionSet(node.selectionSet, named, childSized) : 0;
    if (!isListType(getNullableType(definition.type))) return weight + children;
    let size: number;
    if (node.name.value === '_entities' && parent === this.estimator.schema.getQueryType()) size = this.representations(node);
    else if (sized?.fields.includes(node.name.value)) size = sized.size;
    else if (slicing !== undefined && !listSize?.sizedFields) size = slicing;
    else size = listSize?.assumedSize ?? this.estimator.defaultListSize;
    return size * (weight + children);
  }

  /** A subgraph's entity fetch returns one item per representation it is sent. */
  private representations(node: FieldNode): number {
    const given = node.arguments?.find((a) => a.name.value === 'representations')?.value;
    if (given?.kind === Kind.LIST) return given.values.length;
    if (given?.kind === Kind.VARIABLE) {
      const value = this.variables[given.name.value];
      if (Array.isArray(value)) return value.length;
    }
    return 1;
  }

  /** The largest slicing argument given (a literal, a variable or the argument's default). */
  private slicingSize(node: FieldNode, definition: GraphQLField<unknown, unknown>, names: string[]): number | undefined {
    let size: number | undefined;
    for (const name of names) {
      const given = node.arguments?.find((a) => a.name.value === name);
      let value: unknown;
      if (given) {
        if (given.value.kind === Kind.VARIABLE) {
          const variable = given.value.name.value;
          value = variable in this.variables ? this.variables[variable] : valueOfDefault(this.operation, variable);
        } else value = valueFromASTUntyped(given.value);
      } else value = definition.args.find((a) => a.name === name)?.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size ?? 0, value);
    }
    return size;
  }
}

function valueOfDefault(operation: OperationDefinitionNode, variable: string): unknown {
  const definition = operation.variableDefinitions?.find((v) => v.variable.name.value === variable);
  return definition?.defaultValue ? valueFromASTUntyped(definition.defaultValue) : undefined;
}
