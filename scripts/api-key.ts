import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { toolRedis } from './tool-redis.js';
import { hashApiKey } from '../gateway/src/plugins/auth/api-keys.js';
import { apiKeyRecordSchema } from '../gateway/src/plugins/auth/options.js';

// Operators' tool for API keys kept in Redis (auth.apiKeys.redis):
//   npm run api-key -- add --client shop-backend --plan pro [--tenant acme] [--scopes a,b]
//   npm run api-key -- revoke --key fd_...   (or --sha256 <hex>)
// Redis as the gateway's configuration says (frontdesk.config.yaml or --config FILE, REDIS_URL and
// the other REDIS_* variables; default redis://127.0.0.1:6379), and --prefix (default frontdesk:apikey:) say where.
// The key is printed once and never stored: Redis holds only its SHA-256.
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    client: { type: 'string' },
    plan: { type: 'string' },
    tenant: { type: 'string' },
    scopes: { type: 'string', default: '' },
    key: { type: 'string' },
    sha256: { type: 'string' },
    prefix: { type: 'string', default: 'frontdesk:apikey:' },
    config: { type: 'string' },
  },
});
const usage = 'usage: npm run api-key -- add --client ID --plan PLAN [--tenant T] [--scopes a,b] | revoke --key KEY | revoke --sha256 HEX\n';
const fail = (message: string): never => {
  process.stderr.write(`api-key: ${message}\n${usage}`);
  process.exit(1);
};

const redis = toolRedis(values.config);
try {
  await redis.connect();
} catch (error) {
  fail(`cannot reach Redis: ${(error as Error).message}`);
}
try {
  if (positionals[0] === 'add') {
    const record = apiKeyRecordSchema.safeParse({
      clientId: values.client,
      plan: values.plan,
      ...(values.tenant ? { tenant: values.tenant } : {}),
      scopes: values.scopes.split(/[,\s]+/).filter(Boolean),
    });
    if (!record.success) fail(record.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const key = `fd_${randomBytes(24).toString('base64url')}`;
    const sha256 = hashApiKey(key);
    await redis.set(`${values.prefix}${sha256}`, JSON.stringify(record.data));
    process.stdout.write(`${JSON.stringify({ key, sha256, ...record.data })}\n`);
  } else if (positionals[0] === 'revoke') {
    const sha256 = values.sha256 ?? (values.key ? hashApiKey(values.key) : fail('name the key with --key or --sha256'));
    const removed = await redis.del(`${values.prefix}${sha256}`);
    process.stdout.write(removed ? `revoked ${sha256}\n` : `no such key ${sha256}\n`);
  } else {
    fail('say add or revoke');
  }
} finally {
  redis.disconnect();
}
