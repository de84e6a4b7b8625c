import type { IncomingHttpHeaders } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import { instanceLabel } from '../../core/metrics.js';
import type { FrontdeskPlugin, PluginContext } from '../../core/plugin.js';
import { activeTraceId, requestSpanOf, serverSpanAround, SpanKind, SpanStatusCode, traceHeaders, Tracing, type TracingOptions } from '../../core/tracing.js';

/** An unsampled request's trace headers, made once for all its fetches. */
const unsampled = new WeakMap<object, Record<string, string>>();
function unsampledHeaders(span: ReturnType<typeof trace.wrapSpanContext>): Record<string, string> {
  let headers = unsampled.get(span);
  if (!headers) unsampled.set(span, (headers = traceHeaders(trace.setSpan(context.active(), span))));
  return headers;
}

/** The active span, when it records (a sampled request): the cheap test every hook starts with. */
function recording() {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/**
 * OpenTelemetry traces: a server span per request (continuing the client's traceparent), parse and
 * validate spans, @apollo/gateway's own plan, execute and fetch spans, a client span per subgraph
 * exchange on its instance; traceparent sent to every subgraph. Sampled by ratio (a client's
 * sampled traceparent is followed) and, for an answer with errors, always its request span. The
 * trace id goes into log lines, and into the response's extensions when asked.
 */
export function createTracingPlugin(options: TracingOptions, ctx: PluginContext): FrontdeskPlugin {
  const tracing = new Tracing(options, 'frontdesk-gateway', true);
  const { tracer } = tracing;
  ctx.logger.info({ endpoint: options.endpoint, sampleRatio: options.sampleRatio, service: tracing.serviceName }, 'tracing on (OTLP/HTTP)');

  const phase = (name: string) => {
    const parent = recording();
    if (!parent) return undefined;
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL });
    return async (error?: unknown) => {
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error).message ?? error).slice(0, 200) });
      span.end();
    };
  };

  return {
    name: 'tracing',
    aroundRequest(req, res, handle) {
      return serverSpanAround(tracing, req, res, handle);
    },
    didRespond(record) {
      const span = trace.getActiveSpan() ?? requestSpanOf(record.headers);
      if (!span) return;
      serverSpanAround.note(span, record.operationName, record.errorCodes, record.requestId);
    },
    admit(request) {
      const mode = options.traceIdInResponse;
      if (mode === 'never') return;
      if (mode === 'asked' && (request.body as { extensions?: { trace?: unknown } } | undefined)?.extensions?.trace !== true) return;
      const traceId = activeTraceId(request.headers);
      if (traceId) request.responseExtensions = { ...request.responseExtensions, traceId };
    },
    apollo: {
      async requestDidStart() {
        if (!recording()) return {};
        return {
          async parsingDidStart() {
            return phase('graphql.parse');
          },
          async validationDidStart() {
            const end = phase('graphql.validate');
            return end ? async (errors?: readonly Error[]) => end(errors && errors.length > 0 ? errors[0] : undefined) : undefined;
          },
        };
      },
    },
    subgraph: {
      willSendSubgraphRequest(options) {
        const { request } = options;
        // Sampled: the active span is @apollo/gateway's fetch span, the subgraph's server span its
        // child. Not sampled: the request's own (unsampled) trace context goes on all the same.
        const active = trace.getActiveSpan();
        const own = !active && 'context' in options ? requestSpanOf((options.context as { headers: IncomingHttpHeaders }).headers) : undefined;
        const headers = own ? unsampledHeaders(own) : active ? traceHeaders() : undefined;
        if (headers) for (const name in headers) request.http?.headers.set(name, headers[name]!);
      },
      async wrapFetch(send, fetch, chosen) {
        if (!recording()) return send(chosen);
        const url = chosen ?? fetch.next();
        const span = tracer.startSpan(`subgraph ${fetch.subgraph}`, {
          kind: SpanKind.CLIENT,
          attributes: { 'frontdesk.subgraph': fetch.subgraph, 'server.address': instanceLabel(url), 'http.request.method': 'POST' },
        });
        try {
          const reply = await context.with(trace.setSpan(context.active(), span), () => send(url));
          span.setAttribute('http.response.status_code', reply.status);
          if (reply.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${reply.status}` });
          return reply;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message?.slice(0, 200) });
          throw error;
        } finally {
          span.end();
        }
      },
    },
    async close() {
      await tracing.shutdown();
    },
  };
}
