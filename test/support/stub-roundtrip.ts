import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { startGrpcAdapter } from '../../adapters/grpc/adapter.js';
import { initMapping, type AdapterKind } from '../../adapters/init/init.js';
import { serviceNameFor } from '../../adapters/init/corpus.js';
import { startGrpcStub, startRestStub, startSoapStub, type StubServer } from '../../adapters/init/stub.js';
import { startRestAdapter } from '../../adapters/rest/adapter.js';
import { startSoapAdapter } from '../../adapters/soap/adapter.js';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { sampleQuery } from './sample-query.js';

/** The failure each kind's stub is told to answer, and the code the adapter must map it to. */
export const FAILURES: Record<AdapterKind, { failure: number | string; code: string }> = {
  rest: { failure: 404, code: 'NOT_FOUND' },
  soap: { failure: 'Client', code: 'BAD_USER_INPUT' },
  grpc: { failure: 5, code: 'NOT_FOUND' },
};

export interface RoundTrip {
  field: string;
  query: string;
  data: unknown;
  errors?: unknown[];
  failedCode?: unknown;
  stubCalls: number;
}

async function post(url: string, query: string): Promise<{ data?: Record<string, unknown>; errors?: { extensions?: { code?: unknown } }[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: { extensions?: { code?: unknown } }[] };
}

/**
 * `init` a mapping for a real spec, open its root fields to anonymous callers (the generated
 * value types stay on their defaults), start a stub generated from the spec and the adapter in
 * front of it, query one field, then make the stub fail and query again.
 */
export async function stubRoundTrip(kind: AdapterKind, dir: string, spec: string, work: string): Promise<RoundTrip> {
  const service = `${serviceNameFor(spec.slice(dir.length + 1), kind)}Stub`;
  const folder = join(work, spec.slice(dir.length + 1).replace(/[^\w.-]+/g, '_'));
  mkdirSync(folder, { recursive: true });
  const mappingPath = join(folder, `${service}.${kind}.yaml`);
  await initMapping({ kind, spec, service, out: mappingPath, ...(kind === 'grpc' ? { includeDirs: [dir] } : {}) });
  const mapping = parseYaml(readFileSync(mappingPath, 'utf8')) as { permissions: { types: Record<string, unknown> } };
  mapping.permissions.types = Object.fromEntries(Object.keys(mapping.permissions.types).map((root) => [root, { '*': 'allow' }]));
  writeFileSync(mappingPath, stringify(mapping, { lineWidth: 0 }));
  let stub: StubServer | undefined;
  let adapter: RunningSubgraph | undefined;
  try {
    stub = kind === 'rest' ? await startRestStub(mappingPath) : kind === 'soap' ? await startSoapStub(mappingPath) : await startGrpcStub(mappingPath);
    const common = { mappingPath, port: 0, host: '127.0.0.1', logLevel: 'silent', tracing: false as const, env: {} };
    adapter =
      kind === 'rest'
        ? await startRestAdapter({ ...common, targetUrl: stub.url })
        : kind === 'soap'
          ? await startSoapAdapter({ ...common, endpoint: stub.url })
          : await startGrpcAdapter({ ...common, address: stub.url });
    const sdl = (adapter as unknown as { generated: { sdl: string } }).generated.sdl;
    const picked = sampleQuery(sdl);
    if (!picked) throw new Error('no query field takes only simple arguments');
    const ok = await post(adapter.url, picked.query);
    const calls = stub.calls;
    stub.fail(FAILURES[kind].failure);
    const failed = await post(adapter.url, picked.query);
    return { field: picked.field, query: picked.query, data: ok.data?.[picked.field], errors: ok.errors, failedCode: failed.errors?.[0]?.extensions?.code, stubCalls: calls };
  } finally {
    await adapter?.stop();
    await stub?.close();
  }
}
