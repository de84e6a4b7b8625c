import { camelCase, constantCase, inferKind, pascalCase } from '../toolkit/names.js';
import { renderSubgraphSdl, type RootField, type SdlType } from '../toolkit/sdl.js';
import { ShapeRegistry, type ObjectField, type ScalarName, type Shape } from '../toolkit/shape.js';
import type { SoapMapping } from './mapping.js';

const XSD = 'http://www.w3.org/2001/XMLSchema';

/**
 * Every XSD 1.0 built-in type (and 1.1's few additions) to a GraphQL scalar: money stays a
 * decimal string, longs stay exact, the untyped ones (anyType) are JSON.
 */
const BUILT_IN: Record<string, ScalarName> = {
  string: 'String',
  normalizedString: 'String',
  token: 'String',
  anyURI: 'String',
  QName: 'String',
  NOTATION: 'String',
  language: 'String',
  Name: 'String',
  NCName: 'String',
  ID: 'String',
  IDREF: 'String',
  IDREFS: 'String',
  ENTITY: 'String',
  ENTITIES: 'String',
  NMTOKEN: 'String',
  NMTOKENS: 'String',
  time: 'String',
  duration: 'String',
  dayTimeDuration: 'String',
  yearMonthDuration: 'String',
  gYear: 'String',
  gYearMonth: 'String',
  gMonth: 'String',
  gMonthDay: 'String',
  gDay: 'String',
  hexBinary: 'String',
  anySimpleType: 'String',
  anyAtomicType: 'String',
  anyType: 'JSON',
  dateTimeStamp: 'DateTime',
  boolean: 'Boolean',
  int: 'Int',
  short: 'Int',
  byte: 'Int',
  unsignedShort: 'Int',
  unsignedByte: 'Int',
  long: 'Int64',
  integer: 'Int64',
  unsignedInt: 'Int64',
  unsignedLong: 'Int64',
  nonNegativeInteger: 'Int64',
  positiveInteger: 'Int64',
  negativeInteger: 'Int64',
  nonPositiveInteger: 'Int64',
  decimal: 'Decimal',
  float: 'Float',
  double: 'Float',
  dateTime: 'DateTime',
  date: 'Date',
  base64Binary: 'Base64',
};

/** Names a generated type never takes: GraphQL's and federation's own, and the adapters' scalars. */
const RESERVED = new Set(['Query', 'Mutation', 'Subscription', 'String', 'Int', 'Float', 'Boolean', 'ID', 'DateTime', 'Int64', 'JSON', 'Decimal', 'Base64', 'Date', 'Duration', 'Upload', 'CacheControlScope']);

export class WsdlError extends Error {
  override name = 'WsdlError';
}

/** The parts of node-soap's parsed WSDL tree the generator reads. */
export interface XsdNode {
  name: string;
  children?: XsdNode[];
  $name?: string;
  $type?: string;
  $ref?: string;
  $base?: string;
  $value?: string;
  $minOccurs?: string;
  $maxOccurs?: string;
  $nillable?: string;
  $use?: string;
  $targetNamespace?: string;
  schemaXmlns?: Record<string, string>;
  xmlns?: Record<string, string>;
  definitionsXmlns?: Record<string, string>;
}

interface SchemaNode extends XsdNode {
  complexTypes: Record<string, XsdNode>;
  types: Record<string, XsdNode>;
  elements: Record<string, XsdNode>;
}

interface MessageNode {
  element?: XsdNode;
  parts?: Record<string, string>;
}

export interface WsdlDefinitions {
  schemas: Record<string, SchemaNode>;
  services: Record<string, { ports: Record<string, { location: string; binding: BindingNode }> }>;
  xmlns?: Record<string, string>;
}

interface BindingNode {
  style?: string;
  methods: Record<string, { style?: string; input: MessageNode; output: MessageNode; soapAction?: string }>;
}

export interface GeneratedSoapArgument {
  name: string;
  /** Request element name. */
  element: string;
  shape: Shape;
}

export interface GeneratedOperation {
  name: string;
  style: 'document' | 'rpc';
  args: GeneratedSoapArgument[];
  /** When the mapping passes the whole request as one input argument. */
  inputArgument?: { name: string; shape: Shape };
  /** Response shape after picking `result`. */
  responseShape: Shape;
  result?: string;
  faults: { match: RegExp; code: string }[];
}

export interface GeneratedRootField {
  field: string;
  kind: 'query' | 'mutation';
  operation: GeneratedOperation;
}

export interface GeneratedSoapEntity {
  typeName: string;
  keyField: string;
  owned: boolean;
  batch?: { operation: GeneratedOperation; keys: string; result: string; resultKey: string };
  single?: { operation: GeneratedOperation; key: string; result?: string };
  operationFields: { name: string; operation: GeneratedOperation; key: string }[];
}

export interface GeneratedReference {
  typeName: string;
  field: string;
  /** GraphQL name of the field holding the key. */
  from: string;
  entity: string;
}

export interface GeneratedSoapSubgraph {
  sdl: string;
  registry: ShapeRegistry;
  rootFields: GeneratedRootField[];
  entities: GeneratedSoapEntity[];
  references: GeneratedReference[];
  scalars: Set<ScalarName>;
  port: { service: string; port: string; location: string };
  /** What `include: all` or `degradeUnsupported` left out or simplified, and why. */
  skipped: { what: string; why: string }[];
}

interface Ctx {
  ns: string;
  input: boolean;
}

function localName(node: XsdNode): string {
  return node.name.includes(':') ? node.name.split(':')[1]! : node.name;
}

function many(node: XsdNode): boolean {
  return node.$maxOccurs !== undefined && node.$maxOccurs !== '1' && node.$maxOccurs !== '0';
}

/**
 * Generates a federated subgraph from a WSDL 1.1 (as node-soap parsed it) and a mapping.
 * complexType sequence/all/choice to object and input types, extension flattened, attributes as
 * fields, minOccurs="0" and nillable to nullable, maxOccurs>1 to lists, enumerations to enums.
 * Constructs it cannot express (xs:any, unions, groups, unknown types) fail with the location.
 */
export function generateSoapSubgraph(definitions: WsdlDefinitions, mapping: SoapMapping, origin: string): GeneratedSoapSubgraph {
  const registry = new ShapeRegistry({ int64: 'string', xml: true });
  const types = new Map<string, SdlType>();
  const scalars = new Set<ScalarName>();
  const owners = new Map<string, string>();
  const renamed = new Set<string>();

  const skipped: { what: string; why: string }[] = [];
  const fail = (where: string, reason: string): never => {
    throw new WsdlError(`${origin} (${where}): ${reason}`);
  };
  /** A construct the generator cannot express: JSON (or left out) with degradeUnsupported, else an error. */
  const unsupported = (where: string, reason: string, nullable = true): Shape => {
    if (!mapping.degradeUnsupported) fail(where, reason);
    skipped.push({ what: where, why: `${reason}: read as JSON` });
    return scalar('JSON', nullable);
  };
  const leftOut = (where: string, reason: string): void => {
    if (!mapping.degradeUnsupported) fail(where, reason);
    skipped.push({ what: where, why: `${reason}: left out` });
  };
  const typeName = (generated: string): string => {
    const to = mapping.renames.types[generated];
    if (to) renamed.add(generated);
    return to ?? `${mapping.typePrefix ?? ''}${RESERVED.has(generated) ? `${generated}Type` : generated}`;
  };
  const claim = (name: string, qualified: string): void => {
    const owner = owners.get(name);
    if (owner && owner !== qualified) fail(qualified, `both ${owner} and ${qualified} become type ${name}; rename one in renames.types`);
    owners.set(name, qualified);
  };
  const scalar = (name: ScalarName, nullable: boolean): Shape => {
    scalars.add(name);
    return { kind: 'scalar', scalar: name, nullable };
  };

  function resolveQName(qname: string, node: XsdNode, ctx: Ctx): { ns: string; local: string } {
    const [prefix, local] = qname.includes(':') ? (qname.split(':') as [string, string]) : ['', qname];
    if (!prefix) return { ns: ctx.ns, local };
    const ns = node.schemaXmlns?.[prefix] ?? node.xmlns?.[prefix] ?? node.definitionsXmlns?.[prefix] ?? definitions.xmlns?.[prefix];
    if (!ns) fail(qname, `namespace prefix "${prefix}" is not declared`);
    return { ns: ns!, local };
  }

  /** The target namespace of a schema node node-soap hands over resolved: the schema that defines it. */
  function namespaceOf(node: XsdNode): string {
    if (node.$targetNamespace) return node.$targetNamespace;
    for (const [ns, schema] of Object.entries(definitions.schemas)) {
      const name = node.$name ?? '';
      if (schema.complexTypes[name] === node || schema.types[name] === node || schema.elements[name] === node) return ns;
    }
    return Object.keys(definitions.schemas)[0] ?? '';
  }

  function simpleShape(node: XsdNode, name: string, ctx: Ctx, nullable: boolean): Shape {
    const restriction = node.children?.find((c) => localName(c) === 'restriction');
    // xs:list and xs:union of simple types: their text as it is (a space-separated list, or one
    // of the member types' lexical forms).
    if (!restriction) return scalar('String', nullable);
    // A restriction of an inline simpleType (no base): the inline type decides.
    if (!restriction.$base) {
      const inline = restriction.children?.find((c) => localName(c) === 'simpleType');
      return inline ? simpleShape(inline, name, ctx, nullable) : scalar('String', nullable);
    }
    const enums = restriction.children?.filter((c) => localName(c) === 'enumeration') ?? [];
    if (enums.length > 0) {
      const gqlName = typeName(pascalCase(name));
      claim(gqlName, `${ctx.ns}#${name}`);
      if (!types.has(gqlName)) {
        const values: Record<string, string> = {};
        // Values that collide once in CONSTANT_CASE (duplicates, "a-b" and "a_b") are numbered in
        // document order: A_B, A_B_2.
        const taken = new Set<string>();
        for (const e of enums) {
          const wire = e.$value ?? '';
          if (wire in values) continue;
          const base = constantCase(wire);
          let candidate = base;
          for (let n = 2; taken.has(candidate); n += 1) candidate = `${base}_${n}`;
          taken.add(candidate);
          values[wire] = candidate;
        }
        registry.add({ kind: 'enum', name: gqlName, values });
        types.set(gqlName, { kind: 'enum', name: gqlName, values: Object.values(values) });
      }
      return { kind: 'enum', name: gqlName, nullable };
    }
    return typeShape(restriction.$base, restriction, ctx, nullable, name);
  }

  function typeShape(qname: string, node: XsdNode, ctx: Ctx, nullable: boolean, elementName: string): Shape {
    const { ns, local } = resolveQName(qname, node, ctx);
    if (ns === XSD || ns === 'http://www.w3.org/1999/XMLSchema' || ns === 'http://www.w3.org/2000/10/XMLSchema') {
      const builtIn = BUILT_IN[local];
      if (!builtIn) return unsupported(qname, `XSD type xs:${local} is not a built-in type`, nullable);
      const id = builtIn === 'String' && /(^id$|Id$)/.test(elementName) ? 'ID' : builtIn;
      return scalar(id, nullable);
    }
    if (ns === 'http://schemas.xmlsoap.org/soap/encoding/') {
      // SOAP encoding's wrappers of the built-in types (soapenc:string); its Array is a list.
      return BUILT_IN[local] ? scalar(BUILT_IN[local]!, nullable) : unsupported(qname, `SOAP-encoded type ${local} is not supported`, nullable);
    }
    const schema = definitions.schemas[ns];
    if (!schema) return unsupported(qname, `no schema for namespace ${ns} (is the XSD imported?)`, nullable);
    const complex = schema.complexTypes[local];
    if (complex) return complexShape(complex, local, { ns, input: ctx.input }, nullable);
    const simple = schema.types[local];
    if (simple) return simpleShape(simple, local, { ns, input: ctx.input }, nullable);
    return unsupported(qname, `type ${local} is not defined in ${ns}`, nullable);
  }

  /** Fields of a complexType: sequence/all/choice, attributes, complexContent/simpleContent extension. */
  function collectFields(node: XsdNode, owner: string, ctx: Ctx, optional: boolean, out: { field: ObjectField; description?: string }[]): void {
    for (const child of node.children ?? []) {
      const kind = localName(child);
      switch (kind) {
        case 'sequence':
        case 'all':
          collectFields(child, owner, ctx, optional, out);
          break;
        case 'choice':
          collectFields(child, owner, ctx, true, out);
          break;
        case 'element':
          out.push({ field: elementField(child, owner, ctx, optional) });
          break;
        case 'attribute': {
          if (!child.$name) {
            leftOut(`${owner}@${child.$ref ?? '?'}`, 'attribute references are not supported');
            break;
          }
          if (child.$use === 'prohibited') break;
          const shape = child.$type ? typeShape(child.$type, child, ctx, child.$use !== 'required', child.$name!) : scalar('String', child.$use !== 'required');
          out.push({ field: { name: fieldName(owner, child.$name!), wire: child.$name!, shape, attribute: true } });
          break;
        }
        case 'complexContent':
        case 'simpleContent':
          collectFields(child, owner, ctx, optional, out);
          break;
        case 'extension': {
          const { ns, local } = resolveQName(child.$base!, child, ctx);
          const baseSchema = ns === XSD ? undefined : definitions.schemas[ns];
          const base = baseSchema?.complexTypes[local];
          if (base) collectFields(base, owner, { ns, input: ctx.input }, optional, out);
          else if (ns === XSD || baseSchema?.types[local]) {
            // simpleContent: the element's text is the value, beside its attributes (the base a
            // built-in or a user simpleType).
            out.push({ field: { name: fieldName(owner, 'value'), wire: '$value', shape: typeShape(child.$base!, child, ctx, true, 'value') } });
          } else leftOut(`${owner} extension ${child.$base}`, `extension base ${child.$base} is not defined`);
          collectFields(child, owner, ctx, optional, out);
          break;
        }
        case 'restriction':
          collectFields(child, owner, ctx, optional, out);
          break;
        case 'annotation':
        case 'documentation':
        case 'anyAttribute':
        case 'attributeGroup':
          // Open attribute sets; attribute groups by reference (node-soap does not resolve them).
          if (kind === 'attributeGroup') leftOut(`${owner.replace(/Input$/, '')} attributeGroup ${child.$ref ?? ''}`.trim(), 'attribute groups are not supported');
          break;
        default:
          leftOut(`${owner.replace(/Input$/, '')} xs:${kind}`, `xs:${kind} is not supported`);
      }
    }
  }

  function fieldName(owner: string, wire: string): string {
    return mapping.renames.fields[`${owner}.${wire}`] ?? camelCase(wire);
  }

  function elementField(node: XsdNode, owner: string, ctx: Ctx, optional: boolean): ObjectField {
    let element = node;
    let elementCtx = ctx;
    if (node.$ref) {
      const { ns, local } = resolveQName(node.$ref, node, ctx);
      const target = definitions.schemas[ns]?.elements[local];
      if (!target) {
        const shape = unsupported(`${owner} ref ${node.$ref}`, `element ref ${node.$ref} does not resolve`);
        return { name: fieldName(owner, local), wire: local, shape };
      }
      element = { ...target, $minOccurs: node.$minOccurs, $maxOccurs: node.$maxOccurs };
      elementCtx = { ns, input: ctx.input };
    }
    const name = element.$name!;
    const repeated = many(element);
    const nullable = optional || element.$minOccurs === '0' || element.$nillable === 'true';
    let shape = elementShape(element, `${owner.replace(/Input$/, '')}${pascalCase(name)}`, elementCtx, repeated ? false : nullable);
    // A repeated element is a list, empty when absent: it never is null.
    if (repeated) shape = { kind: 'list', of: { ...shape, nullable: false }, nullable: false };
    return { name: fieldName(owner, name), wire: name, shape };
  }

  function elementShape(element: XsdNode, anonymousName: string, ctx: Ctx, nullable: boolean): Shape {
    if (element.$type) return typeShape(element.$type, element, ctx, nullable, element.$name!);
    const inline = element.children?.find((c) => localName(c) === 'complexType' || localName(c) === 'simpleType');
    if (!inline) return scalar('String', nullable);
    return localName(inline) === 'complexType'
      ? complexShape(inline, anonymousName, ctx, nullable)
      : simpleShape(inline, anonymousName, ctx, nullable);
  }

  function complexShape(node: XsdNode, name: string, ctx: Ctx, nullable: boolean): Shape {
    const gqlName = typeName(`${pascalCase(name)}${ctx.input ? 'Input' : ''}`);
    claim(gqlName, `${ctx.ns}#${name}${ctx.input ? ' (input)' : ''}`);
    if (!types.has(gqlName)) {
      const sdl: SdlType = { kind: ctx.input ? 'input' : 'object', name: gqlName, fields: [] };
      types.set(gqlName, sdl);
      const fields: ObjectField[] = [];
      registry.add({ kind: 'object', name: gqlName, fields });
      const collected: { field: ObjectField }[] = [];
      collectFields(node, gqlName, ctx, false, collected);
      if (collected.length === 0) {
        // An empty complexType (a request without arguments, an answer without data): GraphQL
        // types need a field, so one that is always null stands in; it is never sent or read.
        // In the SDL only: the conversions neither read nor write it.
        sdl.fields.push({ name: '_empty', type: { kind: 'scalar', scalar: 'Boolean', nullable: true }, description: 'Always null: the type has no elements.' });
      }
      for (const { field } of collected) {
        if (fields.some((f) => f.name === field.name)) fail(name, `two elements of ${name} become the field ${field.name}`);
        fields.push(field);
        sdl.fields.push({ name: field.name, type: field.shape });
      }
    }
    return { kind: 'ref', name: gqlName, nullable };
  }

  // The port, its binding and operations.
  const [serviceName, portName] = mapping.port?.split('.') ?? [];
  const service = serviceName ? definitions.services[serviceName] : Object.values(definitions.services)[0];
  if (!service) fail('wsdl:service', mapping.port ? `no service ${serviceName}` : 'the WSDL defines no service');
  const portEntry: [string, { location: string; binding: BindingNode } | undefined] | undefined = portName
    ? [portName, service!.ports[portName]]
    : Object.entries(service!.ports)[0];
  if (!portEntry?.[1]) fail('wsdl:port', portName ? `no port ${portName}` : 'the service has no usable port (node-soap drops a port whose binding= names no wsdl:binding of the document)');
  const port = portEntry![1]!;
  const binding = port.binding;
  // node-soap leaves a port whose binding= names no wsdl:binding without one.
  if (!binding?.methods) fail(`wsdl:port ${portEntry![0]}`, 'its binding is not defined in the WSDL');

  function operation(name: string, spec: { arguments?: Record<string, string>; inputArgument?: string; result?: string; faults?: { match: string; code: string }[] }, skip: Set<string> = new Set()): GeneratedOperation {
    const method = binding.methods[name];
    if (!method) fail(`operation ${name}`, `the binding has no operation ${name}`);
    const style = (method!.style ?? binding.style ?? 'document') === 'rpc' ? 'rpc' : 'document';
    const requestFields = messageFields(method!.input, name, 'Request', true, style);
    const responseFields = messageFields(method!.output, name, 'Response', false, style);
    for (const from of Object.keys(spec.arguments ?? {})) {
      if (!requestFields.fields.some((f) => f.wire === from)) fail(`operation ${name}`, `mapping renames argument ${from}, which the request does not have`);
    }
    const args = requestFields.fields
      .filter((f) => !skip.has(f.wire))
      .map((f) => ({ name: spec.arguments?.[f.wire] ?? f.name, element: f.wire, shape: f.shape }));
    let responseShape = responseFields.shape;
    if (spec.result) {
      const picked = responseFields.fields.find((f) => f.wire === spec.result);
      if (!picked) fail(`operation ${name}`, `the response has no element ${spec.result}`);
      responseShape = picked!.shape;
    }
    return {
      name,
      style,
      args: spec.inputArgument ? [] : args,
      inputArgument: spec.inputArgument ? { name: spec.inputArgument, shape: { ...requestFields.shape, nullable: false } } : undefined,
      responseShape: { ...responseShape, nullable: true },
      result: spec.result,
      faults: (spec.faults ?? []).map((f) => ({ match: new RegExp(f.match, 'i'), code: f.code })),
    };
  }

  function messageFields(message: MessageNode | null | undefined, operationName: string, suffix: string, input: boolean, style: 'document' | 'rpc'): { fields: ObjectField[]; shape: Shape } {
    if (!message) {
      // No message: a one-way operation's answer (true once the service took the request), or a
      // request without parameters.
      return { fields: [], shape: { kind: 'scalar', scalar: 'Boolean', nullable: true, codec: 'empty' } };
    }
    if (style === 'document') {
      // node-soap hands document-style operations their part's element directly.
      const element = (message as XsdNode).name && localName(message as XsdNode) === 'element' ? (message as XsdNode) : message.element;
      if (element) {
        const ns = element.$targetNamespace ?? Object.keys(definitions.schemas)[0]!;
        const shape = elementShape(element, element.$name!, { ns, input }, false);
        if (shape.kind !== 'ref') {
          // Bare document/literal with a simple element: the element is the single argument.
          return { fields: [{ name: camelCase(element.$name!), wire: element.$name!, shape }], shape };
        }
        const named = registry.get(shape.name);
        return { fields: named.kind === 'object' ? named.fields : [], shape };
      }
      // Document style with type= parts: the parts are the children, as in rpc style.
      if (!message.parts || Object.keys(message.parts).length === 0) {
        return { fields: [], shape: { kind: 'scalar', scalar: 'Boolean', nullable: true, codec: 'empty' } };
      }
    }
    // rpc/literal: the message parts are the parameters.
    const name = typeName(`${pascalCase(operationName)}${suffix}${input ? 'Input' : ''}`);
    const fields: ObjectField[] = [];
    const partNode = { name: 'part', definitionsXmlns: definitions.xmlns } as XsdNode;
    for (const [part, type] of Object.entries(message.parts ?? {})) {
      const nodeOf = type as unknown as XsdNode | string;
      let shape: Shape;
      if (typeof nodeOf === 'string') shape = typeShape(nodeOf, partNode, { ns: '', input }, true, part);
      // A part node-soap resolved to the schema node it names: a type= part's complexType or
      // simpleType, an element= part's element.
      else if (nodeOf && typeof nodeOf === 'object' && typeof nodeOf.name === 'string') {
        const kind = localName(nodeOf);
        const ns = namespaceOf(nodeOf);
        if (kind === 'complexType') shape = complexShape(nodeOf, nodeOf.$name ?? `${pascalCase(operationName)}${pascalCase(part)}`, { ns, input }, true);
        else if (kind === 'simpleType') shape = simpleShape(nodeOf, nodeOf.$name ?? `${pascalCase(operationName)}${pascalCase(part)}`, { ns, input }, true);
        else shape = elementShape({ ...nodeOf, $name: nodeOf.$name ?? part }, `${pascalCase(operationName)}${pascalCase(part)}`, { ns, input }, true);
      }
      else shape = unsupported(`operation ${operationName} part ${part}`, 'the part names neither a type nor an element');
      fields.push({ name: camelCase(part), wire: part, shape });
    }
    if (fields.length === 0) return { fields: [], shape: { kind: 'scalar', scalar: 'Boolean', nullable: true, codec: 'empty' } };
    const taken = new Set<string>();
    for (const f of fields) {
      if (taken.has(f.name)) fail(`operation ${operationName}`, `two parts become the field ${f.name}`);
      taken.add(f.name);
    }
    if (!types.has(name)) {
      registry.add({ kind: 'object', name, fields });
      types.set(name, { kind: input ? 'input' : 'object', name, fields: fields.map((f) => ({ name: f.name, type: f.shape })) });
    }
    return { fields, shape: { kind: 'ref', name, nullable: false } };
  }

  const rootFields: GeneratedRootField[] = [];
  const seen = { query: new Set<string>(), mutation: new Set<string>() };
  const listed = Object.entries(mapping.operations);
  const include = mapping.include ?? (listed.length > 0 ? 'listed' : 'all');
  if (include === 'all') {
    // Every operation of the port, in document order: the mapping's settings where it has any,
    // query or mutation by the name's verb otherwise.
    const byName = new Map(listed);
    const all = Object.keys(binding.methods).map((name): [string, (typeof listed)[number][1] | undefined] => [name, byName.get(name)]);
    for (const name of byName.keys()) if (!binding.methods[name]) fail(`operation ${name}`, `the binding has no operation ${name}`);
    for (const [name, spec] of all) {
      const kind = spec?.kind ?? inferKind(name, mapping.queryVerbs);
      const field = spec?.field ?? camelCase(name);
      if (seen[kind].has(field)) {
        if (spec) fail(`operation ${name}`, `two operations map to ${field}`);
        skipped.push({ what: name, why: `its field ${field} is taken by another operation` });
        continue;
      }
      try {
        const generated = operation(name, spec ?? {});
        seen[kind].add(field);
        rootFields.push({ field, kind, operation: generated });
      } catch (error) {
        if (!mapping.degradeUnsupported || spec) throw error;
        skipped.push({ what: name, why: (error as Error).message.replace(`${origin} `, '') });
      }
    }
  } else {
    for (const [name, spec] of listed) {
      const field = spec.field ?? camelCase(name);
      const kind = spec.kind ?? 'query';
      if (seen[kind].has(field)) fail(`operation ${name}`, `two operations map to ${field}`);
      seen[kind].add(field);
      rootFields.push({ field, kind, operation: operation(name, spec) });
    }
  }
  if (rootFields.length === 0) fail('wsdl:binding', skipped.length > 0 ? `no usable operation (${skipped.map((s) => `${s.what}: ${s.why}`).join('; ').slice(0, 300)})` : 'the port has no operation');

  // Entities and references.
  const entities: GeneratedSoapEntity[] = [];
  const extraTypes: SdlType[] = [];
  const keys = new Map<string, string>();
  for (const [name, spec] of Object.entries(mapping.entities)) {
    const owned = spec.type !== undefined;
    if (owned) {
      const object = registry.named.get(name);
      if (!object || object.kind !== 'object') fail(`entity ${name}`, `${name} is not a generated type (from complexType ${spec.type}; rename it to ${name})`);
      if (!(object as { fields: ObjectField[] }).fields.some((f) => f.name === spec.key)) fail(`entity ${name}`, `key field ${spec.key} does not exist`);
      keys.set(name, spec.key);
    }
    const entity: GeneratedSoapEntity = {
      typeName: name,
      keyField: spec.key,
      owned,
      batch: spec.batch ? { ...spec.batch, operation: operation(spec.batch.operation, {}) } : undefined,
      single: spec.single ? { ...spec.single, operation: operation(spec.single.operation, {}) } : undefined,
      operationFields: [],
    };
    const sdlFields: { name: string; type: Shape; args?: { name: string; type: Shape }[] }[] = owned ? [] : [{ name: spec.key, type: scalar('ID', false) }];
    for (const [fieldName, f] of Object.entries(spec.operationFields)) {
      const op = operation(f.operation, f, new Set([f.key]));
      entity.operationFields.push({ name: fieldName, operation: op, key: f.key });
      sdlFields.push({ name: fieldName, type: op.responseShape, args: op.args.map((a) => ({ name: a.name, type: a.shape })) });
    }
    if (owned) (types.get(name) as Extract<SdlType, { fields: unknown }>).fields.push(...sdlFields);
    else {
      claim(name, `entity ${name}`);
      extraTypes.push({ kind: 'object', name, fields: sdlFields, directives: ` @key(fields: "${spec.key}")` });
    }
    entities.push(entity);
  }
  const references: GeneratedReference[] = [];
  const stubs = new Set<string>();
  for (const [at, spec] of Object.entries(mapping.references)) {
    const [typeNameAt, element] = at.split('.') as [string, string];
    const object = registry.named.get(typeNameAt);
    const source = object?.kind === 'object' ? object.fields.find((f) => f.wire === element) : undefined;
    if (!source) fail(`reference ${at}`, `${typeNameAt} has no element ${element}`);
    const sdl = types.get(typeNameAt) as Extract<SdlType, { fields: unknown }>;
    sdl.fields.push({ name: spec.field, type: { kind: 'ref', name: spec.entity, nullable: spec.nullable } });
    references.push({ typeName: typeNameAt, field: spec.field, from: source!.name, entity: spec.entity });
    if (!mapping.entities[spec.entity] && !stubs.has(spec.entity)) {
      // An entity this service only points at: a key-only stub the gateway resolves elsewhere.
      stubs.add(spec.entity);
      extraTypes.push({ kind: 'object', name: spec.entity, fields: [{ name: 'id', type: scalar('ID', false) }], directives: ' @key(fields: "id", resolvable: false)' });
    }
  }

  for (const from of Object.keys(mapping.renames.types)) {
    if (!renamed.has(from)) fail('renames', `mapping renames type ${from}, which the generator did not produce`);
  }
  const hints = new Map(Object.entries(mapping.cacheHints));
  const allTypes = [...types.values(), ...extraTypes];
  for (const target of hints.keys()) {
    const [type, field] = target.split('.');
    const known = type === 'Query' || type === 'Mutation' ? Boolean(field && seen[type === 'Query' ? 'query' : 'mutation'].has(field)) : allTypes.some((t) => t.name === type);
    if (!known) fail('cacheHints', `${target} is not a generated type or field`);
  }
  const rootField = (f: GeneratedRootField): RootField => ({
    name: f.field,
    description: `SOAP ${f.operation.name} (${f.operation.style}/literal)`,
    args: f.operation.inputArgument ? [{ name: f.operation.inputArgument.name, type: f.operation.inputArgument.shape }] : f.operation.args.map((a) => ({ name: a.name, type: a.shape })),
    type: f.operation.responseShape,
  });
  const sdl = renderSubgraphSdl({
    types: reachable(allTypes, [...rootFields.map(rootField), ...extraTypes.flatMap((t) => ('fields' in t ? t.fields : []))]),
    query: rootFields.filter((f) => f.kind === 'query').map(rootField),
    mutation: rootFields.filter((f) => f.kind === 'mutation').map(rootField),
    keys,
    hints,
    scalars,
  });
  return { sdl, registry, rootFields, entities, references, scalars, port: { service: serviceName ?? Object.keys(definitions.services)[0]!, port: portEntry![0], location: port.location }, skipped };
}

/**
 * Only the types a root field or an entity reaches: wrapper elements of document/literal
 * operations (GetOrderRequest...) stay out of the schema when their children became arguments.
 */
function reachable(all: SdlType[], from: { type: Shape; args?: { type: Shape }[] }[]): SdlType[] {
  const byName = new Map(all.map((t) => [t.name, t]));
  const keep = new Set<string>();
  const visit = (shape: Shape): void => {
    if (shape.kind === 'list') return visit(shape.of);
    if (shape.kind === 'scalar' || keep.has(shape.name)) return;
    keep.add(shape.name);
    const type = byName.get(shape.name);
    if (!type) return;
    if (type.kind === 'union') type.members.forEach((m) => visit({ kind: 'ref', name: m, nullable: true }));
    if ('fields' in type) for (const f of type.fields) [f.type, ...(f.args ?? []).map((a) => a.type)].forEach(visit);
  };
  for (const f of from) [f.type, ...(f.args ?? []).map((a) => a.type)].forEach(visit);
  return all.filter((t) => keep.has(t.name) || ('directives' in t && t.directives?.includes('@key')));
}
