import { traceHeaders } from '../../gateway/src/core/tracing.js';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { GraphQLError } from 'graphql';
import type protobuf from 'protobufjs';
import type { Logger } from '../../gateway/src/core/logger.js';
import { FAILURE_BY_CODE, GRPC_STATUS, failureFromGrpcStatus, legacyError, LEGACY_MAX_RESPONSE_BYTES } from '../toolkit/errors.js';
import type { GeneratedMethod } from './generate.js';
import { LegacyGuard, type LegacyResilience } from '../toolkit/resilience.js';

/** Statuses that are the instance's failure (not the request's): unreachable, too slow, broken. */
const INSTANCE_FAILURES = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL]);

export interface GrpcTargetOptions {
  service: string;
  /** host:port of each instance of the service (one or more), balanced by the guard. */
  addresses: readonly string[];
  deadlineMs: number;
  resilience: LegacyResilience;
  logger: Logger;
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
  private readonly clients = new Map<string, grpc.Client>();
  private readonly guard: LegacyGuard;

  constructor(private readonly options: GrpcTargetOptions) {
    const channelOptions: grpc.ChannelOptions = { 'grpc.max_receive_message_length': LEGACY_MAX_RESPONSE_BYTES };
    if (options.tls !== false && options.tls.serverName) channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    for (const address of options.addresses) this.clients.set(address, new grpc.Client(address, channelCredentials(options.tls), channelOptions));
    this.guard = new LegacyGuard(options.service, options.addresses, options.resilience, options.logger, false);
  }

  /** A call through the guard: idempotent calls (queries, lookups) are retried on UNAVAILABLE; a mutation only when it never connected. */
  private guarded<T>(operation: string, idempotent: boolean, send: (client: grpc.Client) => Promise<T>): Promise<T> {
    const code = (error: unknown) => (error as grpc.ServiceError).code;
    return this.guard.run({
      operation,
      idempotent,
      send: (address) => send(this.clients.get(address)!),
      instanceFailed: (error) => INSTANCE_FAILURES.has(code(error)),
      retryable: (error) => code(error) === grpc.status.UNAVAILABLE,
      unsent: (error) => code(error) === grpc.status.UNAVAILABLE && /ECONNREFUSED|No connection established|connect/i.test((error as grpc.ServiceError).details ?? ''),
    });
  }

  private metadata(headers: Record<string, string>): grpc.Metadata {
    const metadata = new grpc.Metadata();
    // Made inside the call's span: the trace context goes as metadata (traceparent, tracestate).
    for (const [key, value] of Object.entries({ ...this.options.metadata, ...headers, ...traceHeaders() })) metadata.set(key, value);
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

  async unary(method: GeneratedMethod, request: object, headers: Record<string, string>, logger: Logger, idempotent = false): Promise<Record<string, unknown>> {
    const { serialize, deserialize } = this.codec(method);
    try {
      return await this.guarded(
        method.fullName,
        idempotent,
        (client) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            client.makeUnaryRequest(method.path, serialize, deserialize, request, this.metadata(headers), { deadline: Date.now() + this.options.deadlineMs }, (error, value) =>
              error ? reject(error) : resolve(value as Record<string, unknown>),
            );
          }),
      );
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      throw this.fail(method, error as grpc.ServiceError, logger);
    }
  }

  /** Collects a server stream up to maxStreamItems, then cancels it. */
  async stream(method: GeneratedMethod, request: object, headers: Record<string, string>, logger: Logger, idempotent = false): Promise<Record<string, unknown>[]> {
    try {
      return await this.guarded(method.fullName, idempotent, (client) => this.collect(client, method, request, headers, logger));
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      throw this.fail(method, error as grpc.ServiceError, logger);
    }
  }

  private collect(client: grpc.Client, method: GeneratedMethod, request: object, headers: Record<string, string>, logger: Logger): Promise<Record<string, unknown>[]> {
    const { serialize, deserialize } = this.codec(method);
    return new Promise((resolve, reject) => {
      const items: Record<string, unknown>[] = [];
      let done = false;
      const call = client.makeServerStreamRequest(method.path, serialize, deserialize, request, this.metadata(headers), {
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
        reject(error);
      });
      call.on('end', () => {
        if (done) return;
        done = true;
        resolve(items);
      });
    });
  }

  instances(): Record<string, unknown>[] {
    return this.guard.snapshot();
  }

  close(): void {
    this.guard.close();
    for (const client of this.clients.values()) client.close();
  }
}
