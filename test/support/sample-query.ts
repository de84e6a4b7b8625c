import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';

const SCALAR_ARGS: Record<string, string> = {
  String: '"1"',
  ID: '"1"',
  Int: '1',
  Float: '1.5',
  Boolean: 'true',
  Int64: '"1"',
  DateTime: '"2026-01-02T03:04:05Z"',
  Date: '"2026-01-02"',
  Decimal: '"1.50"',
  Base64: '"c3R1Yg=="',
  Duration: '"1s"',
  JSON: '{}',
};

/** A literal for a required argument: scalars and enums, else undefined (the field is not picked). */
function argumentLiteral(type: GraphQLInputType): string | undefined {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const item = argumentLiteral(inner.ofType);
    return item === undefined ? undefined : `[${item}]`;
  }
  if (isEnumType(inner)) return inner.getValues()[0]?.name;
  if (isScalarType(inner)) return SCALAR_ARGS[inner.name] ?? '"1"';
  if (isInputObjectType(inner)) {
    const parts: string[] = [];
    for (const field of Object.values(inner.getFields())) {
      if (!isNonNullType(field.type)) continue;
      const value = argumentLiteral(field.type);
      if (value === undefined) return undefined;
      parts.push(`${field.name}: ${value}`);
    }
    return `{ ${parts.join(', ')} }`;
  }
  return undefined;
}

/** A selection of the type's leaf fields to depth 2 (objects: their leaves), always with __typename. */
function selection(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isUnionType(named)) return '{ __typename }';
  if (!isObjectType(named)) return '';
  const fields = Object.values(named.getFields()).filter((f) => f.args.every((a) => !isNonNullType(a.type)));
  const parts = ['__typename'];
  for (const field of fields) {
    const inner = getNamedType(field.type);
    if (isScalarType(inner) || isEnumType(inner)) parts.push(field.name);
    else if (depth < 2 && isObjectType(inner)) parts.push(`${field.name} ${selection(field.type, depth + 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** A query (or else a mutation) of a subgraph's root field with sample arguments, or undefined when no field takes only simple arguments. */
export function sampleQuery(sdl: string, pick: (field: GraphQLField<unknown, unknown>) => boolean = () => true): { field: string; query: string } | undefined {
  const schema = buildSubgraphSchema({ typeDefs: parse(sdl) });
  const roots = [...Object.values(schema.getQueryType()?.getFields() ?? {}).map((f) => ['query', f] as const), ...Object.values(schema.getMutationType()?.getFields() ?? {}).map((f) => ['mutation', f] as const)];
  for (const [operation, field] of roots) {
    if (field.name.startsWith('_') || !pick(field)) continue;
    const args: string[] = [];
    let ok = true;
    for (const arg of field.args) {
      if (!isNonNullType(arg.type)) continue;
      const value = argumentLiteral(arg.type);
      if (value === undefined) ok = false;
      else args.push(`${arg.name}: ${value}`);
    }
    if (!ok) continue;
    return { field: field.name, query: `${operation} { ${field.name}${args.length > 0 ? `(${args.join(', ')})` : ''} ${selection(field.type, 0)} }` };
  }
  return undefined;
}
