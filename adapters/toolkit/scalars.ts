import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { DateTimeScalar } from '../../subgraphs/shared/scalars.js';

export { DateTimeScalar };

const INT64 = /^-?\d{1,20}$/;
const MIN_INT64 = -(2n ** 63n);
const MAX_UINT64 = 2n ** 64n - 1n;

function int64FromString(text: string): string {
  if (!INT64.test(text)) throw new GraphQLError(`Int64 must be an integer in a string, got "${text}"`);
  const value = BigInt(text);
  if (value < MIN_INT64 || value > MAX_UINT64) throw new GraphQLError(`Int64 out of range: ${text}`);
  return value.toString();
}

/** 64-bit integers as decimal strings, so no value is ever rounded through a JavaScript number. */
export const Int64Scalar = new GraphQLScalarType({
  name: 'Int64',
  description: 'A 64-bit integer, as a decimal string so that no digit is lost.',
  serialize(value) {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new GraphQLError(`Int64 cannot represent ${value} exactly`);
      return String(value);
    }
    if (typeof value === 'string') return int64FromString(value);
    throw new GraphQLError(`Int64 cannot represent ${String(value)}`);
  },
  parseValue(value) {
    if (typeof value === 'string') return int64FromString(value);
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    throw new GraphQLError('Int64 must be given as a string of digits');
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT) return int64FromString(ast.value);
    throw new GraphQLError('Int64 must be given as a string of digits');
  },
});

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return ast.value;
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
  }
}

/** Free-form JSON: what the spec leaves open (free-form objects, undiscriminated unions). */
export const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value; used where the service description does not fix a shape.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
});

export const TOOLKIT_SCALARS = { DateTime: DateTimeScalar, Int64: Int64Scalar, JSON: JsonScalar };
