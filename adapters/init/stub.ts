import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import * as soap from 'soap';
import { loadGrpcAdapter } from '../grpc/adapter.js';
import { loadRestAdapter } from '../rest/adapter.js';
import { loadSoapAdapter } from '../soap/adapter.js';
import type { Shape, ShapeRegistry } from '../toolkit/shape.js';

/**
 * A stub of a legacy service generated from its spec (the same reading of the spec the adapter
 * makes): every operation answers a sample value of its response's shape, or the failure set with
 * `fail` (an HTTP status, a SOAP fault code, a gRPC status). For trying a mapping before the
 * service is reachable, and for the adapter tests on real-world specs.
 */
export interface StubServer {
  /** Base URL (REST, SOAP endpoint) or host:port (gRPC). */
  url: string;
  /** Calls answered so far. */
  calls: number;
  /** From now on answer with this failure (HTTP status, SOAP fault code such as Client, gRPC status number); undefined: samples again. */
  fail(failure: number | string | undefined): void;
  close(): Promise<void>;
}

const SAMPLE_SCALARS: Record<string, unknown> = {
  String: 'stub',
  ID: '1',
  Int: 1,
  Float: 1.5,
  Boolean: true,
  DateTime: '2026-01-02T03:04:05Z',
  Date: '2026-01-02',
  Int64: 1,
  Decimal: '1.50',
  Base64: 'c3R1Yg==',
  JSON: { stub: true },
  Duration: 'PT1S',
};

/** A sample wire value of a shape: every field to depth 3, one element per list, the first enum value and union member. */
export function sampleOf(shape: Shape, registry: ShapeRegistry, depth = 0, xml = false): unknown {
  switch (shape.kind) {
    case 'scalar':
      if (shape.codec === 'empty') return undefined;
      return xml && typeof SAMPLE_SCALARS[shape.scalar] !== 'string' && shape.scalar !== 'JSON' ? String(SAMPLE_SCALARS[shape.scalar]) : SAMPLE_SCALARS[shape.scalar];
    case 'enum': {
      const named = registry.named.get(shape.name);
      return named?.kind === 'enum' ? Object.keys(named.values)[0] : undefined;
    }
    case 'list':
      return depth > 4 ? [] : [sampleOf(shape.of, registry, depth + 1, xml)];
    case 'ref': {
      const named = registry.named.get(shape.name);
      if (!named) return null;
      if (named.kind === 'enum') return Object.keys(named.values)[0];
      if (named.kind === 'union') {
        const [value, member] = Object.entries(named.members)[0]!;
        const object = sampleOf({ kind: 'ref', name: member, nullable: false }, registry, depth, xml) as Record<string, unknown>;
        return { ...object, [named.discriminator]: value };
      }
      if (depth > 3 && shape.nullable) return null;
      const out: Record<string, unknown> = {};
      const attributes: Record<string, unknown> = {};
      for (const field of named.fields) {
        if (depth > 2 && field.shape.nullable) continue;
        const value = sampleOf(field.shape, registry, depth + 1, xml);
        if (value === undefined) continue;
        if (field.attribute) attributes[field.wire] = value;
        else out[field.wire] = value;
      }
      if (Object.keys(attributes).length > 0) out.attributes = attributes;
      return out;
    }
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

const closeHttp = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** A REST stub: each operation's method and path template, answering JSON samples (wrapped in the mapping's result path). */
export async function startRestStub(mappingPath: string, port = 0): Promise<StubServer> {
  const { generated } = await loadRestAdapter(mappingPath);
  const routes = generated.operations.map((op) => {
    const pattern = new RegExp(`^${op.pathTemplate.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
    let body: unknown = op.result ? sampleOf(op.result.shape, generated.registry) : undefined;
    for (const segment of [...(op.result?.unwrap ?? [])].reverse()) body = { [segment]: body };
    return { method: op.method, pattern, body };
  });
  let failure: number | undefined;
  const stub: StubServer = {
    url: '',
    calls: 0,
    fail: (value) => {
      failure = value === undefined ? undefined : Number(value);
    },
    close: () => closeHttp(server),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    stub.calls += 1;
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    // The base path of the target URL is the stub's root; templates match the rest.
    const route = routes.find((r) => r.method === req.method && r.pattern.test(path));
    const status = failure ?? (route ? 200 : 404);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status < 400 ? (route!.body ?? {}) : { error: status === 404 && !route ? `no operation ${req.method} ${path}` : `stub failure ${status}` }));
  });
  stub.url = `http://127.0.0.1:${await listen(server, port)}`;
  return stub;
}

/** A SOAP stub: node-soap serving the WSDL itself, each operation answering a sample of its output message. */
export async function startSoapStub(mappingPath: string, port = 0): Promise<StubServer> {
  const { generated, target, mapping } = await loadSoapAdapter(mappingPath, { credentials: false });
  target.close();
  let failure: string | undefined;
  const stub: StubServer = {
    url: '',
    calls: 0,
    fail: (value) => {
      failure = value === undefined ? undefined : String(value);
    },
    close: () => closeHttp(server),
  };
  const operations: Record<string, (args: unknown) => unknown> = {};
  for (const root of generated.rootFields) {
    const response = sampleOf(root.operation.responseShape, generated.registry, 0, true);
    operations[root.operation.name] = () => {
      stub.calls += 1;
      if (failure !== undefined) throw { Fault: { faultcode: `soap:${failure}`, faultstring: `stub fault ${failure}` } };
      return response ?? {};
    };
  }
  const server = createServer();
  if (/^https?:/.test(mapping.wsdl)) throw new Error('a stub serves a WSDL file, not a URL');
  const wsdlPath = resolvePath(dirname(mappingPath), mapping.wsdl);
  // node-soap finds the port a request is for by the path of its address: serve that path.
  const path = ((): string => {
    try {
      const at = new URL(generated.port.location).pathname;
      return at && at !== '/' ? at : '/stub';
    } catch {
      return '/stub';
    }
  })();
  await new Promise<void>((resolve, reject) => {
    soap.listen(server, {
      path,
      services: { [generated.port.service]: { [generated.port.port]: operations } },
      xml: readFileSync(wsdlPath, 'utf8'),
      // Imported XSDs resolve against the WSDL's own location.
      uri: wsdlPath,
      callback: (error: unknown) => (error ? reject(error as Error) : resolve()),
    });
  });
  stub.url = `http://127.0.0.1:${await listen(server, port)}${path}`;
  return stub;
}

/** A sample message of a protobuf type: every field to depth 3 (one per oneof), one element per repeated field. */
function sampleMessage(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const oneofTaken = new Set<string>();
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.partOf) {
      if (oneofTaken.has(field.partOf.name)) continue;
      oneofTaken.add(field.partOf.name);
    }
    if (field.map) continue;
    let value: unknown;
    const resolved = field.resolvedType;
    if (resolved && 'fieldsArray' in resolved) {
      if (depth >= 3) continue;
      value = sampleMessage(resolved as protobuf.Type, depth + 1);
    } else if (resolved && 'values' in resolved) {
      value = Object.values((resolved as protobuf.Enum).values)[0] ?? 0;
    } else {
      value = ((): unknown => {
        switch (field.type) {
          case 'string':
            return 'stub';
          case 'bool':
            return true;
          case 'bytes':
            return Buffer.from('stub');
          case 'double':
          case 'float':
            return 1.5;
          default:
            return 1;
        }
      })();
    }
    out[field.name] = field.repeated ? [value] : value;
  }
  return out;
}

/** A gRPC stub: every method of the mapping's services answering a sample response message (one for server streams). */
export async function startGrpcStub(mappingPath: string, port = 0): Promise<StubServer> {
  const { generated } = await loadGrpcAdapter(mappingPath);
  let failure: number | undefined;
  const server = new grpc.Server();
  const stub: StubServer = {
    url: '',
    calls: 0,
    fail: (value) => {
      failure = value === undefined ? undefined : Number(value);
    },
    close: () =>
      new Promise((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
  const services = new Map<string, { definition: Record<string, grpc.MethodDefinition<object, protobuf.Message>>; implementation: grpc.UntypedServiceImplementation }>();
  for (const root of generated.rootFields) {
    const method = root.method;
    const service = method.fullName.slice(0, method.fullName.lastIndexOf('.'));
    const name = method.fullName.slice(method.fullName.lastIndexOf('.') + 1);
    const entry = services.get(service) ?? { definition: {}, implementation: {} };
    services.set(service, entry);
    const response = method.responseType.fromObject(sampleMessage(method.responseType));
    entry.definition[name] = {
      path: method.path,
      requestStream: false,
      responseStream: method.serverStream,
      requestSerialize: (value: object) => Buffer.from(method.requestType.encode(method.requestType.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => method.requestType.decode(bytes),
      responseSerialize: (value: protobuf.Message) => Buffer.from(method.responseType.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => method.responseType.decode(bytes),
    };
    entry.implementation[name] = method.serverStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
          stub.calls += 1;
          if (failure !== undefined) {
            call.emit('error', { code: failure, details: `stub status ${failure}` });
            return;
          }
          call.write(response);
          call.end();
        }
      : (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
          stub.calls += 1;
          if (failure !== undefined) callback({ code: failure, details: `stub status ${failure}` });
          else callback(null, response);
        };
  }
  for (const { definition, implementation } of services.values()) server.addService(definition as grpc.ServiceDefinition, implementation);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  stub.url = `127.0.0.1:${bound}`;
  return stub;
}
