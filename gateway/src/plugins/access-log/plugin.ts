import { UNCOLLAPSED } from '../../core/logger.js';
import type { FrontdeskPlugin, PluginContext } from '../../core/plugin.js';
import type { AccessLogOptions } from './options.js';

/**
 * Which successful requests get a line: all up to `successesPerSecond` in each second, then a
 * share `ratio` of them (every 1/ratio-th, deterministic). Counts what it left out.
 */
export class SuccessSampler {
  private second = 0;
  private inSecond = 0;
  private skipped = 0;
  private past = 0;
  constructor(
    private readonly perSecond: number,
    private readonly ratio: number,
    private readonly now: () => number = Date.now,
  ) {}

  keep(): boolean {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      this.second = second;
      this.inSecond = 0;
    }
    this.inSecond += 1;
    if (this.inSecond <= this.perSecond) return true;
    this.past += this.ratio;
    if (this.past >= 1) {
      this.past -= 1;
      return true;
    }
    this.skipped += 1;
    return false;
  }

  /** Successful requests left out since the last call. */
  takeSkipped(): number {
    const skipped = this.skipped;
    this.skipped = 0;
    return skipped;
  }
}

/**
 * One structured log line per GraphQL request, at warn level when slow or failed; under load,
 * successful requests are sampled (every error and slow request is still logged) and a line each
 * 10 s says how many were left out.
 */
export function createAccessLogPlugin(options: AccessLogOptions, ctx: PluginContext): FrontdeskPlugin {
  const sampler = new SuccessSampler(options.sampling.successesPerSecond, options.sampling.ratio);
  const report = setInterval(() => {
    const skipped = sampler.takeSkipped();
    if (skipped > 0) ctx.logger.info({ skipped, intervalSeconds: 10, [UNCOLLAPSED]: true }, 'access log sampled: successful requests not logged');
  }, 10_000);
  report.unref();
  return {
    name: 'accessLog',
    close() {
      clearInterval(report);
      const skipped = sampler.takeSkipped();
      if (skipped > 0) ctx.logger.info({ skipped, [UNCOLLAPSED]: true }, 'access log sampled: successful requests not logged');
    },
    didAnswerAtEdge(request, answer, durationMs) {
      const slow = durationMs >= options.slowRequestMs;
      if (!slow && answer.status < 400 && !sampler.keep()) return;
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
      const line = { requestId: request.requestId, ...entry, [UNCOLLAPSED]: true };
      if (slow) ctx.logger.warn(line, 'slow graphql request');
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
            if (slow || codes.length > 0) contextValue.logger.warn({ ...entry, [UNCOLLAPSED]: true }, slow ? 'slow graphql request' : 'graphql request with errors');
            else if (sampler.keep()) contextValue.logger.info({ ...entry, [UNCOLLAPSED]: true }, 'graphql request');
          },
        };
      },
    },
  };
}
