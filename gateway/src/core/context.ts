import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from './logger.js';

/** Per-request state shared by the edge, the plugins and the subgraph data sources. */
export interface GatewayContext {
  /** From the client's `x-request-id` when it is sane, otherwise generated; sent to every subgraph. */
  requestId: string;
  /** The request's logger, bound to its request id. */
  logger: Logger;
  /** Headers of the client request, as received. */
  headers: IncomingHttpHeaders;
}
