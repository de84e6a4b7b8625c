import {
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  Variable,
  type CompositeType,
  type NamedType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';

/**
 * The client's answer shaped from the merged subgraph data: what @apollo/gateway's
 * `computeResponse` (resultShaping.js) does, with the operation compiled once per query plan
 * instead of walked through federation-internals' objects for every request. Every rule is
 * Apollo's, in Apollo's order: skipped selections, `__typename` from the data or the parent type,
 * an object's own `__typename` choosing its type, type conditions, non-null fields nulling their
 * parent with an INVALID_GRAPHQL error, leaf values checked against their type, repeated selections
 * of one response key merged. The federation compatibility suite holds the two to identical
 * answers.
 */

/** A `@skip`/`@include` condition: a constant or a variable's value. */
interface Condition {
  /** True for @skip, false for @include. */
  skip: boolean;
  constant?: boolean;
  variable?: string;
  /** For Apollo's assertion message. */
  text: string;
  ifText: string;
}

const enum Kind {
  NonNull,
  List,
  Composite,
  Leaf,
}

type TypeRef =
  | { kind: Kind.NonNull; of: TypeRef; type: Type }
  | { kind: Kind.List; of: TypeRef; type: Type }
  | { kind: Kind.Composite; type: CompositeType }
  | { kind: Kind.Leaf; type: NamedType; valid: (value: unknown) => boolean };

interface FieldStep {
  field: true;
  responseName: string;
  /** A response name Object.prototype has (`constructor`...): read only as an own property. */
  inherited: boolean;
  conditions: Condition[] | undefined;
  typename: boolean;
  type: TypeRef;
  selections: Steps | undefined;
}

interface FragmentStep {
  field: false;
  conditions: Condition[] | undefined;
  typeCondition: CompositeType | undefined;
  /** typeConditionApplies, remembered per `__typename` (or parent type when the data has none). */
  applies: Map<string, boolean>;
  selections: Steps;
}

type Step = FieldStep | FragmentStep;

/**
 * The compiled steps of one selection set. Its output objects are plain objects (fast in V8,
 * unlike the dictionary-mode objects `Object.create(null)` makes), unless a response key of the set
 * (or of a fragment in it, merged into the same object) is a name Object.prototype has.
 */
type Steps = Step[] & { nullPrototype?: boolean };

export interface CompiledShape {
  schema: Schema;
  root: CompositeType;
  selections: Steps;
  defaults: Record<string, unknown>;
  /** Whether any condition reads a variable (only then are the variables merged with defaults). */
  readsVariables: boolean;
  /** The operation asks schema introspection (`__schema`, `__type`): Apollo's executor answers it. */
  introspection: boolean;
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);
const PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** federation-internals' isValidLeafValue, decided once per type. */
function leafCheck(schema: Schema, type: NamedType): (value: unknown) => boolean {
  if (isCustomScalarType(type)) return () => true;
  const boolean = type === schema.booleanType();
  const int = type === schema.intType();
  const id = type === schema.idType();
  const float = type === schema.floatType();
  const values = isEnumType(type) ? new Set(type.values.map((v) => v.name)) : undefined;
  return (value) => {
    if (typeof value === 'boolean') return boolean;
    if (typeof value === 'number' && Number.isFinite(value)) {
      if (int || id) return INTEGER.test(String(value));
      return float;
    }
    if (typeof value === 'string') {
      if (values) return values.has(value);
      return !boolean && !int && !float;
    }
    return false;
  };
}

export function compileShape(operation: Operation): CompiledShape {
  const schema = operation.schema();
  const skip = schema.skipDirective();
  const include = schema.includeDirective();
  const leaves = new Map<NamedType, (value: unknown) => boolean>();
  const compiledSets = new Map<SelectionSet, Steps>();
  let readsVariables = false;
  let introspection = false;

  const conditionOf = (directive: { arguments(): unknown } | undefined, isSkip: boolean): Condition | undefined => {
    if (!directive) return undefined;
    const argument = (directive.arguments() as { if: boolean | Variable }).if;
    const text = String(directive);
    if (argument instanceof Variable) {
      readsVariables = true;
      return { skip: isSkip, variable: argument.name, text, ifText: String(argument) };
    }
    return { skip: isSkip, constant: argument, text, ifText: String(argument) };
  };
  const conditionsOf = (element: { appliedDirectivesOf(d: typeof skip): readonly { arguments(): unknown }[] }): Condition[] | undefined => {
    const found = [conditionOf(element.appliedDirectivesOf(skip)[0], true), conditionOf(element.appliedDirectivesOf(include)[0], false)].filter(
      (c): c is Condition => c !== undefined,
    );
    return found.length > 0 ? found : undefined;
  };
  const typeRef = (type: Type): TypeRef => {
    if (isNonNullType(type)) return { kind: Kind.NonNull, of: typeRef(type.ofType), type };
    if (isListType(type)) return { kind: Kind.List, of: typeRef(type.ofType), type };
    if (isCompositeType(type)) return { kind: Kind.Composite, type };
    const named = type as NamedType;
    let valid = leaves.get(named);
    if (!valid) leaves.set(named, (valid = leafCheck(schema, named)));
    return { kind: Kind.Leaf, type: named, valid };
  };
  const compileSet = (selectionSet: SelectionSet): Steps => {
    const known = compiledSets.get(selectionSet);
    if (known) return known;
    const steps: Steps = [];
    // Set before the walk: a selection set is compiled once however often fragments repeat it.
    compiledSets.set(selectionSet, steps);
    for (const selection of selectionSet.selections()) {
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        if (field.definition.isSchemaIntrospectionField()) introspection = true;
        const responseName = field.responseName();
        const sub = selection.selectionSet;
        steps.push({
          field: true,
          responseName,
          inherited: PROTOTYPE_KEYS.has(responseName),
          conditions: conditionsOf(field),
          typename: field.name === '__typename',
          type: typeRef(field.definition.type!),
          selections: sub ? compileSet(sub) : undefined,
        });
      } else {
        const fragment = selection.element;
        steps.push({
          field: false,
          conditions: conditionsOf(fragment),
          typeCondition: fragment.typeCondition,
          applies: new Map(),
          selections: compileSet(selection.selectionSet),
        });
      }
    }
    return steps;
  };
  /** Whether an object shaped by `steps` may get a key Object.prototype has (fragments write into the same object). */
  const inheritsKey = (steps: Steps, seen: Set<Steps>): boolean => {
    if (seen.has(steps)) return false;
    seen.add(steps);
    return steps.some((step) => (step.field ? step.inherited : inheritsKey(step.selections, seen)));
  };
  const selections = compileSet(operation.selectionSet);
  for (const steps of compiledSets.values()) if (inheritsKey(steps, new Set())) steps.nullPrototype = true;
  return {
    schema,
    root: schema.schemaDefinition.rootType(operation.rootKind)!,
    selections,
    defaults: operation.collectDefaultedVariableValues(),
    readsVariables,
    introspection,
  };
}

interface ShapeRun {
  schema: Schema;
  variables: Record<string, unknown> | undefined;
  errors: GraphQLError[];
}

const OK = false;
const BUBBLE = true;

// updateOutputValue's `isInvalid` and `hasErrors`, set by every `update` before it returns (read
// by its caller at once): no result object per value.
let invalid = false;
let hasErrors = false;

function skipped(conditions: Condition[], variables: Record<string, unknown> | undefined): boolean {
  for (const condition of conditions) {
    let value = condition.constant;
    if (condition.variable !== undefined) {
      const given = variables?.[condition.variable];
      if (given === undefined || typeof given !== 'boolean') {
        throw new Error(`Unexpected value ${String(given)} for variable ${condition.ifText} of ${condition.text}`);
      }
      value = given;
    }
    if (condition.skip ? value : !value) return true;
  }
  return false;
}

function typeConditionApplies(run: ShapeRun, step: FragmentStep, typename: string | undefined, parentType: CompositeType): boolean {
  const condition = step.typeCondition;
  if (!condition) return true;
  const key = typename ? typename : `\u0000${parentType.name}`;
  let applies = step.applies.get(key);
  if (applies === undefined) {
    if (typename) {
      const type = run.schema.type(typename);
      applies = !!type && isSubtype(condition, type);
    } else applies = isSubtype(condition, parentType);
    step.applies.set(key, applies);
  }
  return applies;
}

function describe(path: (string | number)[], type: Type, parentType: CompositeType): string {
  const element = path[path.length - 1];
  return typeof element === 'string' ? `field ${String(parentType)}.${element}` : `array element of type ${String(type)} at index ${String(element)}`;
}

function applySelectionSet(run: ShapeRun, input: Record<string, unknown>, steps: Steps, output: Record<string, unknown>, path: (string | number)[], parentType: CompositeType): boolean {
  for (let s = 0; s < steps.length; s += 1) {
    const step = steps[s]!;
    if (step.conditions && skipped(step.conditions, run.variables)) continue;
    if (step.field) {
      const responseName = step.responseName;
      const outputValue = output[responseName];
      let inputValue = (step.inherited ? (hasOwn(input, responseName) ? input[responseName] : undefined) : input[responseName]) ?? null;
      if (step.typename) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== '__typename') inputValue = input.__typename ?? null;
          const type = inputValue !== null && typeof inputValue === 'string' ? (run.schema.type(inputValue) ?? parentType) : parentType;
          if (!isObjectType(type)) return BUBBLE;
          output[responseName] = type.name;
        }
        continue;
      }
      path.push(responseName);
      const updated = update(run, outputValue, step.type, inputValue, step.selections, path, parentType);
      output[responseName] = updated;
      path.pop();
      if (invalid) return BUBBLE;
    } else {
      const typename = input.__typename;
      if (typename && typeof typename !== 'string') throw new Error(`Got unexpected value for __typename: ${String(typename)}`);
      if (typeConditionApplies(run, step, typename as string | undefined, parentType)) {
        if (applySelectionSet(run, input, step.selections, output, path, step.typeCondition ?? parentType)) return BUBBLE;
      }
    }
  }
  return OK;
}

function update(
  run: ShapeRun,
  outputValue: unknown,
  ref: TypeRef,
  inputValue: unknown,
  selections: Steps | undefined,
  path: (string | number)[],
  parentType: CompositeType,
): unknown {
  if (outputValue === null || (outputValue !== undefined && !selections)) {
    invalid = false;
    hasErrors = false;
    return outputValue;
  }
  switch (ref.kind) {
    case Kind.NonNull: {
      const updated = update(run, outputValue, ref.of, inputValue, selections, path, parentType);
      if (updated === null) {
        if (!hasErrors) run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Cannot return null for non-nullable ${describe(path, ref.of.type, parentType)}.`, { path: Array.from(path) }));
        invalid = true;
        hasErrors = true;
        return null;
      }
      invalid = false;
      hasErrors = false;
      return updated;
    }
    case Kind.List: {
      if (inputValue === null) return nothing();
      if (!Array.isArray(inputValue)) throw new Error(`Invalid non-list value ${String(inputValue)} returned by subgraph for list type ${String(ref.type)}`);
      if (outputValue !== undefined && !Array.isArray(outputValue)) throw new Error(`Invalid non-list value ${String(outputValue)} returned by subgraph for list type ${String(ref.type)}`);
      const outputs = outputValue as unknown[] | undefined;
      if (outputs && inputValue.length !== outputs.length) {
        throw new Error(`[${String(inputValue)}].length (${inputValue.length}) !== [${String(outputs)}].length (${outputs.length})`);
      }
      let nullify = false;
      let errors = false;
      const updated = new Array<unknown>(inputValue.length);
      for (let i = 0; i < inputValue.length; i += 1) {
        path.push(i);
        updated[i] = update(run, outputs ? outputs[i] : undefined, ref.of, inputValue[i], selections, path, parentType);
        path.pop();
        nullify ||= invalid;
        errors ||= hasErrors;
      }
      invalid = false;
      hasErrors = errors;
      return nullify ? null : updated;
    }
    case Kind.Composite: {
      if (inputValue === null) return nothing();
      if (!selections) throw new Error(`Invalid empty selection set for composite type ${String(ref.type)}`);
      if (typeof inputValue !== 'object') throw new Error(`Invalid non-object value ${String(inputValue)} returned by subgraph for composite type ${String(ref.type)}`);
      if (outputValue !== undefined && typeof outputValue !== 'object') {
        throw new Error(`Invalid non-object value ${String(inputValue)} returned by subgraph for composite type ${String(ref.type)}`);
      }
      const input = inputValue as Record<string, unknown>;
      const inputTypename = input.__typename;
      if (inputTypename !== undefined && typeof inputTypename !== 'string') throw new Error(`Invalid non-string value ${String(inputTypename)} for __typename at ${String(path)}`);
      let objectType: CompositeType = ref.type;
      if (inputTypename) {
        const named = run.schema.type(inputTypename);
        if (!named || !isCompositeType(named)) {
          run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Invalid __typename found for object at ${describe(path, ref.type, parentType)}.`, { path: Array.from(path) }));
          invalid = false;
          hasErrors = true;
          return null;
        }
        objectType = named;
      }
      const output = (outputValue as Record<string, unknown> | undefined) ?? (selections.nullPrototype ? (Object.create(null) as Record<string, unknown>) : {});
      const bubbled = applySelectionSet(run, input, selections, output, path, objectType);
      invalid = false;
      hasErrors = bubbled;
      return bubbled ? null : output;
    }
    default: {
      if (inputValue === null) return nothing();
      if (outputValue !== undefined) throw new Error(`Excepted output to be undefined but got ${String(ref.type)} for type ${String(ref.type)}`);
      const valid = ref.valid(inputValue);
      if (!valid) run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${describe(path, ref.type, parentType)}.`, { path: Array.from(path) }));
      invalid = false;
      hasErrors = !valid;
      return valid ? inputValue : null;
    }
  }
}

function nothing(): null {
  invalid = false;
  hasErrors = false;
  return null;
}

/** computeResponse: the shaped data (null when a non-null root field bubbled up) and the errors of shaping. */
export function shapeResponse(
  shape: CompiledShape,
  input: Record<string, unknown>,
  variables: Record<string, unknown> | undefined,
): { data: Record<string, unknown> | null; errors: GraphQLError[] } {
  const run: ShapeRun = {
    schema: shape.schema,
    variables: shape.readsVariables ? ({ __proto__: null, ...shape.defaults, ...variables } as Record<string, unknown>) : undefined,
    errors: [],
  };
  const data = shape.selections.nullPrototype ? (Object.create(null) as Record<string, unknown>) : {};
  const bubbled = applySelectionSet(run, input, shape.selections, data, [], shape.root);
  return { data: bubbled ? null : data, errors: run.errors };
}
