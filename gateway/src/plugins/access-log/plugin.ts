import type { FrontdeskPlugin, PluginContext } from '../../core/plugin.js';
import type { AccessLogOptions } from './options.js';

/** One structured log line per GraphQL request, at warn level when slow or failed. */
export function createAccessLogPlugin(options: AccessLogOptions, ctx: PluginContext): FrontdeskPlugin {
  return {
    name: 'accessLog',
    didAnswerAtEdge(request, answer, durationMs) {
      // The body is parsed only to log its query: a hit found by its exact text needs no parse otherwise.
      const query = options.includeQuery ? (request.body as { query?: unknown }).query : undefined;
      const entry = {
        operationName: answer.operationName,
        operationType: 'query',
        status: answer.status,
        durationMs: Math.round(durationMs * 100) / 100,
        ...answer.observed,
        query: typeof query === 'string' ? query : undefined,
      };
      // The root logger with the request id: no child logger to make for an answer this cheap.
      const line = { requestId: request.requestId, ...entry };
      if (durationMs >= options.slowRequestMs) ctx.logger.warn(line, 'slow graphql request');
      else ctx.logger.info(line, 'graphql request');
    },
    apollo: {
      async requestDidStart() {
        const started = process.hrtime.bigint();
        return {
          async willSendResponse({ request, response, errors, operationName, operation, contextValue }) {
            const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
            const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
            const allErrors = errors ?? body?.errors ?? [];
            const codes = [...new Set(allErrors.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))];
            const entry = {
              operationName: operationName ?? request.operationName ?? null,
              operationType: operation?.operation ?? null,
              status: response.http.status ?? 200,
              durationMs: Math.round(durationMs * 100) / 100,
              errors: codes.length > 0 ? codes : undefined,
              query: options.includeQuery ? request.query : undefined,
            };
            const slow = durationMs >= options.slowRequestMs;
            if (slow || codes.length > 0) contextValue.logger.warn(entry, slow ? 'slow graphql request' : 'graphql request with errors');
            else contextValue.logger.info(entry, 'graphql request');
          },
        };
      },
    },
  };
}
