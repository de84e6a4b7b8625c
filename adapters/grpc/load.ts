import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { projectPath } from '../../subgraphs/shared/paths.js';

export class ProtoError extends Error {
  override name = 'ProtoError';
}

/** The well-known types protobufjs has built in (its `common`); the rest come from the bundled Google protos. */
const BUILT_IN = /^google\/protobuf\/(any|duration|empty|field_mask|struct|timestamp|wrappers)\.proto$/;

/**
 * Google's common protos (google/api annotations and http, google/rpc, google/type,
 * google/longrunning, the rest of google/protobuf, and Google's service definitions), from the
 * google-proto-files package: imports of them resolve without include directories of one's own.
 */
export const GOOGLE_PROTOS = (() => {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('google-proto-files') ?? []) {
    const candidate = join(dir, 'google-proto-files');
    if (existsSync(join(candidate, 'google', 'api', 'annotations.proto'))) return candidate;
  }
  return undefined;
})();

/**
 * Loads .proto files into a protobufjs Root, resolving imports against the include directories
 * the way @grpc/proto-loader does (well-known types and Google's common protos come bundled). protobufjs keeps what the
 * generator needs and proto-loader's descriptors drop: oneof membership and proto3 optional.
 */
export async function loadProtoFiles(files: string[], includeDirs: string[]): Promise<protobuf.Root> {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (BUILT_IN.test(target)) return target;
    if (isAbsolute(target) && existsSync(target)) return target;
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    const relative = join(origin.replace(/[^/]*$/, ''), target);
    if (existsSync(relative)) return relative;
    // Google's common and service protos, bundled.
    if (GOOGLE_PROTOS && /^(google|grafeas)\//.test(target)) {
      const bundled = join(GOOGLE_PROTOS, target);
      if (existsSync(bundled)) return bundled;
    }
    return target;
  };
  for (const file of files) {
    if (!existsSync(file)) throw new ProtoError(`Cannot read .proto file ${file}: ENOENT`);
  }
  try {
    await root.load(files, { keepCase: true });
    root.resolveAll();
  } catch (error) {
    throw new ProtoError(`Cannot load ${files.join(', ')}: ${(error as Error).message}`);
  }
  return root;
}

interface ReflectionResponse {
  error_response?: { error_code: number; error_message: string };
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Uint8Array[] };
}

let reflectionTypes: { request: protobuf.Type; response: protobuf.Type; path: string } | undefined;

function reflectionProtocol(): { request: protobuf.Type; response: protobuf.Type; path: string } {
  if (!reflectionTypes) {
    const file = projectPath('node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
    const root = protobuf.parse(readFileSync(file, 'utf8'), { keepCase: true }).root;
    reflectionTypes = {
      request: root.lookupType('grpc.reflection.v1.ServerReflectionRequest'),
      response: root.lookupType('grpc.reflection.v1.ServerReflectionResponse'),
      path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
    };
  }
  return reflectionTypes;
}

/**
 * Builds the Root from a server's reflection service (grpc.reflection.v1): lists its services,
 * then fetches the file descriptors that define them and their imports.
 */
export async function loadByReflection(address: string, credentials: grpc.ChannelCredentials, deadlineMs: number): Promise<protobuf.Root> {
  const { request, response, path } = reflectionProtocol();
  const client = new grpc.Client(address, credentials);
  const stream = client.makeBidiStreamRequest(
    path,
    (value: object) => Buffer.from(request.encode(request.fromObject(value)).finish()),
    (bytes: Buffer) => response.toObject(response.decode(bytes), { bytes: Array, defaults: false }) as ReflectionResponse,
    new grpc.Metadata(),
    { deadline: Date.now() + deadlineMs },
  );
  const pending: ((value: ReflectionResponse) => void)[] = [];
  let failure: Error | undefined;
  stream.on('data', (data: ReflectionResponse) => pending.shift()?.(data));
  stream.on('error', (error: Error) => {
    failure = error;
    for (const reject of pending.splice(0)) reject({ error_response: { error_code: 14, error_message: error.message } });
  });
  const ask = (message: object): Promise<ReflectionResponse> =>
    new Promise((resolve) => {
      if (failure) return resolve({ error_response: { error_code: 14, error_message: failure.message } });
      pending.push(resolve);
      stream.write(message);
    });
  try {
    const listed = await ask({ list_services: '' });
    if (listed.error_response || !listed.list_services_response) {
      throw new ProtoError(`Server reflection on ${address} failed: ${listed.error_response?.error_message ?? 'no service list'}`);
    }
    const files = new Map<string, Uint8Array>();
    for (const { name } of listed.list_services_response.service) {
      if (name.startsWith('grpc.reflection.')) continue;
      const answer = await ask({ file_containing_symbol: name });
      if (answer.error_response) throw new ProtoError(`Server reflection on ${address} failed for ${name}: ${answer.error_response.error_message}`);
      for (const bytes of answer.file_descriptor_response?.file_descriptor_proto ?? []) {
        const decoded = descriptor.FileDescriptorProto.decode(bytes) as unknown as { name: string };
        files.set(decoded.name, bytes);
      }
    }
    const set = descriptor.FileDescriptorSet.fromObject({
      file: [...files.values()].map((bytes) => descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(bytes))),
    });
    const root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor(set);
    root.resolveAll();
    restoreMapFields(root);
    return root;
  } finally {
    stream.end();
    client.close();
  }
}

/**
 * Descriptors encode `map<K, V>` as a repeated nested entry message with the map_entry option;
 * protobufjs's fromDescriptor keeps that form. Turn such fields back into MapFields so a reflected
 * Root behaves exactly like one parsed from the .proto files.
 */
function restoreMapFields(namespace: protobuf.NamespaceBase): void {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) {
      for (const field of [...nested.fieldsArray]) {
        const entry = field.resolvedType;
        if (!field.repeated || !(entry instanceof protobuf.Type) || entry.options?.map_entry !== true) continue;
        const key = entry.fields.key;
        const value = entry.fields.value;
        if (!key || !value) continue;
        nested.remove(field);
        nested.add(new protobuf.MapField(field.name, field.id, key.type, value.type));
        nested.remove(entry);
      }
    }
    if (nested instanceof protobuf.Namespace) restoreMapFields(nested);
  }
  if (namespace instanceof protobuf.Root) namespace.resolveAll();
}
