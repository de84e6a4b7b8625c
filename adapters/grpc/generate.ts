import protobuf from 'protobufjs';
import { camelCase, inferKind, isValidGraphQLName, pascalCase, QUERY_VERBS } from '../toolkit/names.js';
import { renderSubgraphSdl, type RootField, type SdlType } from '../toolkit/sdl.js';
import { ShapeRegistry, type ObjectField, type ScalarName, type Shape } from '../toolkit/shape.js';
import type { GrpcMapping } from './mapping.js';

export class GrpcMappingError extends Error {
  override name = 'GrpcMappingError';
}

export interface GeneratedArgument {
  name: string;
  /** Request field (proto name). */
  field: string;
  shape: Shape;
}

export interface GeneratedMethod {
  /** pkg.Service.Method */
  fullName: string;
  /** /pkg.Service/Method */
  path: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  serverStream: boolean;
  errors: Record<string, string>;
}

export interface GeneratedRootField {
  method: GeneratedMethod;
  field: string;
  kind: 'query' | 'mutation';
  args: GeneratedArgument[];
  /** Response field to return, or the whole message. */
  resultField?: string;
  shape: Shape;
}

export interface GeneratedMethodField {
  name: string;
  method: GeneratedMethod;
  requires: { name: string; into: string; shape: Shape }[];
  keyInto?: string;
  args: GeneratedArgument[];
  shape: Shape;
}

export interface GeneratedGrpcEntity {
  typeName: string;
  keyField: string;
  /** Owned: the entity is a message; extended: only key, mapped fields and method fields. */
  owned: boolean;
  batch?: { method: GeneratedMethod; keys: string; result: string; resultKey: string };
  single?: { method: GeneratedMethod; key: string };
  fields: { name: string; field: string; shape: Shape }[];
  methodFields: GeneratedMethodField[];
  hinted: boolean;
}

export interface GeneratedGrpcSubgraph {
  sdl: string;
  registry: ShapeRegistry;
  rootFields: GeneratedRootField[];
  entities: GeneratedGrpcEntity[];
  scalars: Set<ScalarName>;
  /** What `include: all` left out, and why (client and bidirectional streaming methods, clashing names). */
  skipped: { what: string; why: string }[];
}

/** Names a generated type never takes: GraphQL's and federation's own, and the adapters' scalars. */
const RESERVED_TYPE_NAMES = new Set(['Query', 'Mutation', 'Subscription', 'String', 'Int', 'Float', 'Boolean', 'ID', 'DateTime', 'Int64', 'JSON', 'Decimal', 'Base64', 'Date', 'Duration', 'Upload', 'CacheControlScope']);

export { QUERY_VERBS, inferKind };

const SCALARS: Record<string, ScalarName> = {
  double: 'Float',
  float: 'Float',
  int32: 'Int',
  sint32: 'Int',
  sfixed32: 'Int',
  uint32: 'Int64',
  fixed32: 'Int64',
  int64: 'Int64',
  uint64: 'Int64',
  sint64: 'Int64',
  fixed64: 'Int64',
  sfixed64: 'Int64',
  bool: 'Boolean',
  string: 'String',
  bytes: 'Base64',
};

const WRAPPERS: Record<string, string> = {
  DoubleValue: 'double',
  FloatValue: 'float',
  Int64Value: 'int64',
  UInt64Value: 'uint64',
  Int32Value: 'int32',
  UInt32Value: 'uint32',
  BoolValue: 'bool',
  StringValue: 'string',
  BytesValue: 'bytes',
};

function lookupMethod(root: protobuf.Root, fullName: string): GeneratedMethod {
  const dot = fullName.lastIndexOf('.');
  let service: protobuf.Service;
  try {
    service = root.lookupService(fullName.slice(0, dot));
  } catch {
    throw new GrpcMappingError(`mapping names ${fullName}, but service ${fullName.slice(0, dot)} is not defined`);
  }
  const method = service.methods[fullName.slice(dot + 1)];
  if (!method) throw new GrpcMappingError(`mapping names ${fullName}, but ${service.name} has no method ${fullName.slice(dot + 1)}`);
  method.resolve();
  if (method.requestStream) {
    throw new GrpcMappingError(
      `${fullName} is ${method.responseStream ? 'bidirectional' : 'client'}-streaming; only unary and server-streaming methods can be exposed`,
    );
  }
  return {
    fullName,
    path: `/${fullName.slice(0, dot)}/${method.name}`,
    requestType: method.resolvedRequestType!,
    responseType: method.resolvedResponseType!,
    serverStream: Boolean(method.responseStream),
    errors: {},
  };
}

/** Fields in field-number order: the same whether the types came from .proto files or reflection. */
function byNumber(type: protobuf.Type): protobuf.Field[] {
  return [...type.fieldsArray].sort((a, b) => a.id - b.id);
}

function isWellKnown(type: protobuf.Type | protobuf.Enum): string | undefined {
  const match = /^\.google\.protobuf\.(\w+)$/.exec(type.fullName);
  return match?.[1];
}

/**
 * Generates a federated subgraph from protobuf descriptors and a mapping. Nullability rule:
 * scalar and enum fields are non-null (proto3 always has a value); message fields, members of a
 * oneof (at most one of them is non-null), proto3 `optional` fields and wrapper types are
 * nullable; repeated and map fields are non-null lists.
 */
export function generateGrpcSubgraph(
  root: protobuf.Root,
  mapping: GrpcMapping,
  origin: string,
  /** The .proto files the mapping names: `include: all` exposes their services' methods (all services of the root without). */
  serviceFiles?: readonly string[],
): GeneratedGrpcSubgraph {
  const registry = new ShapeRegistry({ int64: 'string' });
  const types = new Map<string, SdlType>();
  const scalars = new Set<ScalarName>();
  const owners = new Map<string, string>();
  const renamed = new Set<string>();

  const typeName = (generated: string): string => {
    const to = mapping.renames.types[generated];
    if (to) renamed.add(generated);
    return to ?? generated;
  };

  const baseName = (type: protobuf.ReflectionObject): string => {
    const parts: string[] = [];
    let current: protobuf.ReflectionObject | null = type;
    while (current && (current instanceof protobuf.Type || current instanceof protobuf.Enum)) {
      parts.unshift(current.name);
      current = current.parent;
    }
    return parts.map((p) => pascalCase(p)).join('');
  };

  const claim = (name: string, fullName: string): void => {
    const owner = owners.get(name);
    if (owner && owner !== fullName) {
      throw new GrpcMappingError(`${origin}: ${owner} and ${fullName} both become type ${name}; rename one in renames.types`);
    }
    owners.set(name, fullName);
  };

  /**
   * The type name of a message or enum (`suffix` Input for inputs): its nested names in
   * PascalCase, unless renamed. A name GraphQL or the adapters reserve, or one another type holds
   * already, is qualified by the package, last segment first, versions skipped
   * (`.google.longrunning.Operation` becomes `LongrunningOperation` beside a service's own
   * `Operation`): deterministic for the same files.
   */
  const assigned = new Map<string, string>();
  const nameFor = (type: protobuf.Type | protobuf.Enum, suffix = ''): string => {
    const key = `${type.fullName}${suffix ? ` (${suffix.toLowerCase()})` : ''}`;
    const known = assigned.get(key);
    if (known) return known;
    const base = `${mapping.typePrefix ?? ''}${baseName(type)}${suffix}`;
    let name = typeName(base);
    if (name === base) {
      let parent = type.parent;
      while (parent && !(parent instanceof protobuf.Namespace && !(parent instanceof protobuf.Type))) parent = parent.parent;
      const packages = (parent?.fullName ?? '').split('.').filter((part) => part && !/^v\d/.test(part));
      while (RESERVED_TYPE_NAMES.has(name) || (owners.has(name) && owners.get(name) !== key)) {
        const qualifier = packages.pop();
        name = qualifier ? `${pascalCase(qualifier)}${name}` : `${name}Type`;
      }
    }
    claim(name, key);
    assigned.set(key, name);
    return name;
  };

  const scalar = (name: ScalarName, nullable: boolean, codec?: Shape['codec']): Shape => {
    scalars.add(name);
    return codec ? { kind: 'scalar', scalar: name, nullable, codec } : { kind: 'scalar', scalar: name, nullable };
  };

  function enumShape(type: protobuf.Enum, nullable: boolean): Shape {
    const name = nameFor(type);
    if (!types.has(name)) {
      const values: Record<string, string> = {};
      for (const value of Object.keys(type.values)) {
        // GraphQL forbids true, false and null as enum values; the wire keeps the proto's name.
        const graphql = value === 'true' || value === 'false' || value === 'null' ? `${value.toUpperCase()}_` : value;
        if (!isValidGraphQLName(graphql)) throw new GrpcMappingError(`${origin}: enum value ${type.fullName}.${value} is not a valid GraphQL name`);
        values[graphql] = value;
      }
      registry.add({ kind: 'enum', name, values });
      types.set(name, { kind: 'enum', name, values: Object.keys(values) });
    }
    return { kind: 'enum', name, nullable };
  }

  function messageShape(type: protobuf.Type, input: boolean, nullable: boolean): Shape {
    const known = isWellKnown(type);
    if (known === 'Timestamp') return scalar('DateTime', nullable, 'timestamp');
    if (known === 'Duration') return scalar('Duration', nullable, 'duration');
    if (known === 'Struct') return scalar('JSON', nullable, 'struct');
    if (known === 'Value') return scalar('JSON', nullable, 'value');
    if (known === 'ListValue') return scalar('JSON', nullable, 'list-value');
    if (known === 'Empty') return scalar('Boolean', nullable, 'empty');
    if (known && WRAPPERS[known]) return scalar(SCALARS[WRAPPERS[known]]!, true, 'wrapper');
    if (known === 'Any') return scalar('JSON', nullable);
    const name = nameFor(type, input ? 'Input' : '');
    if (!types.has(name)) {
      const sdl: SdlType = { kind: input ? 'input' : 'object', name, fields: [] };
      types.set(name, sdl);
      const fields: ObjectField[] = [];
      registry.add({ kind: 'object', name, fields });
      for (const field of byNumber(type)) {
        const shape = fieldShape(field, name, input);
        const gqlName = mapping.renames.fields[`${name}.${field.name}`] ?? camelCase(field.name);
        if (fields.some((f) => f.name === gqlName)) throw new GrpcMappingError(`${origin}: two fields of ${type.fullName} become ${gqlName}`);
        fields.push({ name: gqlName, wire: field.name, shape });
        sdl.fields.push({ name: gqlName, type: shape, description: field.comment ?? undefined });
      }
      if (fields.length === 0) {
        // GraphQL types need a field; an empty message carries none.
        const shape = scalar('Boolean', true);
        fields.push({ name: '_empty', wire: '_empty', shape });
        sdl.fields.push({ name: '_empty', type: shape, description: 'Always null: the message has no fields.' });
      }
    }
    return { kind: 'ref', name, nullable };
  }

  function fieldShape(field: protobuf.Field, owner: string, input: boolean): Shape {
    field.resolve();
    if (field instanceof protobuf.MapField) {
      const entryName = typeName(`${owner.replace(/Input$/, '')}${pascalCase(field.name)}Entry${input ? 'Input' : ''}`);
      if (!types.has(entryName)) {
        const keyShape = scalar(SCALARS[field.keyType] ?? 'String', false);
        const valueShape = field.resolvedType ? typeShape(field.resolvedType, input, true) : scalar(SCALARS[field.type] ?? 'String', false);
        registry.add({ kind: 'object', name: entryName, fields: [{ name: 'key', wire: 'key', shape: keyShape }, { name: 'value', wire: 'value', shape: valueShape }] });
        types.set(entryName, { kind: input ? 'input' : 'object', name: entryName, fields: [{ name: 'key', type: keyShape }, { name: 'value', type: valueShape }] });
      }
      return { kind: 'list', of: { kind: 'ref', name: entryName, nullable: false }, nullable: false, codec: 'map' };
    }
    const oneof = field.partOf;
    const optional = oneof !== null || field.options?.proto3_optional === true;
    let shape: Shape;
    if (field.resolvedType) shape = typeShape(field.resolvedType, input, optional || field.resolvedType instanceof protobuf.Type);
    else {
      const name = SCALARS[field.type];
      if (!name) throw new GrpcMappingError(`${origin}: field ${field.fullName} has unsupported type ${field.type}`);
      const id = name === 'String' && /(^id$|_id$)/.test(field.name) ? 'ID' : name;
      shape = scalar(id, optional || input);
    }
    if (field.repeated) return { kind: 'list', of: { ...shape, nullable: false }, nullable: false };
    return shape;
  }

  function typeShape(type: protobuf.Type | protobuf.Enum, input: boolean, nullable: boolean): Shape {
    return type instanceof protobuf.Enum ? enumShape(type, nullable) : messageShape(type, input, nullable);
  }

  function requestArguments(method: GeneratedMethod, renames: Record<string, string>, skip: Set<string>): GeneratedArgument[] {
    const args: GeneratedArgument[] = [];
    for (const field of byNumber(method.requestType)) {
      if (skip.has(field.name)) continue;
      let shape = fieldShape(field, baseName(method.requestType), true);
      // Top-level scalars outside a oneof or `optional` are required arguments.
      if (shape.kind !== 'list' && !field.resolvedType?.fullName.startsWith('.google.protobuf.') && field.partOf === null && !(field.resolvedType instanceof protobuf.Type)) {
        shape = { ...shape, nullable: false };
      }
      args.push({ name: renames[field.name] ?? camelCase(field.name), field: field.name, shape });
    }
    for (const from of Object.keys(renames)) {
      if (!method.requestType.fields[from]) throw new GrpcMappingError(`mapping renames argument ${from}, which ${method.requestType.fullName} does not have`);
    }
    return args;
  }

  function resultShape(method: GeneratedMethod, resultField: string | undefined): Shape {
    let shape: Shape;
    if (resultField) {
      const field = method.responseType.fields[resultField];
      if (!field) throw new GrpcMappingError(`mapping result ${resultField}: ${method.responseType.fullName} has no such field`);
      shape = fieldShape(field, baseName(method.responseType), false);
    } else shape = messageShape(method.responseType, false, true);
    if (method.serverStream) return { kind: 'list', of: { ...shape, nullable: false }, nullable: true };
    return { ...shape, nullable: true };
  }

  // Root fields: the mapping's methods, and with include all every other method of its services.
  const rootFields: GeneratedRootField[] = [];
  const skipped: { what: string; why: string }[] = [];
  const seen = { query: new Set<string>(), mutation: new Set<string>() };
  const listed = Object.entries(mapping.methods).map(([fullName, spec]) => ({ fullName, spec, implicit: false }));
  const include = mapping.include ?? (listed.length > 0 ? 'listed' : 'all');
  if (include === 'all') {
    const files = serviceFiles ? new Set(serviceFiles) : undefined;
    const services: protobuf.Service[] = [];
    const walk = (namespace: protobuf.NamespaceBase): void => {
      for (const nested of namespace.nestedArray) {
        if (nested instanceof protobuf.Service) {
          if (!files || (nested.filename && files.has(nested.filename))) services.push(nested);
        } else if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
      }
    };
    walk(root);
    for (const service of services) {
      for (const method of service.methodsArray) {
        const fullName = `${service.fullName.slice(1)}.${method.name}`;
        if (mapping.methods[fullName]) continue;
        if (method.requestStream) {
          skipped.push({ what: fullName, why: `${method.responseStream ? 'bidirectional' : 'client'}-streaming: only unary and server-streaming methods can be fields` });
          continue;
        }
        listed.push({ fullName, spec: { kind: inferKind(method.name, mapping.queryVerbs), arguments: {}, errors: {} }, implicit: true });
      }
    }
  }
  for (const { fullName, spec, implicit } of listed) {
    const method = { ...lookupMethod(root, fullName), errors: spec.errors };
    const methodName = fullName.slice(fullName.lastIndexOf('.') + 1);
    let field = spec.field ?? camelCase(methodName);
    if (implicit && seen[spec.kind].has(field)) {
      // Two services with a method of one name: the service's name tells them apart.
      const service = fullName.slice(0, fullName.lastIndexOf('.'));
      field = camelCase(`${service.slice(service.lastIndexOf('.') + 1)}_${methodName}`);
    }
    if (seen[spec.kind].has(field)) {
      if (implicit) {
        skipped.push({ what: fullName, why: `its field ${field} is taken by another method` });
        continue;
      }
      throw new GrpcMappingError(`two methods map to ${spec.kind === 'query' ? 'Query' : 'Mutation'}.${field}`);
    }
    seen[spec.kind].add(field);
    rootFields.push({
      method,
      field,
      kind: spec.kind,
      args: requestArguments(method, spec.arguments, new Set()),
      resultField: spec.result,
      shape: resultShape(method, spec.result),
    });
  }

  // Entities.
  const entities: GeneratedGrpcEntity[] = [];
  const extraImports = new Set<string>();
  for (const [name, spec] of Object.entries(mapping.entities)) {
    const batch = spec.batch ? { ...spec.batch, method: lookupMethod(root, spec.batch.method) } : undefined;
    const single = spec.single ? { ...spec.single, method: lookupMethod(root, spec.single.method) } : undefined;
    if (batch) {
      if (!batch.method.requestType.fields[batch.keys]?.repeated) throw new GrpcMappingError(`entity ${name}: ${batch.method.fullName} has no repeated field ${batch.keys}`);
      const result = batch.method.responseType.fields[batch.result];
      if (!result?.repeated) throw new GrpcMappingError(`entity ${name}: ${batch.method.fullName} response has no repeated field ${batch.result}`);
      result.resolve();
      if (!(result.resolvedType instanceof protobuf.Type) || !result.resolvedType.fields[batch.resultKey]) {
        throw new GrpcMappingError(`entity ${name}: items of ${batch.result} have no field ${batch.resultKey}`);
      }
    }
    if (single && !single.method.requestType.fields[single.key]) throw new GrpcMappingError(`entity ${name}: ${single.method.fullName} has no field ${single.key}`);
    const looked = batch
      ? (batch.method.responseType.fields[batch.result]!.resolvedType as protobuf.Type)
      : single?.method.responseType;
    const owned = spec.message !== undefined;
    const entity: GeneratedGrpcEntity = { typeName: name, keyField: spec.key, owned, batch, single, fields: [], methodFields: [], hinted: name in mapping.cacheHints };
    const sdlFields: Extract<SdlType, { kind: 'object' | 'input' }>['fields'] = [];
    if (owned) {
      const message = root.lookupType(spec.message!);
      const shape = messageShape(message, false, false);
      if (shape.kind !== 'ref' || shape.name !== name) throw new GrpcMappingError(`entity ${name}: message ${spec.message} becomes type ${shape.kind === 'ref' ? shape.name : '?'}; rename it to ${name}`);
      const object = registry.get(name);
      if (object.kind !== 'object' || !object.fields.some((f) => f.name === spec.key)) throw new GrpcMappingError(`entity ${name}: key field ${spec.key} does not exist`);
      if (!batch && !single) throw new GrpcMappingError(`entity ${name} needs a batch or a single lookup`);
    } else {
      if (!looked) throw new GrpcMappingError(`entity ${name} needs a batch or a single lookup`);
      claim(name, `entity ${name}`);
      sdlFields.push({ name: spec.key, type: { kind: 'scalar', scalar: 'ID', nullable: false } });
      for (const [fieldName, protoField] of Object.entries(spec.fields)) {
        const field = looked.fields[protoField];
        if (!field) throw new GrpcMappingError(`entity ${name}.${fieldName}: ${looked.fullName} has no field ${protoField}`);
        // Nullable: a failed or empty lookup is null plus an error at the field, not a lost entity.
        const shape = { ...fieldShape(field, baseName(looked), false), nullable: true };
        entity.fields.push({ name: fieldName, field: protoField, shape });
        sdlFields.push({ name: fieldName, type: shape, description: field.comment ?? undefined });
      }
    }
    for (const [fieldName, spec2] of Object.entries(spec.methodFields)) {
      const method = { ...lookupMethod(root, spec2.method), errors: spec2.errors };
      const requires = Object.entries(spec2.requires).map(([requiredName, r]) => {
        if (!method.requestType.fields[r.into]) throw new GrpcMappingError(`entity ${name}.${fieldName}: ${method.requestType.fullName} has no field ${r.into}`);
        const base = r.type.replace(/[[\]!]/g, '');
        const shapeOf: Shape = ['Int', 'Float', 'String', 'Boolean', 'ID'].includes(base)
          ? { kind: 'scalar', scalar: base as ScalarName, nullable: !r.type.endsWith('!') }
          : { kind: 'ref', name: base, nullable: !r.type.endsWith('!') };
        return { name: requiredName, into: r.into, shape: shapeOf, type: r.type };
      });
      if (spec2.key && !method.requestType.fields[spec2.key]) throw new GrpcMappingError(`entity ${name}.${fieldName}: ${method.requestType.fullName} has no field ${spec2.key}`);
      const skip = new Set([...requires.map((r) => r.into), ...(spec2.key ? [spec2.key] : [])]);
      const args = requestArguments(method, spec2.arguments, skip);
      const shape = resultShape(method, undefined);
      entity.methodFields.push({ name: fieldName, method, requires, keyInto: spec2.key, args, shape });
      for (const r of requires) {
        if (!owned && !sdlFields.some((f) => f.name === r.name)) {
          sdlFields.push({ name: r.name, type: r.shape, directives: ' @external' });
          extraImports.add('@external');
        }
      }
      const requiresDirective = requires.length > 0 ? ` @requires(fields: "${requires.map((r) => r.name).join(' ')}")` : '';
      if (requires.length > 0) extraImports.add('@requires');
      sdlFields.push({ name: fieldName, type: shape, args: args.map((a) => ({ name: a.name, type: a.shape })), directives: requiresDirective });
    }
    if (owned) {
      const sdl = types.get(name) as Extract<SdlType, { fields: unknown }>;
      sdl.fields.push(...sdlFields);
    } else {
      types.set(name, { kind: 'object', name, fields: sdlFields, directives: ` @key(fields: "${spec.key}")` });
    }
    entities.push(entity);
  }

  for (const from of Object.keys(mapping.renames.types)) {
    if (!renamed.has(from)) throw new GrpcMappingError(`mapping renames type ${from}, which the generator did not produce from ${origin}`);
  }
  const hints = new Map(Object.entries(mapping.cacheHints));
  for (const target of hints.keys()) {
    const [type, field] = target.split('.');
    if (type === 'Query' || type === 'Mutation') {
      if (!field || !seen[type === 'Query' ? 'query' : 'mutation'].has(field)) throw new GrpcMappingError(`mapping cacheHints: ${target} is not a generated field`);
    } else if (!types.has(type!) || (field && !(types.get(type!) as { fields?: { name: string }[] }).fields?.some((f) => f.name === field))) {
      throw new GrpcMappingError(`mapping cacheHints: ${target} is not a generated type or field`);
    }
  }

  const keys = new Map(entities.filter((e) => e.owned).map((e) => [e.typeName, e.keyField]));
  const root_ = (f: GeneratedRootField): RootField => ({
    name: f.field,
    description: `${f.method.fullName}${f.method.serverStream ? ' (server stream, collected)' : ''}`,
    args: f.args.map((a) => ({ name: a.name, type: a.shape })),
    type: f.shape,
  });
  const sdl = renderSubgraphSdl({
    types: [...types.values()],
    query: rootFields.filter((f) => f.kind === 'query').map(root_),
    mutation: rootFields.filter((f) => f.kind === 'mutation').map(root_),
    keys,
    hints,
    scalars,
    imports: [...extraImports].sort(),
  });
  return { sdl, registry, rootFields, entities, scalars, skipped };
}
