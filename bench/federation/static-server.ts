import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The ceiling of the cache-hit scenario: a bare node:http server that answers every POST with the
 * same precomputed bytes (what any Node gateway's cache hit must at least do).
 * `node dist/bench/federation/static-server.js BODY_FILE PORT`
 */
const [file, port] = process.argv.slice(2);
const body = readFileSync(file!);
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    return;
  }
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
