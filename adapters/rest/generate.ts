import { camelCase, constantCase, pascalCase } from '../toolkit/names.js';
import { ShapeRegistry, type ObjectField, type ScalarName, type Shape } from '../toolkit/shape.js';
import { renderSubgraphSdl, type SdlType } from '../toolkit/sdl.js';
import type { CacheHint } from '../toolkit/mapping.js';
import type { RestMapping } from './mapping.js';
import { SpecError, type JsonSchema, type OpenApiDocument } from './openapi.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Names a generated type never takes: GraphQL's and federation's own, and the adapters' scalars. */
const RESERVED_TYPE_NAMES = new Set(['Query', 'Mutation', 'Subscription', 'String', 'Int', 'Float', 'Boolean', 'ID', 'DateTime', 'Int64', 'JSON', 'Decimal', 'Base64', 'Date', 'Duration', 'Upload', 'CacheControlScope']);

/**
 * The media type of a content map to read as JSON, best first: application/json (any
 * parameters), a +json type, text/json, then a wildcard (`*\/*`, `application/*`) with a schema.
 */
export function jsonContent(content: Record<string, JsonSchema>): [string, JsonSchema] | undefined {
  const entries = Object.entries(content);
  const rank = (type: string): number => {
    const bare = type.split(';')[0]!.trim().toLowerCase();
    if (bare === 'application/json') return 0;
    if (/^application\/[\w.+-]*\+json$/.test(bare) || bare === 'application/x-json' || bare === 'application/jsonl') return 1;
    if (bare === 'text/json' || bare === 'text/x-json') return 2;
    if (bare === '*/*' || bare === 'application/*') return 3;
    return -1;
  };
  return entries
    .filter(([type]) => rank(type) >= 0)
    .sort((a, b) => rank(a[0]) - rank(b[0]))[0];
}

/** The form media type of a request body's content, when it has no JSON one. */
function formContent(content: Record<string, JsonSchema>): [string, JsonSchema] | undefined {
  return Object.entries(content).find(([type]) => type.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded');
}

export interface GeneratedParameter {
  wire: string;
  in: 'path' | 'query' | 'header';
  arg: string;
  shape: Shape;
  explode: boolean;
  /** False for parameters the mapping excludes: kept for entity lookups, not exposed as arguments. */
  exposed: boolean;
}

export interface GeneratedOperation {
  operationId: string;
  method: string;
  pathTemplate: string;
  kind: 'query' | 'mutation';
  field: string;
  parameters: GeneratedParameter[];
  /** The request body: JSON, or `form` (application/x-www-form-urlencoded). */
  body?: { arg: string; shape: Shape; encoding?: 'form' };
  /** Response shape after unwrapping; undefined for operations without a JSON response. */
  result?: { unwrap: string[]; shape: Shape };
  headers: Record<string, string>;
  /** True when the mapping sets a cache hint for this field or its type (else Cache-Control is used). */
  hinted: boolean;
}

export interface EntityLookup {
  operation: GeneratedOperation;
  parameter: GeneratedParameter;
  unwrap: string[];
  /** Shape of what the unwrap path holds: a list of entities (batch) or one entity (single). */
  shape: Shape;
}

export interface GeneratedEntity {
  typeName: string;
  keyField: string;
  keyWire: string;
  batch?: EntityLookup;
  single?: EntityLookup;
  hinted: boolean;
}

export interface GeneratedRestSubgraph {
  sdl: string;
  registry: ShapeRegistry;
  operations: GeneratedOperation[];
  entities: GeneratedEntity[];
  scalars: Set<ScalarName>;
  warnings: string[];
}

interface Ctx {
  input: boolean;
  nameHint: string;
  pointer: string;
}

function splitPath(path: string | undefined): string[] {
  return path ? path.split('.').filter(Boolean) : [];
}

/**
 * Generates a federated subgraph from an OpenAPI document and a mapping: GraphQL types from JSON
 * Schema, one Query or Mutation field per operation, @key entities, cache hints, and the shapes
 * that convert wire values at request time. Whatever it cannot express fails here, at start-up,
 * with the spec location (or degrades to JSON with a warning where the mapping allows it).
 */
export function generateRestSubgraph(doc: OpenApiDocument, mapping: RestMapping, specLocation: string): GeneratedRestSubgraph {
  const is30 = doc.openapi.startsWith('3.0');
  const registry = new ShapeRegistry();
  const types = new Map<string, SdlType>();
  const componentTypes = new Map<string, string>();
  const scalars = new Set<ScalarName>();
  const warnings: string[] = [];
  const renamedTypes = new Set<string>();

  const fail = (pointer: string, reason: string): never => {
    throw new SpecError(`${specLocation}#${pointer}: ${reason}`);
  };
  const unsupported = (pointer: string, reason: string): Shape => {
    if (!mapping.degradeUnsupported) fail(pointer, `${reason} (set degradeUnsupported: true in the mapping to map it to JSON)`);
    warnings.push(`${specLocation}#${pointer}: ${reason}; mapped to JSON`);
    scalars.add('JSON');
    return { kind: 'scalar', scalar: 'JSON', nullable: true };
  };

  /** A generated type's name: renamed by the mapping, else prefixed (typePrefix); never one GraphQL or the adapters reserve. */
  const typeName = (generated: string): string => {
    const renamed = mapping.renames.types[generated];
    if (renamed) {
      renamedTypes.add(generated);
      return renamed;
    }
    const name = `${mapping.typePrefix ?? ''}${generated}`;
    return RESERVED_TYPE_NAMES.has(name) ? `${name}Type` : name;
  };
  /**
   * One schema per type name: a name another schema has taken already (an inline enum
   * `License.lifecycleState` and a component `license-lifecycle-state`; the input of `Job` and a
   * component `JobInput`) is numbered, in the order the generator meets them (`JobInput2`).
   */
  const origins = new Map<string, string>();
  /**
   * The type each schema location became: a schema reached again by another path (the inline
   * objects of a base type that `allOf` pulls into every derived type) is the same type, not a
   * copy per path, which on specs like Azure's multiplied into millions of types.
   */
  const byOrigin = new Map<string, string>();
  const uniqueTypeName = (generated: string, origin: string): string => {
    let candidate = typeName(generated);
    for (let n = 2; origins.has(candidate) && origins.get(candidate) !== origin; n += 1) candidate = typeName(`${generated}${n}`);
    if (!origins.has(candidate)) origins.set(candidate, origin);
    return candidate;
  };

  function resolveRef(ref: string, pointer: string): { schema: JsonSchema; name?: string; pointer: string } {
    if (!ref.startsWith('#/')) fail(pointer, `external $ref ${ref} is not supported`);
    // A URI fragment (RFC 3986, percent-encoded) holding a JSON Pointer (RFC 6901: ~1 is /, ~0 is ~).
    const token = (part: string): string => {
      let decoded = part;
      try {
        decoded = decodeURIComponent(part);
      } catch {
        // a lone % stays as it is
      }
      return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
    };
    let node: unknown = doc;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[token(part)];
    if (typeof node !== 'object' || node === null) fail(pointer, `$ref ${ref} does not resolve`);
    const match = /^#\/components\/schemas\/([^/]+)$/.exec(ref);
    return { schema: node as JsonSchema, name: match ? token(match[1]!) : undefined, pointer: ref.slice(1) };
  }

  function deref(schema: JsonSchema, pointer: string): { schema: JsonSchema; pointer: string } {
    let current = { schema, pointer };
    for (let depth = 0; typeof current.schema.$ref === 'string'; depth += 1) {
      if (depth > 32) fail(pointer, 'a $ref chain that does not end');
      const target = resolveRef(current.schema.$ref as string, current.pointer);
      current = { schema: target.schema, pointer: target.pointer };
    }
    return current;
  }

  function isNullable(schema: JsonSchema): boolean {
    if (is30 && schema.nullable === true) return true;
    const type = schema.type;
    if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true;
    for (const key of ['oneOf', 'anyOf'] as const) {
      const members = schema[key];
      if (Array.isArray(members) && members.some((m) => (m as JsonSchema).type === 'null')) return true;
    }
    return false;
  }

  /** Properties and required names of an object schema, with allOf merged. */
  function objectParts(schema: JsonSchema, pointer: string): { properties: [string, JsonSchema, string][]; required: Set<string>; polymorphic: boolean } {
    const properties = new Map<string, [JsonSchema, string]>();
    const required = new Set<string>();
    let polymorphic = false;
    const visit = (s: JsonSchema, p: string, depth: number): void => {
      if (depth > 32) fail(p, 'allOf nested deeper than 32');
      const { schema: target, pointer: at } = deref(s, p);
      if (Array.isArray(target.allOf)) target.allOf.forEach((member, i) => visit(member as JsonSchema, `${at}/allOf/${i}`, depth + 1));
      const props = target.properties as Record<string, JsonSchema> | undefined;
      if (props) for (const [name, prop] of Object.entries(props)) properties.set(name, [prop, `${at}/properties/${name}`]);
      if (Array.isArray(target.required)) for (const name of target.required) required.add(String(name));
      // A oneOf/anyOf inside allOf: no one object type describes it (JSON, as for other unions).
      if ((target.oneOf || target.anyOf) && depth > 0) polymorphic = true;
    };
    visit(schema, pointer, 0);
    return { properties: [...properties].map(([name, [prop, at]]) => [name, prop, at]), required, polymorphic };
  }

  function isObjectLike(schema: JsonSchema): boolean {
    return schema.type === 'object' || schema.properties !== undefined || Array.isArray(schema.allOf);
  }

  function fieldNameFor(type: string, wire: string): string {
    return mapping.renames.fields[`${type}.${wire}`] ?? camelCase(wire);
  }

  function scalarShape(name: ScalarName, nullable: boolean): Shape {
    scalars.add(name);
    return { kind: 'scalar', scalar: name, nullable };
  }

  function enumShape(name: string, values: unknown[], pointer: string, nullable: boolean): Shape {
    // Enums serve inputs and outputs alike: one per schema location.
    const known = byOrigin.get(`enum:${pointer}`);
    if (known) return { kind: 'enum', name: known, nullable };
    const gqlName = uniqueTypeName(name, `enum:${pointer}`);
    byOrigin.set(`enum:${pointer}`, gqlName);
    if (!types.has(gqlName)) {
      const map: Record<string, string> = {};
      const seen = new Set<string>();
      for (const value of values) {
        if (value === null) continue;
        if (typeof value !== 'string' && typeof value !== 'number') fail(pointer, `enum value ${JSON.stringify(value)} is not a string or number`);
        if (Object.hasOwn(map, String(value))) continue; // a value listed twice
        let gql = constantCase(String(value));
        // Values that read alike once named (`date` and `-date`): the later ones numbered, in spec order.
        for (let n = 2; seen.has(gql); n += 1) gql = `${constantCase(String(value))}_${n}`;
        seen.add(gql);
        map[String(value)] = gql;
      }
      registry.add({ kind: 'enum', name: gqlName, values: map });
      types.set(gqlName, { kind: 'enum', name: gqlName, values: Object.values(map) });
    }
    return { kind: 'enum', name: gqlName, nullable };
  }

  let nesting = 0;
  function objectShape(name: string, schema: JsonSchema, ctx: Ctx, nullable: boolean): Shape {
    const origin = `${ctx.input ? 'input' : 'object'}:${ctx.pointer}`;
    const known = byOrigin.get(origin);
    if (known) return { kind: 'ref', name: known, nullable };
    const gqlName = uniqueTypeName(ctx.input ? `${name}Input` : name, origin);
    // Inline objects nested this deep recur through allOf (a type containing itself under a new
    // name at each level): JSON from here on.
    if (!types.has(gqlName) && nesting >= 48) return unsupported(ctx.pointer, 'inline objects nested deeper than 48 (a schema containing itself through allOf)');
    nesting += 1;
    try {
      return objectShapeOnce(name, gqlName, schema, ctx, nullable);
    } finally {
      nesting -= 1;
    }
  }

  function objectShapeOnce(name: string, gqlName: string, schema: JsonSchema, ctx: Ctx, nullable: boolean): Shape {
    if (!types.has(gqlName)) {
      const { properties, required, polymorphic } = objectParts(schema, ctx.pointer);
      // An object without properties (free-form) or a union inside allOf: JSON.
      if (properties.length === 0 || polymorphic) return scalarShape('JSON', nullable);
      // Register first: $ref cycles resolve to this name while its fields are generated.
      const sdl: SdlType = { kind: ctx.input ? 'input' : 'object', name: gqlName, fields: [] };
      types.set(gqlName, sdl);
      byOrigin.set(`${ctx.input ? 'input' : 'object'}:${ctx.pointer}`, gqlName);
      const fields: ObjectField[] = [];
      registry.add({ kind: 'object', name: gqlName, fields });
      const seen = new Set<string>();
      for (const [wire, prop, at] of properties) {
        let field = fieldNameFor(gqlName, wire);
        // Properties that read alike once named (`1` and `-1`): the later ones numbered, in spec order.
        if (seen.has(field) && !mapping.renames.fields[`${gqlName}.${wire}`]) {
          const base = field;
          for (let n = 2; seen.has(field); n += 1) field = `${base}_${n}`;
        }
        if (seen.has(field)) fail(at, `two properties of ${name} map to the field ${field}`);
        seen.add(field);
        const shape = shapeFor(prop, { input: ctx.input, nameHint: `${name}${pascalCase(wire)}`, pointer: at }, !required.has(wire), wire);
        fields.push({ name: field, wire, shape });
        sdl.fields.push({ name: field, type: shape, description: typeof prop.description === 'string' ? prop.description : undefined });
      }
    }
    return { kind: 'ref', name: gqlName, nullable };
  }

  function unionShape(name: string, schema: JsonSchema, members: JsonSchema[], ctx: Ctx, nullable: boolean): Shape {
    const discriminator = schema.discriminator as { propertyName?: string; mapping?: Record<string, string> } | undefined;
    const refs = members.filter((m) => m.type !== 'null');
    if (ctx.input || !discriminator?.propertyName || refs.some((m) => typeof m.$ref !== 'string')) {
      // Only discriminated unions of named objects become GraphQL unions; the rest is JSON.
      return scalarShape('JSON', nullable);
    }
    const gqlName = uniqueTypeName(name, `union:${ctx.pointer}`);
    if (!types.has(gqlName)) {
      types.set(gqlName, { kind: 'union', name: gqlName, members: [] });
      const byRef = new Map<string, string>();
      for (const [value, ref] of Object.entries(discriminator.mapping ?? {})) byRef.set(ref, value);
      const memberMap: Record<string, string> = {};
      const memberNames: string[] = [];
      for (const member of refs) {
        const ref = member.$ref as string;
        const target = resolveRef(ref, ctx.pointer);
        if (!target.name || !isObjectLike(target.schema)) {
          // A member that is no object (a string, an array): GraphQL unions hold objects only.
          types.delete(gqlName);
          origins.delete(gqlName);
          return unsupported(ctx.pointer, `union member ${ref} is not an object schema`);
        }
        const shape = shapeFor(member, { ...ctx, nameHint: target.name! }, false);
        const memberName = (shape as { name: string }).name;
        memberMap[byRef.get(ref) ?? target.name!] = memberName;
        memberNames.push(memberName);
      }
      registry.add({ kind: 'union', name: gqlName, discriminator: discriminator.propertyName, members: memberMap });
      types.set(gqlName, { kind: 'union', name: gqlName, members: memberNames });
    }
    return { kind: 'ref', name: gqlName, nullable };
  }

  const resolving = new Set<string>();
  function shapeFor(schema: JsonSchema, ctx: Ctx, optional = false, wireName?: string): Shape {
    const nullable = optional || isNullable(schema);
    if (typeof schema.$ref === 'string') {
      const target = resolveRef(schema.$ref, ctx.pointer);
      const known = target.name ? componentTypes.get(`${ctx.input}:${target.name}`) : undefined;
      if (known) return { kind: 'ref', name: known, nullable } as Shape;
      // A reference to an object type already registered (a cycle through named objects:
      // Author.books -> Book.author -> Author) is that type.
      const registered = byOrigin.get(`${ctx.input ? 'input' : 'object'}:${target.pointer}`);
      if (registered) return { kind: 'ref', name: registered, nullable };
      // A reference back into a schema still being generated that no named object type breaks
      // (a list of itself, a pointer into its own properties): JSON at the point it recurs.
      const key = `${ctx.input}:${target.pointer}`;
      if (resolving.has(key)) return unsupported(ctx.pointer, `${schema.$ref} refers back to itself without a named object in between`);
      resolving.add(key);
      try {
        if (target.name) {
          const shape = shapeFor(target.schema, { input: ctx.input, nameHint: pascalCase(target.name), pointer: target.pointer }, optional, wireName);
          if (shape.kind === 'ref' || shape.kind === 'enum') componentTypes.set(`${ctx.input}:${target.name}`, shape.name);
          return { ...shape, nullable: nullable || shape.nullable } as Shape;
        }
        return shapeFor(target.schema, { ...ctx, pointer: target.pointer }, optional, wireName);
      } finally {
        resolving.delete(key);
      }
    }
    if (schema.not !== undefined) return unsupported(ctx.pointer, '"not" cannot be expressed in GraphQL');
    if (Array.isArray(schema.enum)) {
      const values = schema.enum.filter((v) => v !== null);
      // An enum of booleans is a Boolean; of anything but strings and numbers, JSON.
      if (values.length > 0 && values.every((v) => typeof v === 'boolean')) return scalarShape('Boolean', nullable);
      if (values.some((v) => typeof v !== 'string' && typeof v !== 'number')) return scalarShape('JSON', nullable);
      return enumShape(ctx.nameHint, schema.enum, ctx.pointer, nullable);
    }
    for (const key of ['oneOf', 'anyOf'] as const) {
      const members = schema[key];
      if (Array.isArray(members)) {
        const nonNull = (members as JsonSchema[]).filter((m) => m.type !== 'null');
        if (nonNull.length === 1) return shapeFor(nonNull[0]!, ctx, true, wireName);
        return unionShape(ctx.nameHint, schema, members as JsonSchema[], ctx, nullable);
      }
    }
    if (Array.isArray(schema.allOf)) {
      // allOf of one reference (a way to give a $ref a description or nullable): the reference.
      const only = schema.allOf.length === 1 ? (schema.allOf[0] as JsonSchema) : undefined;
      if (only && typeof only.$ref === 'string' && schema.properties === undefined) return shapeFor({ ...only }, ctx, nullable, wireName);
      return objectShape(ctx.nameHint, schema, ctx, nullable);
    }
    let type = schema.type;
    if (Array.isArray(type)) {
      const nonNull = type.filter((t) => t !== 'null');
      if (nonNull.length !== 1) return scalarShape('JSON', nullable);
      type = nonNull[0];
    }
    switch (type) {
      case 'string':
        if (schema.format === 'date-time') return scalarShape('DateTime', nullable);
        if (schema.format === 'int64') return scalarShape('Int64', nullable);
        if (wireName !== undefined && /(^id$|_id$|[a-z]Id$)/.test(wireName)) return scalarShape('ID', nullable);
        return scalarShape('String', nullable);
      case 'integer': {
        const format = schema.format;
        if (format === 'int64' || format === 'uint64' || format === 'uint32') return scalarShape('Int64', nullable);
        const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
        const max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
        if ((min !== undefined && min < -2147483648) || (max !== undefined && max > 2147483647)) return scalarShape('Int64', nullable);
        return scalarShape('Int', nullable);
      }
      case 'number':
        return scalarShape('Float', nullable);
      case 'boolean':
        return scalarShape('Boolean', nullable);
      case 'array': {
        if (typeof schema.items !== 'object' || schema.items === null) return scalarShape('JSON', nullable);
        const of = shapeFor(schema.items as JsonSchema, { ...ctx, pointer: `${ctx.pointer}/items` });
        return { kind: 'list', of, nullable };
      }
      case 'object':
      case undefined:
        if (schema.properties !== undefined && Object.keys(schema.properties as object).length > 0) {
          return objectShape(ctx.nameHint, schema, ctx, nullable);
        }
        // Free-form objects (no properties, or only additionalProperties) and untyped schemas.
        return scalarShape('JSON', nullable);
      case 'null':
        // Only ever null: nothing to read, but the field stays (JSON, nullable).
        return scalarShape('JSON', true);
      default:
        return unsupported(ctx.pointer, `unknown type ${JSON.stringify(type).slice(0, 80)}`);
    }
  }

  function schemaAt(schema: JsonSchema, path: string[], pointer: string): { schema: JsonSchema; pointer: string } {
    let current = deref(schema, pointer);
    for (const segment of path) {
      const { properties } = objectParts(current.schema, current.pointer);
      const found = properties.find(([name]) => name === segment);
      if (!found) fail(current.pointer, `the response has no property "${segment}" to unwrap`);
      current = { schema: found![1], pointer: found![2] };
      if (segment !== path[path.length - 1]) current = deref(current.schema, current.pointer);
    }
    return current;
  }

  // Operations.
  const operations: GeneratedOperation[] = [];
  const seenOperationIds = new Set<string>();
  const fieldNames = { query: new Set<string>(), mutation: new Set<string>() };
  for (const [pathTemplate, item] of Object.entries(doc.paths ?? {})) {
    const shared = (item.parameters as JsonSchema[] | undefined) ?? [];
    for (const method of METHODS) {
      const op = item[method] as JsonSchema | undefined;
      if (!op) continue;
      const pointer = `/paths/${pathTemplate.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}`;
      let operationId = typeof op.operationId === 'string' ? op.operationId : `${method}${pascalCase(pathTemplate)}`;
      // Operations without an operationId whose paths read alike (/fs/{Path} and /fs/Path), or a
      // spec repeating an operationId: the later ones numbered, in spec order.
      if (seenOperationIds.has(operationId)) {
        const base = operationId;
        for (let n = 2; seenOperationIds.has(operationId); n += 1) operationId = `${base}${n}`;
        warnings.push(`${specLocation}#${pointer}: operationId ${base} is taken by an earlier operation; this one is ${operationId}`);
      }
      seenOperationIds.add(operationId);
      const opMapping = mapping.operations[operationId];
      if (mapping.include === 'listed' && !opMapping) continue;
      try {
        const kind = opMapping?.kind ?? (method === 'get' ? 'query' : 'mutation');
        if (kind === 'hidden' && !Object.values(mapping.entities).some((e) => e.batch?.operation === operationId || e.single?.operation === operationId)) continue;
        const field = opMapping?.field ?? camelCase(operationId);
        const baseName = pascalCase(operationId);

        const parameters: GeneratedParameter[] = [];
        const args = new Set<string>();
        const params = [...shared, ...((op.parameters as JsonSchema[] | undefined) ?? [])];
        for (const [index, raw] of params.entries()) {
          const { schema: param, pointer: at } = deref(raw, `${pointer}/parameters/${index}`);
          const name = String(param.name);
          const location = String(param.in);
          const exposed = !opMapping?.exclude.includes(name);
          if (location === 'cookie') {
            warnings.push(`${specLocation}#${at}: cookie parameter ${name} is not exposed`);
            continue;
          }
          if (location !== 'path' && location !== 'query' && location !== 'header') fail(at, `parameter location ${location} is not supported`);
          let arg = opMapping?.arguments[name] ?? camelCase(name);
          // The same name in two places (query and header), or names that read alike: the later one
          // says where it goes, then is numbered.
          if (exposed && args.has(arg) && !opMapping?.arguments[name]) {
            arg = `${arg}${pascalCase(location)}`;
            for (let n = 2; args.has(arg); n += 1) arg = `${camelCase(name)}${pascalCase(location)}${n}`;
          }
          if (exposed && args.has(arg)) fail(at, `two parameters map to the argument ${arg}`);
          if (exposed) args.add(arg);
          const required = param.required === true || location === 'path';
          const schema = (param.schema as JsonSchema | undefined) ?? { type: 'string' };
          const shape = shapeFor(schema, { input: true, nameHint: `${baseName}${pascalCase(name)}`, pointer: `${at}/schema` }, !required, name);
          const style = typeof param.style === 'string' ? param.style : 'form';
          const explode = typeof param.explode === 'boolean' ? param.explode : style === 'form';
          parameters.push({ wire: name, in: location as GeneratedParameter['in'], arg, shape, explode, exposed });
        }

        let body: GeneratedOperation['body'];
        const requestBody = op.requestBody ? deref(op.requestBody as JsonSchema, `${pointer}/requestBody`) : undefined;
        if (requestBody) {
          const content = (requestBody.schema.content ?? {}) as Record<string, JsonSchema>;
          const asJson = jsonContent(content);
          const asForm = asJson ? undefined : formContent(content);
          const json = asJson ?? asForm;
          if (!json) {
            const reason = `only JSON and form request bodies are supported (${Object.keys(content).join(', ')})`;
            if (!mapping.degradeUnsupported) fail(requestBody.pointer, `${reason}; set degradeUnsupported: true to leave the operation out`);
            warnings.push(`${specLocation}#${requestBody.pointer}: ${reason}; operation ${operationId} left out`);
            continue;
          }
          const arg = opMapping?.bodyArgument ?? 'input';
          if (args.has(arg)) fail(requestBody.pointer, `the body argument ${arg} collides with a parameter; set bodyArgument`);
          const schema = (json![1].schema as JsonSchema | undefined) ?? {};
          const shape = shapeFor(schema, { input: true, nameHint: `${baseName}Body`, pointer: `${requestBody.pointer}/content/${json![0].replace(/\//g, '~1')}/schema` }, requestBody.schema.required !== true);
          body = { arg, shape, ...(asForm ? { encoding: 'form' as const } : {}) };
        }

        let result: GeneratedOperation['result'];
        const responses = (op.responses ?? {}) as Record<string, JsonSchema>;
        const success = Object.keys(responses)
          .filter((code) => /^2(\d\d|XX)$/.test(code))
          .sort()[0];
        if (success) {
          const { schema: response, pointer: at } = deref(responses[success]!, `${pointer}/responses/${success}`);
          const content = (response.content ?? {}) as Record<string, JsonSchema>;
          const json = jsonContent(content);
          if (json?.[1].schema) {
            const unwrap = splitPath(opMapping?.result);
            const schemaPointer = `${at}/content/${json[0].replace(/\//g, '~1')}/schema`;
            const target = unwrap.length > 0 ? schemaAt(json[1].schema as JsonSchema, unwrap, schemaPointer) : { schema: json[1].schema as JsonSchema, pointer: schemaPointer };
            const shape = shapeFor(target.schema, { input: false, nameHint: `${baseName}Result`, pointer: target.pointer });
            result = { unwrap, shape };
          }
        }

        const headers = opMapping?.headers ?? {};
        const generated: GeneratedOperation = {
          operationId,
          method: method.toUpperCase(),
          pathTemplate,
          kind: kind === 'hidden' ? 'query' : kind,
          field,
          parameters,
          body,
          result,
          headers,
          hinted: false,
        };
        if (kind !== 'hidden') {
          const names = fieldNames[generated.kind];
          if (names.has(field) && !opMapping?.field) {
            // Default names that read alike (getItems and get_items): the later one numbered.
            const base = field;
            for (let n = 2; names.has(generated.field); n += 1) generated.field = `${base}${n}`;
            warnings.push(`${specLocation}#${pointer}: field ${base} is taken by an earlier operation; ${operationId} is ${generated.field}`);
          }
          if (names.has(generated.field)) fail(pointer, `two operations map to ${generated.kind === 'query' ? 'Query' : 'Mutation'}.${generated.field}; rename one in the mapping`);
          names.add(generated.field);
          operations.push(generated);
        } else {
          operations.push({ ...generated, field: '' });
        }
      } catch (error) {
        // degradeUnsupported: an operation the generator cannot build (a parameter in an unknown
        // location, a body argument colliding with a parameter) is left out with its reason.
        if (!mapping.degradeUnsupported || opMapping || !(error instanceof SpecError)) throw error;
        warnings.push(`${(error as Error).message}; operation ${operationId} left out`);
      }
    }
  }
  for (const operationId of Object.keys(mapping.operations)) {
    if (!seenOperationIds.has(operationId)) throw new SpecError(`mapping names operation ${operationId}, which ${specLocation} does not define`);
  }
  for (const generated of Object.keys(mapping.renames.types)) {
    if (!renamedTypes.has(generated)) throw new SpecError(`mapping renames type ${generated}, which the generator did not produce from ${specLocation}`);
  }

  // Entities.
  const byOperationId = new Map(operations.map((op) => [op.operationId, op]));
  const entities: GeneratedEntity[] = [];
  const entityKeys = new Map<string, string>();
  for (const [name, entity] of Object.entries(mapping.entities)) {
    const shape = registry.named.get(name);
    if (!shape || shape.kind !== 'object') throw new SpecError(`mapping entity ${name} is not an object type generated from ${specLocation}`);
    const key = shape.fields.find((f) => f.name === entity.key);
    if (!key) throw new SpecError(`mapping entity ${name}: key field ${entity.key} does not exist on ${name}`);
    const lookup = (which: 'batch' | 'single'): EntityLookup | undefined => {
      const spec = entity[which];
      if (!spec) return undefined;
      const operation = byOperationId.get(spec.operation);
      if (!operation) throw new SpecError(`mapping entity ${name}: ${which} operation ${spec.operation} is not defined`);
      const parameter = operation.parameters.find((p) => p.wire === spec.parameter);
      if (!parameter) throw new SpecError(`mapping entity ${name}: ${spec.operation} has no parameter ${spec.parameter}`);
      if (which === 'batch' && parameter.shape.kind !== 'list') throw new SpecError(`mapping entity ${name}: batch parameter ${spec.parameter} is not a list`);
      if (!operation.result) throw new SpecError(`mapping entity ${name}: ${spec.operation} has no JSON response`);
      const unwrap = spec.result === undefined ? operation.result.unwrap : splitPath(spec.result);
      // The lookup unwraps from the raw response; generate its shape the same way.
      let lookupShape = operation.result.shape;
      if (spec.result !== undefined && operation.result.unwrap.join('.') !== unwrap.join('.')) {
        throw new SpecError(`mapping entity ${name}: ${which}.result must match operations.${spec.operation}.result`);
      }
      const element = lookupShape.kind === 'list' ? lookupShape.of : lookupShape;
      if (element.kind !== 'ref' || element.name !== name) {
        throw new SpecError(`mapping entity ${name}: ${spec.operation} does not return ${which === 'batch' ? 'a list of ' : ''}${name} (set result)`);
      }
      lookupShape = operation.result.shape;
      return { operation, parameter, unwrap, shape: lookupShape };
    };
    const batch = lookup('batch');
    const single = lookup('single');
    if (!batch && !single) throw new SpecError(`mapping entity ${name} needs a batch or a single lookup`);
    entityKeys.set(name, entity.key);
    entities.push({ typeName: name, keyField: entity.key, keyWire: key.wire, batch, single, hinted: false });
  }

  // Cache hints: validate the names, then mark what the mapping covers.
  const hints = new Map<string, CacheHint>(Object.entries(mapping.cacheHints));
  for (const target of hints.keys()) {
    const [type, field] = target.split('.');
    if (type === 'Query' || type === 'Mutation') {
      const names = type === 'Query' ? fieldNames.query : fieldNames.mutation;
      if (!field || !names.has(field)) throw new SpecError(`mapping cacheHints: ${target} is not a generated field`);
      continue;
    }
    const shape = registry.named.get(type!);
    if (!shape || shape.kind === 'enum') throw new SpecError(`mapping cacheHints: ${type} is not a generated object type`);
    if (field && (shape.kind !== 'object' || !shape.fields.some((f) => f.name === field))) {
      throw new SpecError(`mapping cacheHints: ${target} is not a generated field`);
    }
  }
  const namedOf = (shape: Shape): string | undefined => (shape.kind === 'list' ? namedOf(shape.of) : shape.kind === 'ref' ? shape.name : undefined);
  for (const op of operations) {
    const returned = op.result ? namedOf(op.result.shape) : undefined;
    op.hinted = hints.has(`${op.kind === 'query' ? 'Query' : 'Mutation'}.${op.field}`) || (returned !== undefined && hints.has(returned));
  }
  for (const entity of entities) entity.hinted = hints.has(entity.typeName);

  const sdl = renderSubgraphSdl({
    types: [...types.values()],
    query: operations.filter((op) => op.kind === 'query' && op.field !== '').map((op) => rootField(op)),
    mutation: operations.filter((op) => op.kind === 'mutation').map((op) => rootField(op)),
    keys: entityKeys,
    hints,
    scalars,
  });
  return { sdl, registry, operations, entities, scalars, warnings };
}

function rootField(op: GeneratedOperation) {
  return {
    name: op.field,
    description: `${op.method} ${op.pathTemplate} (${op.operationId})`,
    args: [
      ...op.parameters.filter((p) => p.exposed).map((p) => ({ name: p.arg, type: p.shape })),
      ...(op.body ? [{ name: op.body.arg, type: op.body.shape }] : []),
    ],
    // Root fields stay nullable so that a failed legacy call is null plus an error, not a lost response.
    type: op.result ? { ...op.result.shape, nullable: true } : ({ kind: 'scalar', scalar: 'Boolean', nullable: true } as Shape),
  };
}
