/** The part of swagger2openapi (which ships no types) the REST adapter uses. */
declare module 'swagger2openapi' {
  export function convertObj(swagger: object, options: { patch?: boolean; warnOnly?: boolean; resolve?: boolean; direct?: boolean }): Promise<{ openapi: Record<string, unknown> }>;
}
