import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A test-only TCP load balancer, as a Kubernetes Service with readiness behaves: connections go
 * round robin to the backends whose /ready answers 200 (polled every 100 ms); a connection that
 * cannot be made goes to the next backend. Bytes are piped both ways untouched.
 */
export interface TcpProxy {
  url: string;
  /** Connections handed to each backend port so far. */
  connections: Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpProxy(backends: number[]): Promise<TcpProxy> {
  const ready = new Map<number, boolean>(backends.map((port) => [port, false]));
  const connections = new Map<number, number>(backends.map((port) => [port, 0]));
  let next = 0;
  const probe = async () => {
    await Promise.all(
      backends.map(async (port) => {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(500) });
          ready.set(port, response.ok);
          await response.arrayBuffer();
        } catch {
          ready.set(port, false);
        }
      }),
    );
  };
  await probe();
  let probing = false;
  const poller = setInterval(() => {
    if (probing) return;
    probing = true;
    void probe().finally(() => (probing = false));
  }, 100);
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const attempt = (tries: number) => {
      const candidates = backends.filter((port) => ready.get(port));
      if (candidates.length === 0 || tries > backends.length) {
        client.destroy();
        return;
      }
      const port = candidates[next++ % candidates.length]!;
      const upstream = connect(port, '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        connections.set(port, (connections.get(port) ?? 0) + 1);
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', () => {
        if (!connected) {
          // Refused (the backend stopped listening): as a Service would after its endpoint goes.
          ready.set(port, false);
          attempt(tries + 1);
        } else client.destroy();
      });
      upstream.on('close', () => {
        if (connected) client.end();
      });
      client.on('close', () => upstream.destroy());
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    connections,
    async close() {
      clearInterval(poller);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
