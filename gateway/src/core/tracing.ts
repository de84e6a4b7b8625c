import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type ContextManager,
  type Link,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';

export { SpanKind, SpanStatusCode, type Span, type Tracer };

/** Tracing settings shared by the gateway, subgraphs and adapters (OTLP over HTTP). */
export const tracingOptionsSchema = z
  .strictObject({
    endpoint: z
      .string()
      .regex(/^https?:\/\//, 'an http:// or https:// URL')
      .describe('OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces. Env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.'),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe('Share of requests traced when the client sent no sampling decision (a sampled traceparent is always followed). Default 0.01.'),
    alwaysOnError: z
      .boolean()
      .default(true)
      .describe('A request that answered with errors and was not sampled still exports its request span, with its error codes. Default true.'),
    serviceName: z.string().min(1).optional().describe('service.name of the spans. Default frontdesk-gateway (the subgraph or adapter name for those).'),
    headers: z.record(z.string(), z.string()).default({}).describe('Headers sent with each export (an API key of the collector).'),
    exportTimeoutMs: z.number().int().positive().default(5000).describe('Timeout of one export, in ms. Default 5000.'),
    maxQueueSize: z.number().int().positive().default(2048).describe('Spans waiting for export; past it new spans are dropped (never a request). Default 2048.'),
    traceIdInResponse: z
      .enum(['never', 'asked', 'always'])
      .default('asked')
      .describe('Put the trace id in the response extensions (`traceId`): when the request asks with extensions.trace = true, always, or never. Default asked.'),
  })
  .describe('OpenTelemetry traces over OTLP/HTTP, off by default; README "Observability".');

export type TracingOptions = z.infer<typeof tracingOptionsSchema>;

const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (carrier: IncomingHttpHeaders) => Object.keys(carrier),
  get: (carrier: IncomingHttpHeaders, key: string) => carrier[key],
};
const recordSetter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };

/** Attribute asking the gateway's sampler to keep a span whatever the ratio (an answer with errors). */
const FORCE_SAMPLE = 'frontdesk.sampled_for_error';

/** The sampler: the parent's decision, else the ratio; a span marked for an error always. */
class FrontdeskSampler implements Sampler {
  private readonly inner: Sampler;
  constructor(ratio: number) {
    this.inner = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
  shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (attributes[FORCE_SAMPLE] === true) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    // @apollo/gateway's spans without a parent belong to a request that was not sampled (which
    // runs outside any context): never the root of a trace of their own.
    if (name.startsWith('gateway.') && !trace.getSpanContext(ctx)) return { decision: SamplingDecision.NOT_RECORD };
    return this.inner.shouldSample(ctx, traceId, name, kind, attributes, links);
  }
  toString(): string {
    return `FrontdeskSampler{${this.inner.toString()}}`;
  }
}

/**
 * The active context follows async work through an AsyncLocalStorage, switched on only while a
 * sampled request is in flight: Node's async hooks then cost every promise of the process, and an
 * unsampled request (99% at 1% sampling) runs outside any context, so it pays none of that.
 */
class SampledContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  private inFlight = 0;

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const result = this.storage.run(ctx, () => fn.apply(thisArg, args));
    // Outside sampled requests (the span exporter's flush runs in a context of its own): the store
    // goes off again at once, rather than staying on for every promise of the process.
    if (this.inFlight === 0) this.storage.disable();
    return result;
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (thisArg: unknown, args: unknown[]) => this.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(thisArg, args));
    return function (this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }

  /** A sampled request starts: its context is kept across its async work. */
  begin(): void {
    this.inFlight += 1;
  }

  /** A sampled request ended; with none left, the store is switched off (and its hooks with it). */
  end(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.storage.disable();
  }
}

let contextManager: SampledContextManager | undefined;
function ensureContextManager(): SampledContextManager {
  if (!contextManager) {
    contextManager = new SampledContextManager();
    context.setGlobalContextManager(contextManager);
  }
  return contextManager;
}

/**
 * The global tracer provider (what @apollo/gateway's own spans use: plan, execute, fetch) delegates
 * to the gateway started last, so a process that starts several gateways (tests) keeps working.
 */
class SwitchingTracerProvider implements TracerProvider {
  current: TracerProvider | undefined;
  getTracer(name: string, version?: string): Tracer {
    let cached: { provider: TracerProvider; tracer: Tracer } | undefined;
    const delegate = (provider: TracerProvider): Tracer => {
      if (cached?.provider !== provider) cached = { provider, tracer: provider.getTracer(name, version) };
      return cached.tracer;
    };
    const start = (spanName: string, options: SpanOptions | undefined, parent: Context): Span => {
      const parentSpan = trace.getSpanContext(parent);
      // No provider, or @apollo/gateway's work for a request that was not sampled (it runs outside
      // any context): a span that records nothing, without asking the SDK for ids and a decision.
      if (!this.current || !parentSpan) return parentSpan ? trace.wrapSpanContext(parentSpan) : UNSAMPLED;
      return delegate(this.current).startSpan(spanName, options, parent);
    };
    return {
      startSpan: (spanName: string, options?: SpanOptions, ctx?: Context) => start(spanName, options, ctx ?? context.active()),
      startActiveSpan: ((spanName: string, ...rest: unknown[]) => {
        const fn = rest.pop() as (span: Span) => unknown;
        const parent = (rest[1] as Context | undefined) ?? context.active();
        const span = start(spanName, rest[0] as SpanOptions | undefined, parent);
        // An unsampled request's work runs outside any context: keep it so (no store switched on).
        if (!span.isRecording() && !trace.getSpanContext(parent)) return fn(span);
        return context.with(trace.setSpan(parent, span), fn, undefined, span);
      }) as Tracer['startActiveSpan'],
    };
  }
}
/** The span of work outside any sampled trace. */
const UNSAMPLED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

let switching: SwitchingTracerProvider | undefined;

const TRACER_KEY = createContextKey('frontdesk tracer');

/**
 * Tracing of one service (the gateway, a subgraph, an adapter): its own provider, resource and
 * OTLP exporter, W3C trace context in and out. Spans are batched and exported off the request
 * path; an export that fails drops its spans, never a request.
 */
export class Tracing {
  readonly tracer: Tracer;
  readonly serviceName: string;
  private readonly provider: BasicTracerProvider;

  constructor(
    readonly options: TracingOptions,
    defaultServiceName: string,
    /** Make this the global provider too (the gateway: @apollo/gateway's spans go through it). */
    global = false,
  ) {
    ensureContextManager();
    this.serviceName = options.serviceName ?? defaultServiceName;
    const exporter = new OTLPTraceExporter({ url: options.endpoint, headers: options.headers, timeoutMillis: options.exportTimeoutMs });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': this.serviceName }),
      sampler: new FrontdeskSampler(options.sampleRatio),
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: options.maxQueueSize, scheduledDelayMillis: 1000, exportTimeoutMillis: options.exportTimeoutMs })],
    });
    this.tracer = this.provider.getTracer(this.serviceName);
    if (global) {
      if (!switching) {
        switching = new SwitchingTracerProvider();
        trace.setGlobalTracerProvider(switching);
      }
      switching.current = this.provider;
    }
  }

  /** The trace context a client or the gateway sent (traceparent, tracestate); the root context without one. */
  extract(headers: IncomingHttpHeaders): Context {
    return propagator.extract(ROOT_CONTEXT, headers, headerGetter);
  }

  /** A context in which this service's tracer is the one legacy calls and nested work use. */
  withTracer(ctx: Context): Context {
    return ctx.setValue(TRACER_KEY, this.tracer);
  }

  /**
   * For a request that answered with errors and was not sampled: exports one span for it (the
   * same trace id, so the log line's trace id finds it) with its error codes.
   */
  recordUnsampledError(span: Span, name: string, startTime: number, attributes: Attributes): void {
    if (!this.options.alwaysOnError || span.spanContext().traceFlags & TraceFlags.SAMPLED) return;
    const parent = trace.setSpanContext(ROOT_CONTEXT, span.spanContext());
    const errorSpan = this.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime, attributes: { ...attributes, [FORCE_SAMPLE]: true } }, parent);
    errorSpan.setStatus({ code: SpanStatusCode.ERROR });
    errorSpan.end();
  }

  /** Exports what is waiting (tests, shutdown). */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  async shutdown(): Promise<void> {
    if (switching?.current === this.provider) switching.current = undefined;
    await this.provider.shutdown();
  }
}

/** The W3C headers (traceparent, tracestate) of the active span, to send on a call; empty without one. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  if (trace.getSpanContext(ctx)) propagator.inject(ctx, headers, recordSetter);
  return headers;
}

/** The trace id of the active span, or of the request with these headers (for responses); undefined outside a trace. */
export function activeTraceId(headers?: IncomingHttpHeaders): string | undefined {
  const span = trace.getSpanContext(context.active()) ?? (headers ? requestSpans.get(headers)?.spanContext() : undefined);
  return span && span.traceId !== '00000000000000000000000000000000' ? span.traceId : undefined;
}

/**
 * Runs `work` in a client span of the tracer the active context carries (set by the service's
 * request span): a legacy call of an adapter. Without tracing, just `work`.
 */
export async function inClientSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  const active = context.active();
  const tracer = active.getValue(TRACER_KEY) as Tracer | undefined;
  if (!tracer) return work();
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, active);
  try {
    return await context.with(trace.setSpan(active, span), work);
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message?.slice(0, 200) });
    throw error;
  } finally {
    span.end();
  }
}

/** Tracing from the standard environment (subgraph and adapter processes): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT. */
export function tracingFromEnv(env: NodeJS.ProcessEnv = process.env): TracingOptions | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` : undefined);
  if (!endpoint) return undefined;
  const ratio = env.OTEL_TRACES_SAMPLER_ARG !== undefined ? Number(env.OTEL_TRACES_SAMPLER_ARG) : undefined;
  return tracingOptionsSchema.parse({ endpoint, ...(ratio !== undefined && Number.isFinite(ratio) ? { sampleRatio: ratio } : {}), ...(env.OTEL_SERVICE_NAME ? { serviceName: env.OTEL_SERVICE_NAME } : {}) });
}

/** What the answer held, noted on the request span by the service's didRespond (operation, error codes). */
const notes = new WeakMap<Span, { operationName: string | null; errorCodes: readonly string[] }>();
/** Each request's span by its headers object (the GraphQL context's `headers`): for the work of an unsampled request, which runs outside any context. */
const requestSpans = new WeakMap<IncomingHttpHeaders, Span>();

/** The span of the request whose headers these are (sampled or not). */
export function requestSpanOf(headers: IncomingHttpHeaders): Span | undefined {
  return requestSpans.get(headers);
}

/**
 * Handles one request inside a server span continuing the caller's trace context: the span ends
 * when the response closes, with its status, operation name and error codes; an answer with errors
 * is exported even when not sampled (Tracing.recordUnsampledError).
 */
export function serverSpanAround(tracing: Tracing, req: IncomingMessage, res: ServerResponse, handle: (bindings?: Record<string, unknown>) => Promise<void>): Promise<void> {
  const parent = tracing.extract(req.headers);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const name = `${req.method ?? 'GET'} ${path}`;
  const startTime = Date.now();
  const span = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime, attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': path } }, parent);
  requestSpans.set(req.headers, span);
  const sampled = span.isRecording();
  const manager = ensureContextManager();
  if (sampled) manager.begin();
  res.once('close', () => {
    if (sampled) manager.end();
    const status = res.statusCode;
    const note = notes.get(span);
    const failed = status >= 500 || (note !== undefined && note.errorCodes.length > 0 && status < 400);
    const attributes: Attributes = { 'http.request.method': req.method ?? 'GET', 'url.path': path, 'http.response.status_code': status };
    if (note) {
      if (note.operationName) attributes['graphql.operation.name'] = note.operationName;
      if (note.errorCodes.length > 0) attributes['frontdesk.error_codes'] = [...note.errorCodes];
    }
    if (span.isRecording()) {
      span.setAttributes(attributes);
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
    if (failed) tracing.recordUnsampledError(span, name, startTime, attributes);
  });
  // The request's log lines carry its trace id, sampled or not (an unsampled error's span is exported).
  const bindings = { traceId: span.spanContext().traceId };
  if (!sampled) return handle(bindings);
  return context.with(tracing.withTracer(trace.setSpan(parent, span)), () => handle(bindings));
}

serverSpanAround.note = (span: Span, operationName: string | null, errorCodes: readonly string[], requestId: string): void => {
  notes.set(span, { operationName, errorCodes });
  if (span.isRecording()) span.setAttribute('frontdesk.request_id', requestId);
};
