import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/src/core/logger.js';
import { LEGACY_MAX_RESPONSE_BYTES } from './errors.js';
import { HttpTarget } from './http-client.js';
import { legacyResilienceSchema } from './resilience.js';

describe('HttpTarget response bound', () => {
  let server: Server;
  let target: HttpTarget;
  let written = 0;
  const logger = createLogger('silent');

  beforeAll(async () => {
    // A legacy service that answers /huge with more than the bound, in 1 MiB chunks, and stops when the adapter hangs up.
    server = createServer((req, res) => {
      if (req.url === '/small') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      res.write('{"padding":"');
      const more = (): void => {
        while (written < 4 * LEGACY_MAX_RESPONSE_BYTES) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end('"}');
      };
      res.on('close', () => res.destroy());
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = new HttpTarget({ service: 'huge', baseUrls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], timeoutMs: 20_000, maxConnections: 2, resilience: legacyResilienceSchema.parse(undefined), logger });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails a legacy answer over the bound as BAD_UPSTREAM_RESPONSE and stops reading it', async () => {
    expect((await target.call({ method: 'GET', path: '/small', logger })).body).toEqual({ ok: true });
    const failure = await target.call({ method: 'GET', path: '/huge', logger }).then(
      () => undefined,
      (error: unknown) => error as { message: string; extensions: { code: string } },
    );
    expect(failure?.extensions.code).toBe('BAD_UPSTREAM_RESPONSE');
    expect(failure?.message).toBe(`huge sent an invalid response: the response exceeds ${LEGACY_MAX_RESPONSE_BYTES} bytes`);
    // The adapter hung up soon after the bound: far less than the service would have sent.
    expect(written).toBeLessThan(4 * LEGACY_MAX_RESPONSE_BYTES);
  }, 30_000);
});
