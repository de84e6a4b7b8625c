import { resolve } from 'node:path';
import type { Identity } from '../../core/context.js';
import { EdgeRefusal, type EdgeRequest, type FrontdeskPlugin, type PluginContext } from '../../core/plugin.js';
import { createSharedStore } from '../../core/shared-store.js';
import { normalized, readManifest, sha256 } from './manifest.js';
import type { PersistedDocumentsOptions } from './options.js';

interface Body {
  query?: unknown;
  documentId?: unknown;
  doc_id?: unknown;
  id?: unknown;
  extensions?: { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } & Record<string, unknown>;
  [key: string]: unknown;
}

/** The manifests that list one document. */
type Listed = ReadonlySet<string>;

/**
 * Persisted operations at the edge, before the limits and everything after them:
 * - trusted documents: an id from a manifest (Apollo's `extensions.persistedQuery.sha256Hash`, or
 *   Relay's `doc_id`/`documentId`) becomes the manifest's text; with `enforcement: enforce` only
 *   operations of the caller's manifests run (by id, or by their full text in any spelling);
 * - automatic persisted queries: a hash the manifests lack is looked up in the shared store (Redis
 *   when configured, so every replica knows what one learnt); a text with its hash is registered.
 * The operation Apollo Server receives is always a full text, so its own APQ is off.
 */
export function createPersistedDocumentsPlugin(options: PersistedDocumentsOptions, ctx: PluginContext): FrontdeskPlugin {
  const byId = new Map<string, { body: string; listed: Set<string> }>();
  const byText = new Map<string, Set<string>>();
  const byNormalized = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, key: string, manifest: string) => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(manifest);
  };
  for (const manifest of options.manifests) {
    for (const operation of readManifest(resolve(manifest.path))) {
      const entry = byId.get(operation.id);
      if (entry && entry.body !== operation.body) throw new Error(`persisted documents: id ${operation.id} has two different texts (manifest ${manifest.name})`);
      if (entry) entry.listed.add(manifest.name);
      else byId.set(operation.id, { body: operation.body, listed: new Set([manifest.name]) });
      add(byText, operation.body, manifest.name);
      add(byNormalized, normalized(operation.body), manifest.name);
    }
  }
  const known = new Set(options.manifests.map((m) => m.name));
  for (const [who, names] of [...Object.entries(options.safelists.plans), ...Object.entries(options.safelists.clients)]) {
    for (const name of names) if (!known.has(name)) throw new Error(`persisted documents: safelist of ${who} names manifest "${name}", which is not configured`);
  }
  const apq = options.apq.enabled ? createSharedStore({ ...(ctx.redis ? { redis: ctx.redis } : {}), prefix: 'frontdesk:apq:', memoryMaxBytes: 64 * 1024 * 1024 }) : undefined;
  const allowedFor = (identity: Identity | undefined): ReadonlySet<string> | undefined => {
    const forClient = identity?.kind === 'client' ? options.safelists.clients[identity.id] : undefined;
    if (forClient) return new Set(forClient);
    const plan = identity ? identity.plan : 'anonymous';
    const forPlan = plan !== undefined ? options.safelists.plans[plan] : undefined;
    return forPlan ? new Set(forPlan) : undefined;
  };
  const permitted = (listed: Listed | undefined, allowed: ReadonlySet<string> | undefined): boolean => {
    if (!listed) return false;
    if (!allowed) return true;
    for (const name of listed) if (allowed.has(name)) return true;
    return false;
  };
  const trustedText = (query: string, allowed: ReadonlySet<string> | undefined): boolean => {
    if (permitted(byText.get(query), allowed)) return true;
    try {
      return permitted(byNormalized.get(normalized(query)), allowed);
    } catch {
      return false; // not GraphQL: not a listed document (the limits answer its syntax error)
    }
  };
  const notAllowed = (request: EdgeRequest, why: string): void => {
    if (options.enforcement === 'enforce') {
      request.logger.info({ why }, 'operation refused: not a trusted document');
      throw new EdgeRefusal('OPERATION_NOT_ALLOWED', 'This operation is not among the persisted documents this client may run.');
    }
    if (options.enforcement === 'log') request.logger.warn({ why }, 'operation is not a trusted document (persistedDocuments.enforcement log: served)');
  };

  return {
    name: 'persisted-documents',
    admit(request: EdgeRequest): void | Promise<void> {
      const body = request.body as Body | undefined;
      if (!body || typeof body !== 'object' || Array.isArray(body)) return;
      const persisted = body.extensions && typeof body.extensions === 'object' ? body.extensions.persistedQuery : undefined;
      const hash = persisted && typeof persisted === 'object' && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
      const documentId = [body.documentId, body.doc_id, body.query === undefined ? body.id : undefined].find((v): v is string => typeof v === 'string');
      const allowed = allowedFor(request.identity);
      const run = (query: string): void => {
        const { extensions, documentId: _d, doc_id: _r, ...rest } = body;
        const { persistedQuery: _p, ...otherExtensions } = extensions ?? {};
        request.replaceBody({ ...rest, query, ...(Object.keys(otherExtensions).length > 0 ? { extensions: otherExtensions } : {}) });
      };
      if (typeof body.query === 'string') {
        const query = body.query;
        if (hash !== undefined && sha256(query) !== hash) throw new EdgeRefusal('BAD_REQUEST', 'The persisted query hash does not match the query text.');
        // Refused before it is registered: enforcement leaves nothing behind in the store.
        if (options.enforcement !== 'off' && !trustedText(query, allowed)) notAllowed(request, 'text');
        if (hash === undefined) return;
        if (apq && Buffer.byteLength(query) <= options.apq.maxQueryBytes) {
          apq.set(hash, query, options.apq.ttlSeconds).catch((error: unknown) => request.logger.warn({ err: (error as Error).message }, 'APQ store unavailable: the text was not registered'));
        }
        run(query);
        return;
      }
      const id = documentId ?? hash;
      if (id === undefined) return; // no query and no id: Apollo Server answers it
      const listed = byId.get(id);
      if (listed && permitted(listed.listed, allowed)) return run(listed.body);
      if (listed) notAllowed(request, 'in the manifest of other clients');
      // Relay's ids only ever come from manifests.
      if (documentId !== undefined || !apq) throw new EdgeRefusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
      return apq.get(id).then(
        (query) => {
          if (query === undefined) throw new EdgeRefusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
          if (options.enforcement !== 'off' && !trustedText(query, allowed)) notAllowed(request, 'apq');
          run(query);
        },
        (error: unknown) => {
          request.logger.warn({ err: (error as Error).message }, 'APQ store unavailable: asked for the text');
          throw new EdgeRefusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
        },
      );
    },
  };
}
