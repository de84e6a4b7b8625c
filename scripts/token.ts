import { parseArgs } from 'node:util';

// `npm run token -- --sub u1 --scopes orders:read,catalog:write --roles admin [--ttl 3600]`:
// asks the development issuer that `npm start` runs for a token and prints it.
const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    scopes: { type: 'string', default: '' },
    roles: { type: 'string', default: '' },
    tenant: { type: 'string' },
    plan: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    issuer: { type: 'string', default: process.env.DEV_ISSUER_URL ?? 'http://127.0.0.1:4099' },
  },
});
if (!values.sub) {
  process.stderr.write('usage: npm run token -- --sub u1 [--scopes a,b] [--roles admin] [--tenant t] [--plan pro] [--ttl seconds]\n');
  process.exit(1);
}
const list = (value: string) => value.split(/[,\s]+/).filter(Boolean);
try {
  const response = await fetch(`${values.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: values.sub, scopes: list(values.scopes), roles: list(values.roles), tenant: values.tenant, plan: values.plan, ttlSeconds: Number(values.ttl) }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (!body.token) throw new Error(body.error ?? `HTTP ${response.status}`);
  process.stdout.write(`${body.token}\n`);
} catch (error) {
  process.stderr.write(`token: the development issuer at ${values.issuer} did not answer (is npm start running?): ${(error as Error).message}\n`);
  process.exit(1);
}
