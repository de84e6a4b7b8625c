import { traceHeaders } from '../../gateway/src/core/tracing.js';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { GraphQLError } from 'graphql';
import * as soap from 'soap';
import type { Logger } from '../../gateway/src/core/logger.js';
import { FAILURE_BY_CODE, failureFromHttpStatus, failureFromTransportError, legacyError, LEGACY_MAX_RESPONSE_BYTES, type LegacyFailure } from '../toolkit/errors.js';
import { frontdeskError } from '../../gateway/src/core/errors.js';
import { retryableError } from '../../gateway/src/plugins/resilience/retry.js';
import { LegacyGuard, type LegacyResilience } from '../toolkit/resilience.js';

/** node-soap parses xsd:long with parseInt and xsd:decimal with Number; keep every primitive's text. */
const RAW_TEXT = Object.fromEntries(
  ['int', 'integer', 'short', 'long', 'double', 'float', 'decimal', 'bool', 'boolean', 'dateTime', 'date'].map((name) => [name, (text: string) => text]),
);

export interface SoapTargetOptions {
  service: string;
  wsdl: string;
  wsdlHeaders?: Record<string, string>;
  /** Endpoints of the service's instances; empty: the port address in the WSDL. */
  endpoints: readonly string[];
  timeoutMs: number;
  resilience: LegacyResilience;
  logger: Logger;
  maxConnections: number;
  usernameToken?: { username: string; password: string; passwordType: 'PasswordText' | 'PasswordDigest'; timestamp: boolean };
  soapHeaders: string[];
}

interface SoapFault {
  faultcode?: string | number;
  faultstring?: string;
  Code?: { Value?: string };
  Reason?: { Text?: string | { $value?: string } };
}

/** Namespace of the W3C trace context elements Frontdesk puts in a SOAP Header. */
export const TRACE_CONTEXT_NS = 'https://www.w3.org/TR/trace-context/';

/** The trace context as SOAP header elements: `<tc:traceparent xmlns:tc="...">...</tc:traceparent>` (and tracestate). */
export function traceEnvelopeHeader(trace: Record<string, string>): string {
  const escape = (value: string) => value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return Object.entries(trace)
    .map(([name, value]) => `<tc:${name} xmlns:tc="${TRACE_CONTEXT_NS}">${escape(value)}</tc:${name}>`)
    .join('');
}

/** Adds an element to the envelope's Header, creating the Header before the Body when there is none. */
export function withEnvelopeHeader(xml: string, element: string): string {
  const body = /<([\w.-]+):Body[\s>]/.exec(xml);
  if (!body) throw new Error('the SOAP request has no Body');
  const prefix = body[1]!;
  const close = `</${prefix}:Header>`;
  const at = xml.indexOf(close);
  if (at >= 0) return xml.slice(0, at) + element + xml.slice(at);
  return xml.slice(0, body.index) + `<${prefix}:Header>${element}</${prefix}:Header>` + xml.slice(body.index);
}

/** Detects a SOAP 1.2 binding: the port's address element is in the wsdl/soap12 namespace. */
export function usesSoap12(wsdlText: string): boolean {
  const prefix = /xmlns:(\w+)="http:\/\/schemas\.xmlsoap\.org\/wsdl\/soap12\/"/.exec(wsdlText)?.[1];
  return prefix !== undefined && new RegExp(`<${prefix}:address\\b`).test(wsdlText);
}

/**
 * One node-soap client per service: the WSDL read once, keep-alive connections, a deadline on
 * every call, WS-Security and custom SOAP headers from the mapping, and faults mapped to codes.
 */
export class SoapTarget {
  private readonly guard: LegacyGuard;

  private constructor(
    private readonly client: soap.Client,
    /** One client per endpoint (the WSDL parsed once): node-soap binds the endpoint per client. */
    private readonly clients: Map<string, soap.Client>,
    private readonly options: SoapTargetOptions,
    private readonly agent: HttpAgent,
  ) {
    this.guard = new LegacyGuard(options.service, [...clients.keys()], options.resilience, options.logger, options.endpoints.length > 0);
  }

  static async create(options: SoapTargetOptions): Promise<SoapTarget> {
    const isUrl = /^https?:\/\//.test(options.wsdl);
    const text = isUrl ? undefined : readFileSync(options.wsdl, 'utf8');
    if (text !== undefined && /<([\w-]+:)?description\b[^>]*"http:\/\/www\.w3\.org\/ns\/wsdl"/.test(text)) {
      throw new Error('this is a WSDL 2.0 document; node-soap, which the adapter reads WSDLs with, reads WSDL 1.1 only');
    }
    const clientOptions = {
      customDeserializer: RAW_TEXT,
      wsdl_headers: options.wsdlHeaders,
      forceSoap12Headers: text !== undefined ? usesSoap12(text) : false,
      returnFault: true,
    };
    const client = await soap.createClientAsync(options.wsdl, clientOptions);
    if (isUrl) (client.wsdl.options as { forceSoap12Headers?: boolean }).forceSoap12Headers = usesSoap12((client.wsdl as unknown as { xml?: string }).xml ?? '');
    const prepare = (target: soap.Client): soap.Client => {
      if (options.usernameToken) {
        const t = options.usernameToken;
        target.setSecurity(new soap.WSSecurity(t.username, t.password, { passwordType: t.passwordType, hasTimeStamp: t.timestamp, hasTokenCreated: t.timestamp }));
      }
      for (const header of options.soapHeaders) target.addSoapHeader(header);
      return target;
    };
    const clients = new Map<string, soap.Client>();
    if (options.endpoints.length === 0) clients.set('', prepare(client));
    options.endpoints.forEach((endpoint, i) => {
      const target = i === 0 ? client : new soap.Client(client.wsdl, endpoint, clientOptions);
      target.setEndpoint(endpoint);
      clients.set(endpoint, prepare(target));
    });
    const https = options.endpoints.some((endpoint) => endpoint.startsWith('https'));
    const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: options.maxConnections }) : new HttpAgent({ keepAlive: true, maxSockets: options.maxConnections });
    return new SoapTarget(client, clients, options, agent);
  }

  get definitions(): unknown {
    return this.client.wsdl.definitions;
  }

  async call(
    operation: string,
    args: object,
    headers: Record<string, string>,
    logger: Logger,
    faults: { match: RegExp; code: string }[] = [],
    envelopeHeader?: string,
    /** A query's call (may be sent again); a mutation's is only when it never left. */
    idempotent = false,
  ): Promise<Record<string, unknown>> {
    type Method = (args: object, options: object, headers: object) => Promise<[unknown]>;
    if (!(this.client as unknown as Record<string, Method>)[`${operation}Async`]) throw new Error(`no operation ${operation}`);
    const options: Record<string, unknown> = {
      timeout: this.options.timeoutMs,
      httpAgent: this.agent,
      httpsAgent: this.agent,
      // axios (node-soap's HTTP client) stops reading past it.
      maxContentLength: LEGACY_MAX_RESPONSE_BYTES,
    };
    // node-soap's SOAP headers belong to the client, shared by concurrent calls: a per-call
    // element (the caller) goes into this call's envelope only.
    if (envelopeHeader) options.postProcess = (xml: string) => withEnvelopeHeader(xml, envelopeHeader);
    const statusOf = (error: unknown): number | undefined => (error as { response?: { status?: number } }).response?.status;
    const faulted = (error: unknown): boolean => {
      const err = error as { root?: { Envelope?: { Body?: { Fault?: unknown } } }; Fault?: unknown };
      return (err.root?.Envelope?.Body?.Fault ?? err.Fault) !== undefined;
    };
    try {
      const [result] = await this.guard.run({
        operation,
        idempotent,
        send: (endpoint) => {
          const client = this.clients.get(endpoint)! as unknown as Record<string, Method>;
          // The trace context (of this call's span) as a SOAP header and as HTTP headers.
          const trace = traceHeaders();
          if (!trace.traceparent) return client[`${operation}Async`]!.call(client, args, options, headers);
          const element = traceEnvelopeHeader(trace);
          const traced = { ...options, postProcess: (xml: string) => withEnvelopeHeader(envelopeHeader ? withEnvelopeHeader(xml, envelopeHeader) : xml, element) };
          return client[`${operation}Async`]!.call(client, args, traced, { ...headers, ...trace });
        },
        // A fault is the service's answer; no answer, or a 5xx without a fault, is the instance's failure.
        instanceFailed: (error) => {
          if (faulted(error) || /maxContentLength/.test((error as Error).message ?? '')) return false;
          const status = statusOf(error);
          return status === undefined || status >= 500;
        },
        retryable: (error) => retryableError(error) || [429, 502, 503, 504].includes(statusOf(error) ?? 0),
      });
      return (result ?? {}) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      throw this.fail(operation, error, logger, faults);
    }
  }

  instances(): Record<string, unknown>[] {
    return this.guard.snapshot();
  }

  private fail(operation: string, error: unknown, logger: Logger, faults: { match: RegExp; code: string }[]): Error {
    const err = error as { message?: string; code?: string; response?: { status?: number; data?: unknown }; root?: { Envelope?: { Body?: { Fault?: SoapFault } } }; Fault?: SoapFault };
    const status = err.response?.status;
    const fault = err.root?.Envelope?.Body?.Fault ?? err.Fault;
    const entry = { service: this.options.service, operation, status, fault, code: err.code, message: err.message };
    let failure: LegacyFailure | undefined;
    const faultText = fault?.faultstring ?? (typeof fault?.Reason?.Text === 'object' ? fault.Reason.Text.$value : fault?.Reason?.Text) ?? '';
    if (faultText === 'Invalid XML' && typeof fault?.faultcode === 'number') {
      // node-soap's own report of a response it could not parse.
      failure = { kind: 'bad-response', reason: 'the body is not valid XML' };
    } else if (status === 401 || status === 403 || status === 502 || status === 503 || status === 504) {
      failure = failureFromHttpStatus(status);
    } else if (fault && (fault.faultcode || fault.Code)) {
      const code = String(fault.faultcode ?? fault.Code?.Value ?? '').split(':').pop() ?? '';
      const text = faultText;
      const override = faults.find((f) => f.match.test(text));
      if (override) failure = FAILURE_BY_CODE[override.code];
      else if (code === 'Client' || code === 'Sender') {
        // Client faults carry the service's explanation of what was wrong with the input.
        logger.info(entry, 'legacy call answered a client fault');
        // In production the fault text stays in the log: it may quote stored values.
        const why = process.env.NODE_ENV === 'production' ? ' as invalid' : `: ${text}`;
        return frontdeskError('BAD_USER_INPUT', `${this.options.service} rejected the input${why}`, { service: this.options.service });
      } else failure = { kind: 'error', detail: `fault ${code}` };
    } else if (status !== undefined && status >= 400) {
      failure = failureFromHttpStatus(status);
    } else if (/Invalid XML|Unexpected close tag|Unclosed root tag|Non-whitespace before first tag|Text data outside of root node/i.test(err.message ?? '')) {
      failure = { kind: 'bad-response', reason: 'the body is not valid XML' };
    } else if (err.code === 'ECONNABORTED' || /timeout/i.test(err.message ?? '')) {
      failure = { kind: 'timeout' };
    } else if (status !== undefined) {
      failure = { kind: 'bad-response', reason: 'the body is not a SOAP envelope' };
    } else {
      failure = failureFromTransportError(error);
    }
    if (failure!.kind === 'not-found') logger.debug(entry, 'legacy call answered not found');
    else logger.warn(entry, 'legacy call failed');
    return legacyError(this.options.service, failure!);
  }

  close(): void {
    this.guard.close();
    this.agent.destroy();
  }
}
