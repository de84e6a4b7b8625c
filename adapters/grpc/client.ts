import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type { Logger } from '../../gateway/src/core/logger.js';
import { FAILURE_BY_CODE, GRPC_STATUS, failureFromGrpcStatus, legacyError, LEGACY_MAX_RESPONSE_BYTES } from '../toolkit/errors.js';
import type { GeneratedMethod } from './generate.js';

export interface GrpcTargetOptions {
  service: string;
  address: string;
  deadlineMs: number;
  tls: false | { ca?: string; serverName?: string };
  metadata: Record<string, string>;
  maxStreamItems: number;
}

const DECODE = { longs: String, enums: String, bytes: String, defaults: true, oneofs: false } as const;

export function channelCredentials(tls: GrpcTargetOptions['tls']): grpc.ChannelCredentials {
  return tls === false ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(tls.ca ? readFileSync(tls.ca) : null);
}

/**
 * One channel per target, reused by every call. Each call has a deadline, carries x-request-id,
 * forwarded headers and the mapping's metadata, and fails with a coded error (the gRPC status is
 * logged, never its details).
 */
export class GrpcTarget {
  private readonly client: grpc.Client;

  constructor(private readonly options: GrpcTargetOptions) {
    const channelOptions: grpc.ChannelOptions = { 'grpc.max_receive_message_length': LEGACY_MAX_RESPONSE_BYTES };
    if (options.tls !== false && options.tls.serverName) channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    this.client = new grpc.Client(options.address, channelCredentials(options.tls), channelOptions);
  }

  private metadata(headers: Record<string, string>): grpc.Metadata {
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries({ ...this.options.metadata, ...headers })) metadata.set(key, value);
    return metadata;
  }

  private codec(method: GeneratedMethod) {
    const request: protobuf.Type = method.requestType;
    const response: protobuf.Type = method.responseType;
    return {
      serialize: (value: object) => Buffer.from(request.encode(request.fromObject(value)).finish()),
      deserialize: (bytes: Buffer) => response.toObject(response.decode(bytes), DECODE),
    };
  }

  private fail(method: GeneratedMethod, error: grpc.ServiceError | Error, logger: Logger): Error {
    const code = (error as grpc.ServiceError).code;
    const name = GRPC_STATUS[code] ?? 'UNKNOWN';
    const override = method.errors[name];
    const failure = override ? FAILURE_BY_CODE[override]! : failureFromGrpcStatus(code);
    const entry = { service: this.options.service, method: method.fullName, status: name, details: (error as grpc.ServiceError).details };
    if (failure.kind === 'not-found') logger.debug(entry, 'legacy call answered not found');
    else logger.warn(entry, 'legacy call failed');
    return legacyError(this.options.service, failure);
  }

  unary(method: GeneratedMethod, request: object, headers: Record<string, string>, logger: Logger): Promise<Record<string, unknown>> {
    const { serialize, deserialize } = this.codec(method);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        serialize,
        deserialize,
        request,
        this.metadata(headers),
        { deadline: Date.now() + this.options.deadlineMs },
        (error, value) => (error ? reject(this.fail(method, error, logger)) : resolve(value as Record<string, unknown>)),
      );
    });
  }

  /** Collects a server stream up to maxStreamItems, then cancels it. */
  stream(method: GeneratedMethod, request: object, headers: Record<string, string>, logger: Logger): Promise<Record<string, unknown>[]> {
    const { serialize, deserialize } = this.codec(method);
    return new Promise((resolve, reject) => {
      const items: Record<string, unknown>[] = [];
      let done = false;
      const call = this.client.makeServerStreamRequest(method.path, serialize, deserialize, request, this.metadata(headers), {
        deadline: Date.now() + this.options.deadlineMs,
      });
      call.on('data', (item: Record<string, unknown>) => {
        if (done) return;
        items.push(item);
        if (items.length >= this.options.maxStreamItems) {
          done = true;
          logger.debug({ method: method.fullName, items: items.length }, 'stream truncated at maxStreamItems');
          call.cancel();
          resolve(items);
        }
      });
      call.on('error', (error: grpc.ServiceError) => {
        if (done) return;
        done = true;
        reject(this.fail(method, error, logger));
      });
      call.on('end', () => {
        if (done) return;
        done = true;
        resolve(items);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
