import { parseArgs } from 'node:util';
import { toolRedis } from './tool-redis.js';
import { toCsv, UsageMeter } from '../gateway/src/plugins/usage/index.js';

// Operators' report of metered usage (the usage plugin's hourly counts in Redis), for billing:
//   npm run usage -- report --from 2026-12-01 --to 2026-12-31T23:59:59Z [--client client:shop] [--plan pro] [--operation TopProducts] [--format csv|json]
// Redis as the gateway's configuration says (frontdesk.config.yaml or --config FILE, REDIS_URL and
// the other REDIS_* variables; default redis://127.0.0.1:6379), and --prefix (default frontdesk:usage, usage.keyPrefix) say where.
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    client: { type: 'string' },
    plan: { type: 'string' },
    operation: { type: 'string' },
    format: { type: 'string', default: 'csv' },
    prefix: { type: 'string', default: 'frontdesk:usage' },
    config: { type: 'string' },
  },
});
const help = 'usage: npm run usage -- report --from DATE --to DATE [--client KEY] [--plan PLAN] [--operation NAME] [--format csv|json] [--prefix P]\n';
const fail = (message: string): never => {
  process.stderr.write(`usage: ${message}\n${help}`);
  process.exit(1);
};
const instant = (value: string | undefined, name: string): number => {
  const at = value === undefined ? NaN : Date.parse(value);
  if (Number.isNaN(at)) fail(`--${name} must be an ISO date or time`);
  return at;
};

if (positionals[0] !== 'report') fail('the command is report');
const from = instant(values.from, 'from');
const to = instant(values.to, 'to');
if (to < from) fail('--to is before --from');
if (values.format !== 'csv' && values.format !== 'json') fail('--format is csv or json');
const redis = toolRedis(values.config);
try {
  await redis.connect();
} catch (error) {
  fail(`cannot reach Redis: ${(error as Error).message}`);
}
try {
  const meter = new UsageMeter({ keyPrefix: values.prefix!, maxOperations: Infinity, maxRows: Infinity, retentionDays: 400 }, async () => redis);
  const rows = await meter.report({ from, to, ...(values.client ? { client: values.client } : {}), ...(values.plan ? { plan: values.plan } : {}), ...(values.operation ? { operation: values.operation } : {}) });
  process.stdout.write(values.format === 'csv' ? toCsv(rows) : `${JSON.stringify(rows, null, 2)}\n`);
} finally {
  redis.disconnect();
}
