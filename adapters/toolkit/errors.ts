import type { GraphQLError } from 'graphql';
import { frontdeskError, type ErrorCode } from '../../gateway/src/core/errors.js';

/**
 * The one mapping of legacy failures to Frontdesk's error codes, shared by the REST, gRPC and
 * SOAP adapters. Messages name the service and the kind of failure, never its host or body:
 * callers log those with the request id.
 */
export type LegacyFailure =
  | { kind: 'not-found'; what?: string }
  | { kind: 'bad-input' }
  | { kind: 'unauthenticated' }
  | { kind: 'forbidden' }
  | { kind: 'unavailable'; detail?: string }
  | { kind: 'circuit-open' }
  | { kind: 'timeout' }
  | { kind: 'bad-response'; reason: string }
  | { kind: 'error'; detail?: string };

const CODES: Record<LegacyFailure['kind'], ErrorCode> = {
  'not-found': 'NOT_FOUND',
  'bad-input': 'BAD_USER_INPUT',
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  unavailable: 'UPSTREAM_UNAVAILABLE',
  'circuit-open': 'CIRCUIT_OPEN',
  timeout: 'UPSTREAM_TIMEOUT',
  'bad-response': 'BAD_UPSTREAM_RESPONSE',
  error: 'UPSTREAM_ERROR',
};

export function legacyError(service: string, failure: LegacyFailure): GraphQLError {
  const message = ((): string => {
    switch (failure.kind) {
      case 'not-found':
        return failure.what ? `${failure.what} not found` : `Not found in ${service}`;
      case 'bad-input':
        return `${service} rejected the input as invalid`;
      case 'unauthenticated':
        return `${service} requires credentials`;
      case 'forbidden':
        return `${service} refused access`;
      case 'unavailable':
        return failure.detail === 'overloaded' ? `${service} is overloaded: too many calls in flight` : `${service} is unavailable`;
      case 'circuit-open':
        return `${service} is unavailable (circuit open)`;
      case 'timeout':
        return `${service} did not answer in time`;
      case 'bad-response':
        return `${service} sent an invalid response: ${failure.reason}`;
      case 'error':
        return `${service} failed`;
    }
  })();
  return frontdeskError(CODES[failure.kind], message, { service });
}

/** HTTP status of a legacy response to a failure kind (REST, and SOAP transport errors). */
export function failureFromHttpStatus(status: number): LegacyFailure {
  if (status === 404 || status === 410) return { kind: 'not-found' };
  if (status === 400 || status === 422) return { kind: 'bad-input' };
  if (status === 401) return { kind: 'unauthenticated' };
  if (status === 403) return { kind: 'forbidden' };
  if (status === 408 || status === 504) return { kind: 'timeout' };
  if (status === 429 || status >= 500) return { kind: 'unavailable', detail: `HTTP ${status}` };
  return { kind: 'error', detail: `HTTP ${status}` };
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** A transport exception (no response) to a failure kind. */
/**
 * The most a legacy service's answer may weigh, in bytes, read by any adapter (HTTP body, SOAP
 * envelope, gRPC message): past it the call fails as BAD_UPSTREAM_RESPONSE instead of filling the
 * adapter's memory.
 */
export const LEGACY_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** A legacy answer over LEGACY_MAX_RESPONSE_BYTES. */
export class LegacyResponseTooLarge extends Error {
  override name = 'LegacyResponseTooLarge';
  constructor(readonly limit: number) {
    super(`the response exceeds ${limit} bytes`);
  }
}

export function failureFromTransportError(error: unknown): LegacyFailure {
  const err = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  const code = err.code ?? err.cause?.code;
  const name = err.name ?? '';
  if (error instanceof LegacyResponseTooLarge || code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED' || /maxContentLength/.test((error as Error).message ?? '')) {
    return { kind: 'bad-response', reason: `the response exceeds ${LEGACY_MAX_RESPONSE_BYTES} bytes` };
  }
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return { kind: 'timeout' };
  }
  if (code && UNAVAILABLE_CODES.has(code)) return { kind: 'unavailable', detail: code };
  return { kind: 'unavailable', detail: code ?? name };
}

/** gRPC status codes (numeric, as @grpc/grpc-js reports them) by name. */
export const GRPC_STATUS: Record<number, string> = {
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** A gRPC status to a failure kind; everything not listed is UPSTREAM_ERROR (its code is logged). */
export function failureFromGrpcStatus(code: number): LegacyFailure {
  switch (GRPC_STATUS[code]) {
    case 'NOT_FOUND':
      return { kind: 'not-found' };
    case 'INVALID_ARGUMENT':
      return { kind: 'bad-input' };
    case 'UNAUTHENTICATED':
      return { kind: 'unauthenticated' };
    case 'PERMISSION_DENIED':
      return { kind: 'forbidden' };
    case 'UNAVAILABLE':
      return { kind: 'unavailable', detail: 'UNAVAILABLE' };
    case 'DEADLINE_EXCEEDED':
      return { kind: 'timeout' };
    case 'RESOURCE_EXHAUSTED':
      // Also what grpc-js reports for a message over grpc.max_receive_message_length.
      return { kind: 'bad-response', reason: 'RESOURCE_EXHAUSTED' };
    default:
      return { kind: 'error', detail: GRPC_STATUS[code] ?? String(code) };
  }
}

/** Failure kinds a mapping may assign to a protocol error code (e.g. FAILED_PRECONDITION: BAD_USER_INPUT). */
export const FAILURE_BY_CODE: Record<string, LegacyFailure> = {
  NOT_FOUND: { kind: 'not-found' },
  BAD_USER_INPUT: { kind: 'bad-input' },
  UNAUTHENTICATED: { kind: 'unauthenticated' },
  FORBIDDEN: { kind: 'forbidden' },
  UPSTREAM_UNAVAILABLE: { kind: 'unavailable' },
  UPSTREAM_TIMEOUT: { kind: 'timeout' },
  UPSTREAM_ERROR: { kind: 'error' },
};
