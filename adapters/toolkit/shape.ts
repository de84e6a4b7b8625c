import { GraphQLError } from 'graphql';
import { frontdeskError } from '../../gateway/src/core/errors.js';

/**
 * Shapes describe, for each generated GraphQL type, how wire values map to it: names, scalars,
 * enums, lists, objects and discriminated unions. The adapters build them while generating the
 * schema; `toGraphQL` then converts a legacy response in one pass, renaming fields and checking
 * every value. A value that violates the shape becomes a BAD_UPSTREAM_RESPONSE error at exactly
 * its path (graphql-js reports an Error returned as a field value at that field), not a crash.
 */
export type ScalarName = 'String' | 'ID' | 'Int' | 'Float' | 'Boolean' | 'DateTime' | 'Int64' | 'JSON' | 'Decimal' | 'Base64' | 'Date' | 'Duration';

/**
 * How a protocol encodes a value that GraphQL sees differently: protobuf's well-known types
 * (Timestamp, Duration, wrappers, Struct) and map fields. JSON-based protocols need none.
 */
export type Codec = 'timestamp' | 'duration' | 'wrapper' | 'struct' | 'value' | 'list-value' | 'map' | 'empty';

export type Shape = (
  | { kind: 'scalar'; scalar: ScalarName; nullable: boolean }
  | { kind: 'enum'; name: string; nullable: boolean }
  | { kind: 'list'; of: Shape; nullable: boolean }
  | { kind: 'ref'; name: string; nullable: boolean }
) & { codec?: Codec };

export interface ObjectField {
  /** GraphQL field name. */
  name: string;
  /** Name on the wire. */
  wire: string;
  shape: Shape;
  /** XML: the value is an attribute (node-soap keeps those under `attributes`). */
  attribute?: boolean;
}

export interface ShapeRegistryOptions {
  /**
   * How Int64 arguments go on the wire: a bigint (JSON writes it as an exact number literal) or
   * the decimal string (protobufjs and XML read 64-bit values from strings). Default bigint.
   */
  int64?: 'bigint' | 'string';
  /**
   * XML: scalars arrive as text and are checked and converted here, and a repeated element that
   * occurs once arrives as a single value that still becomes a one-item list.
   */
  xml?: boolean;
}

export type NamedShape =
  | { kind: 'object'; name: string; fields: ObjectField[] }
  | { kind: 'union'; name: string; discriminator: string; members: Record<string, string> }
  | { kind: 'enum'; name: string; values: Record<string, string> };

/** All named shapes of one adapter, by GraphQL type name. */
export class ShapeRegistry {
  readonly named = new Map<string, NamedShape>();

  private readonly int64Wire: 'bigint' | 'string';
  private readonly xml: boolean;

  constructor(options: ShapeRegistryOptions = {}) {
    this.int64Wire = options.int64 ?? 'bigint';
    this.xml = options.xml ?? false;
  }

  private readonly reverseEnums = new Map<string, Record<string, string>>();

  add(shape: NamedShape): void {
    this.named.set(shape.name, shape);
    if (shape.kind === 'enum') this.reverseEnums.set(shape.name, Object.fromEntries(Object.entries(shape.values).map(([w, g]) => [g, w])));
  }

  get(name: string): NamedShape {
    const shape = this.named.get(name);
    if (!shape) throw new Error(`unknown shape ${name}`);
    return shape;
  }

  /** Converts a wire value to what the generated schema resolves; invalid parts become errors. */
  toGraphQL(value: unknown, shape: Shape, service: string, path = '$'): unknown {
    if (shape.codec && value !== null && value !== undefined) {
      const decoded = decode(value, shape.codec);
      if (decoded instanceof Error) return this.invalid(service, path, decoded.message);
      value = decoded;
    }
    if (this.xml && shape.kind === 'ref' && (value === '' || (value === null && !shape.nullable)) && this.named.get(shape.name)?.kind === 'object') {
      // An element that is present but empty (<Parameters/>) is an object whose children are all absent.
      value = {};
    }
    if (value === null || value === undefined) {
      // XML has no empty list: a repeated element that does not occur is an empty list.
      if (this.xml && shape.kind === 'list') return [];
      return shape.nullable ? null : this.invalid(service, path, 'a required value is missing');
    }
    switch (shape.kind) {
      case 'scalar':
        return this.scalar(value, shape.scalar, service, path);
      case 'list': {
        if (!Array.isArray(value) && this.xml) value = [value];
        if (!Array.isArray(value)) return this.invalid(service, path, 'expected a list');
        return value.map((item, i) => this.toGraphQL(item, shape.of, service, `${path}[${i}]`));
      }
      case 'enum': {
        const named = this.get(shape.name);
        const gql = named.kind === 'enum' ? named.values[String(value)] : undefined;
        return gql ?? this.invalid(service, path, `unexpected ${shape.name} value ${JSON.stringify(value)}`);
      }
      case 'ref': {
        const named = this.get(shape.name);
        if (named.kind === 'enum') return this.toGraphQL(value, { kind: 'enum', name: shape.name, nullable: shape.nullable }, service, path);
        if (typeof value !== 'object' || Array.isArray(value)) return this.invalid(service, path, `expected an object for ${shape.name}`);
        const record = value as Record<string, unknown>;
        if (named.kind === 'union') {
          const member = named.members[String(record[named.discriminator])];
          if (!member) return this.invalid(service, path, `unknown ${named.discriminator} ${JSON.stringify(record[named.discriminator])} for ${shape.name}`);
          return this.toGraphQL(value, { kind: 'ref', name: member, nullable: false }, service, path);
        }
        const out: Record<string, unknown> = { __typename: named.name };
        const attributes = (record.attributes ?? {}) as Record<string, unknown>;
        for (const field of named.fields) {
          const raw = field.attribute ? attributes[field.wire] : record[field.wire];
          out[field.name] = this.toGraphQL(raw, field.shape, service, `${path}.${field.attribute ? '@' : ''}${field.wire}`);
        }
        return out;
      }
    }
  }

  /** Converts GraphQL input (arguments) back to wire names and values. */
  toWire(value: unknown, shape: Shape): unknown {
    if (value === null || value === undefined) return value;
    if (shape.codec) return encode(this.toWireInner(value, shape), shape.codec);
    return this.toWireInner(value, shape);
  }

  private toWireInner(value: unknown, shape: Shape): unknown {
    switch (shape.kind) {
      case 'scalar':
        if (shape.scalar === 'DateTime' && value instanceof Date) return value.toISOString();
        // Int64 arrives as a decimal string; a bigint leaves as an exact JSON number literal.
        if (shape.scalar === 'Int64' && typeof value === 'string' && this.int64Wire === 'bigint' && !shape.codec) return BigInt(value);
        if (this.xml && value instanceof Date) return value.toISOString();
        return value;
      case 'list':
        return (value as unknown[]).map((item) => this.toWire(item, shape.of));
      case 'enum':
        return this.reverseEnums.get(shape.name)?.[String(value)] ?? value;
      case 'ref': {
        const named = this.get(shape.name);
        if (named.kind === 'enum') return this.reverseEnums.get(named.name)?.[String(value)] ?? value;
        if (named.kind !== 'object') return value;
        const record = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        const attributes: Record<string, unknown> = {};
        for (const field of named.fields) {
          if (record[field.name] === undefined) continue;
          const wire = this.toWire(record[field.name], field.shape);
          if (field.attribute) attributes[field.wire] = wire;
          else out[field.wire] = wire;
        }
        return Object.keys(attributes).length > 0 ? { attributes, ...out } : out;
      }
    }
  }

  private scalar(value: unknown, scalar: ScalarName, service: string, path: string): unknown {
    if (this.xml) value = fromXmlText(value, scalar);
    switch (scalar) {
      case 'Decimal':
        return typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(value) ? value : this.invalid(service, path, 'expected a decimal number');
      case 'Date':
        return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? value : this.invalid(service, path, 'expected a date');
      case 'String':
      case 'Base64':
      case 'Duration':
        return typeof value === 'string' ? value : this.invalid(service, path, 'expected a string');
      case 'ID':
        return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))
          ? String(value)
          : this.invalid(service, path, 'expected an id');
      case 'Int':
        return typeof value === 'number' && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647
          ? value
          : this.invalid(service, path, 'expected a 32-bit integer');
      case 'Float':
        return typeof value === 'number' && Number.isFinite(value) ? value : this.invalid(service, path, 'expected a number');
      case 'Boolean':
        return typeof value === 'boolean' ? value : this.invalid(service, path, 'expected a boolean');
      case 'Int64':
        if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
        return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : this.invalid(service, path, 'expected a 64-bit integer');
      case 'DateTime': {
        const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
        return Number.isNaN(date.getTime()) ? this.invalid(service, path, 'expected an ISO 8601 date-time') : date;
      }
      case 'JSON':
        return value;
    }
  }

  private invalid(service: string, path: string, reason: string): GraphQLError {
    return frontdeskError('BAD_UPSTREAM_RESPONSE', `${service} sent an invalid response: ${reason} at ${path}`, { service });
  }
}

/** XML text to the JavaScript value a scalar expects; text that does not fit is left for the check. */
function fromXmlText(value: unknown, scalar: ScalarName): unknown {
  if (typeof value === 'object' && value !== null && '$value' in value) value = (value as { $value: unknown }).$value;
  if (typeof value !== 'string') return value;
  const text = value.trim();
  switch (scalar) {
    case 'Int':
    case 'Float':
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : value;
    case 'Boolean':
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : value;
    case 'Int64':
    case 'Decimal':
    case 'ID':
      return text;
    default:
      return value;
  }
}

function seconds(value: unknown): number {
  return typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
}

/** protobuf JSON mapping of well-known types, from the decoded message objects. */
function decode(value: unknown, codec: Codec): unknown {
  const record = value as Record<string, unknown>;
  switch (codec) {
    case 'timestamp': {
      const ms = seconds(record.seconds) * 1000 + Math.floor(Number(record.nanos ?? 0) / 1e6);
      return Number.isFinite(ms) ? new Date(ms).toISOString() : new Error('expected a Timestamp');
    }
    case 'duration': {
      const s = seconds(record.seconds);
      const nanos = Number(record.nanos ?? 0);
      if (!Number.isFinite(s)) return new Error('expected a Duration');
      const fraction = nanos !== 0 ? `.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}` : '';
      return `${s}${fraction}s`;
    }
    case 'wrapper':
      return record.value ?? null;
    case 'struct':
      return structToJson(record);
    case 'value':
      return valueToJson(record);
    case 'list-value':
      return ((record.values as unknown[] | undefined) ?? []).map((v) => valueToJson(v as Record<string, unknown>));
    case 'map':
      return Object.entries(record).map(([key, entry]) => ({ key, value: entry }));
    case 'empty':
      return true;
  }
}

function structToJson(struct: Record<string, unknown>): Record<string, unknown> {
  const fields = (struct.fields ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(Object.entries(fields).map(([key, v]) => [key, valueToJson(v)]));
}

function valueToJson(value: Record<string, unknown> | null | undefined): unknown {
  if (!value) return null;
  if ('structValue' in value || 'struct_value' in value) return structToJson((value.structValue ?? value.struct_value) as Record<string, unknown>);
  if ('listValue' in value || 'list_value' in value) {
    const list = (value.listValue ?? value.list_value) as { values?: Record<string, unknown>[] };
    return (list.values ?? []).map(valueToJson);
  }
  for (const key of ['stringValue', 'string_value', 'numberValue', 'number_value', 'boolValue', 'bool_value']) {
    if (key in value) return value[key];
  }
  return null;
}

// protobufjs names the fields of google.protobuf.Value in camelCase, whether the types come from
// its built-in well-known types or from reflected descriptors.
function jsonToValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(jsonToValue) } };
  return { structValue: jsonToStruct(value as Record<string, unknown>) };
}

function jsonToStruct(value: Record<string, unknown>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonToValue(v)])) };
}

function encode(value: unknown, codec: Codec): unknown {
  switch (codec) {
    case 'timestamp': {
      const ms = value instanceof Date ? value.getTime() : new Date(String(value)).getTime();
      return { seconds: String(Math.floor(ms / 1000)), nanos: (((ms % 1000) + 1000) % 1000) * 1e6 };
    }
    case 'duration': {
      const match = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(String(value));
      if (!match) return value;
      return { seconds: match[1], nanos: match[2] ? Number(match[2].padEnd(9, '0')) * (match[1]!.startsWith('-') ? -1 : 1) : 0 };
    }
    case 'wrapper':
      return { value };
    case 'struct':
      return jsonToStruct(value as Record<string, unknown>);
    case 'value':
      return jsonToValue(value);
    case 'list-value':
      return { values: (value as unknown[]).map(jsonToValue) };
    case 'map':
      return Object.fromEntries((value as { key: unknown; value: unknown }[]).map((entry) => [String(entry.key), entry.value]));
    case 'empty':
      return {};
  }
}
