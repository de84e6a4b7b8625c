import { GraphQLError } from 'graphql';

/**
 * The one list of error codes Frontdesk sends to clients, each with the HTTP status used when the
 * error fails a whole request. Errors inside a partially successful GraphQL response keep HTTP 200.
 */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_USER_INPUT: 400,
  PERSISTED_QUERY_NOT_FOUND: 400,
  QUERY_TOO_COMPLEX: 400,
  BATCH_TOO_LARGE: 400,
  OPERATION_NOT_ALLOWED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  CLIENT_BLOCKED: 429,
  INTERNAL_SERVER_ERROR: 500,
  UPSTREAM_ERROR: 502,
  UPSTREAM_UNAVAILABLE: 502,
  BAD_UPSTREAM_RESPONSE: 502,
  NOT_READY: 503,
  SERVICE_UNAVAILABLE: 503,
  CIRCUIT_OPEN: 503,
  UPSTREAM_TIMEOUT: 504,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function httpStatusFor(code: string): number {
  return (ERROR_CODES as Record<string, number>)[code] ?? 500;
}

/** Builds the GraphQL error every Frontdesk component throws: a message and a code, nothing internal. */
export function frontdeskError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** The JSON body of a request that fails before GraphQL execution (edge errors). */
export function errorBody(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): string {
  return JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }] });
}

/**
 * A validation message without graphql-js's "Did you mean ...?" suggestions, which list the
 * schema's field, type and argument names to anyone who guesses near them (what graphql-armor's
 * block-field-suggestions removes). Production answers use it.
 */
export function withoutSuggestions(message: string): string {
  return message.replace(/ Did you mean .+\?$/s, '');
}
