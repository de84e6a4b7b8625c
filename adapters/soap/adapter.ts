import { dirname, resolve } from 'node:path';
import type { RunningSubgraph } from '../../subgraphs/shared/server.js';
import { createLogger, type Logger } from '../../gateway/src/core/logger.js';
import { interpolateEnv, loadMappingFile, urlList } from '../toolkit/mapping.js';
import { startAdapterSubgraph, type AdapterServerOptions } from '../toolkit/server.js';
import { SoapTarget } from './client.js';
import { generateSoapSubgraph, type GeneratedSoapSubgraph, type WsdlDefinitions } from './generate.js';
import { soapMappingSchema, type SoapMapping } from './mapping.js';
import { buildSoapResolvers } from './resolvers.js';

export interface LoadedSoapAdapter {
  mapping: SoapMapping;
  generated: GeneratedSoapSubgraph;
  target: SoapTarget;
}

function secret(value: string, env: NodeJS.ProcessEnv, what: string): string {
  const resolved = interpolateEnv(value, env);
  if (resolved === undefined) throw new Error(`${what}: ${value} needs an environment variable that is not set`);
  return resolved;
}

/** Reads a SOAP mapping and its WSDL (with node-soap) and generates the subgraph. */
export async function loadSoapAdapter(
  mappingPath: string,
  options: { endpoint?: string; env?: NodeJS.ProcessEnv; credentials?: boolean; logger?: Logger } = {},
): Promise<LoadedSoapAdapter> {
  const env = options.env ?? process.env;
  // Generating the schema (npm run compose) reads the WSDL only: no call, so no credentials.
  const withCredentials = options.credentials ?? true;
  const mapping = loadMappingFile(mappingPath, soapMappingSchema);
  const wsdl = /^https?:\/\//.test(mapping.wsdl) ? mapping.wsdl : resolve(dirname(mappingPath), mapping.wsdl);
  const auth = mapping.wsdlAuth;
  const token = mapping.security.usernameToken;
  let target: SoapTarget;
  try {
    target = await SoapTarget.create({
      service: mapping.service,
      wsdl,
      wsdlHeaders: auth
        ? { Authorization: `Basic ${Buffer.from(`${secret(auth.username, env, 'wsdlAuth.username')}:${secret(auth.password, env, 'wsdlAuth.password')}`).toString('base64')}` }
        : undefined,
      endpoints: options.endpoint ? urlList(options.endpoint) : (mapping.target.urls ?? (mapping.target.url ? [mapping.target.url] : [])),
      timeoutMs: mapping.target.timeoutMs,
      resilience: mapping.target.resilience,
      logger: options.logger ?? createLogger('warn', { service: mapping.subgraph }),
      maxConnections: mapping.target.maxConnections,
      usernameToken: token && withCredentials
        ? { ...token, username: secret(token.username, env, 'usernameToken.username'), password: secret(token.password, env, 'usernameToken.password') }
        : undefined,
      soapHeaders: withCredentials ? mapping.soapHeaders.map((header) => secret(header, env, 'soapHeaders')) : [],
    });
  } catch (error) {
    const message = (error as Error).message;
    // node-soap's own assertions read as code; say what they mean.
    const said = /instanceof/.test(message) ? `node-soap cannot read it: an element stands where XML Schema does not allow one (${message.replace(/\s+/g, ' ').trim()})` : message;
    throw new Error(`Cannot load WSDL ${wsdl}: ${said}`);
  }
  const generated = generateSoapSubgraph(target.definitions as WsdlDefinitions, mapping, wsdl);
  return { mapping, generated, target };
}

export interface SoapAdapterOptions extends AdapterServerOptions {
  /** Overrides the endpoint (env TARGET_URL in main.ts). */
  endpoint?: string;
}

export type RunningSoapAdapter = RunningSubgraph & { generated: GeneratedSoapSubgraph; mapping: SoapMapping };

/** Starts a SOAP adapter subgraph. */
export async function startSoapAdapter(options: SoapAdapterOptions): Promise<RunningSoapAdapter> {
  const { mapping, generated, target } = await loadSoapAdapter(options.mappingPath, { endpoint: options.endpoint, env: options.env, logger: createLogger(options.logLevel ?? 'info', { service: 'soap-adapter' }) });
  const running = await startAdapterSubgraph(options, mapping, generated.sdl, buildSoapResolvers(generated, mapping, target), async () => target.close());
  return { ...running, generated, mapping };
}
