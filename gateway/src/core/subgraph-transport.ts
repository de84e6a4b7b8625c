import { Agent, request } from 'undici';

/** The request headers of a subgraph fetch: lower-case names, what the plugins' hooks edit. */
export class SubgraphHeaders implements Iterable<[string, string]> {
  private readonly map = new Map<string, string>();

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.map.get(key);
    this.map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  toObject(): Record<string, string> {
    return Object.fromEntries(this.map);
  }
}

/** A subgraph's answer: status, headers and the body as text. */
export interface SubgraphReply {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/**
 * HTTP to the subgraphs on undici with keep-alive connections per origin, shared by every data
 * source; much cheaper per fetch than the node-fetch stack of RemoteGraphQLDataSource.
 */
/** What one subgraph's fetches may take (its own settings over subgraphRequests). */
export interface FetchBounds {
  connectTimeoutMs: number;
  timeoutMs: number;
  deadlineMs: number;
  maxResponseBytes: number;
}

export interface SubgraphTransport {
  post(url: string, headers: SubgraphHeaders, body: string, bounds?: FetchBounds): Promise<SubgraphReply>;
  close(): Promise<void>;
}

/**
 * A fetch wrapper (a circuit breaker, a bulkhead) refused to send: the data source answers the
 * subgraph's fields with this code and message.
 */
export class FetchRefused extends Error {
  override name = 'FetchRefused';
  constructor(
    readonly code: 'CIRCUIT_OPEN' | 'UPSTREAM_UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

/** A subgraph answered more than the transport reads (subgraphRequests.maxResponseBytes). */
export class ResponseTooLarge extends Error {
  override name = 'ResponseTooLarge';
  constructor(readonly limit: number) {
    super(`the response exceeds ${limit} bytes`);
  }
}

export interface TransportOptions {
  connectionsPerOrigin: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /** Idle limit: for the headers, and between two chunks of the body. */
  timeoutMs: number;
  /** Total limit of one fetch, a trickling body included. */
  deadlineMs: number;
  maxResponseBytes: number;
}

/** Reads a body as text up to `limit` bytes; past it the connection is dropped and ResponseTooLarge thrown. */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      const error = new ResponseTooLarge(limit);
      body.destroy(error);
      throw error;
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
}

export function createSubgraphTransport(options: TransportOptions): SubgraphTransport {
  /** One agent per connect timeout (undici sets it per agent): usually one. */
  const agents = new Map<number, Agent>();
  const agentFor = (connectTimeoutMs: number): Agent => {
    let agent = agents.get(connectTimeoutMs);
    if (!agent) {
      agent = new Agent({
        connections: options.connectionsPerOrigin,
        keepAliveTimeout: options.keepAliveTimeoutMs,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        connect: { timeout: connectTimeoutMs },
      });
      agents.set(connectTimeoutMs, agent);
    }
    return agent;
  };
  const defaultAgent = agentFor(options.connectTimeoutMs);
  return {
    async post(url, headers, body, bounds = options) {
      const agent = bounds.connectTimeoutMs === options.connectTimeoutMs ? defaultAgent : agentFor(bounds.connectTimeoutMs);
      const response = await request(url, {
        method: 'POST',
        headers: headers.toObject(),
        body,
        dispatcher: agent,
        headersTimeout: bounds.timeoutMs,
        bodyTimeout: bounds.timeoutMs,
        signal: AbortSignal.timeout(bounds.deadlineMs),
      });
      const received = response.headers;
      return {
        status: response.statusCode,
        headers: {
          get(name: string) {
            const value = received[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
          },
        },
        text: await readBounded(response.body, bounds.maxResponseBytes),
      };
    },
    close: async () => {
      await Promise.all([...agents.values()].map((agent) => agent.close()));
    },
  };
}
