import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export class SpecError extends Error {
  override name = 'SpecError';
}

/** Loads an OpenAPI 3.0 or 3.1 document, or a Swagger 2.0 one (JSON or YAML), from a file or an http(s) URL. */
export async function loadOpenApi(location: string, timeoutMs = 10_000): Promise<OpenApiDocument> {
  let text: string;
  if (/^https?:\/\//.test(location)) {
    let response: Response;
    try {
      response = await fetch(location, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new SpecError(`Cannot fetch OpenAPI document ${location}: ${(error as Error).message}`);
    }
    if (!response.ok) throw new SpecError(`Cannot fetch OpenAPI document ${location}: HTTP ${response.status}`);
    text = await response.text();
  } else {
    try {
      text = readFileSync(location, 'utf8');
    } catch (error) {
      throw new SpecError(`Cannot read OpenAPI document ${location}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  let doc: unknown;
  try {
    doc = /^\s*\{/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new SpecError(`OpenAPI document ${location} does not parse: ${(error as Error).message}`);
  }
  return normalizeOpenApi(doc, location);
}

/**
 * An OpenAPI 3.0 or 3.1 document as it is; a Swagger 2.0 one converted to 3.0 (swagger2openapi,
 * patching what it can: about a third of published documents are 2.0). Anything else is refused.
 */
export async function normalizeOpenApi(doc: unknown, location: string): Promise<OpenApiDocument> {
  const swagger = (doc as { swagger?: unknown } | null)?.swagger;
  if (typeof swagger === 'string' && /^2\.0/.test(swagger)) {
    try {
      const { convertObj } = await import('swagger2openapi');
      // A copy: the converter rewrites the object it is given.
      const { openapi } = await convertObj(structuredClone(doc) as object, { patch: true, warnOnly: true, resolve: false, direct: false });
      return openapi as unknown as OpenApiDocument;
    } catch (error) {
      throw new SpecError(`Swagger 2.0 document ${location} cannot be converted to OpenAPI 3: ${(error as Error).message}`);
    }
  }
  const version = (doc as { openapi?: unknown } | null)?.openapi;
  if (typeof version !== 'string' || !/^3\.[01]\.\d+/.test(version)) {
    throw new SpecError(`OpenAPI document ${location}: only OpenAPI 3.0 and 3.1, and Swagger 2.0, are supported (openapi: ${String(version ?? swagger)})`);
  }
  return doc as OpenApiDocument;
}
