import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as packet from 'dns-packet';

export interface DnsRecords {
  A?: Record<string, string[]>;
  AAAA?: Record<string, string[]>;
  SRV?: Record<string, { target: string; port: number }[]>;
}

/**
 * An authoritative DNS server on UDP 127.0.0.1 (port 0) answering from `records`, which tests
 * change while it runs; every answer has `ttl` seconds. Unknown names answer NXDOMAIN; with
 * `serverFailure`, every query answers SERVFAIL.
 */
export async function startDnsServer(initial: DnsRecords, ttl = 1): Promise<{ server: string; records: DnsRecords; queries: number; serverFailure: boolean; stop(): Promise<void> }> {
  const socket: Socket = createSocket('udp4');
  const state = { server: '', records: initial, queries: 0, serverFailure: false, stop: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
  socket.on('message', (message, remote) => {
    let query: packet.Packet;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    state.queries += 1;
    const question = query.questions?.[0];
    const answers: packet.Answer[] = [];
    let known = false;
    if (question) {
      const name = question.name.toLowerCase();
      const { A = {}, AAAA = {}, SRV = {} } = state.records;
      known = name in A || name in AAAA || name in SRV;
      if (question.type === 'A') for (const data of A[name] ?? []) answers.push({ type: 'A', name: question.name, ttl, data });
      if (question.type === 'AAAA') for (const data of AAAA[name] ?? []) answers.push({ type: 'AAAA', name: question.name, ttl, data });
      if (question.type === 'SRV') for (const srv of SRV[name] ?? []) answers.push({ type: 'SRV', name: question.name, ttl, data: { priority: 10, weight: 10, port: srv.port, target: srv.target } });
    }
    const response = packet.encode({
      type: 'response',
      id: query.id,
      // SERVFAIL (an outage of DNS), NXDOMAIN (no such name), or the answer.
      flags: packet.AUTHORITATIVE_ANSWER | (state.serverFailure ? 2 : known ? 0 : 3),
      questions: query.questions,
      answers,
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  state.server = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  return state;
}
