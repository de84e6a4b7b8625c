import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../../../subgraphs/shared/paths.js';
import { ConfigError, HelpRequested, loadConfig, normalizeSubgraphName, parseConfig } from './config.js';
import { configJsonSchema } from './config-schema.js';

function dirWith(yaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'frontdesk-config-'));
  if (yaml !== undefined) writeFileSync(join(dir, 'frontdesk.config.yaml'), yaml);
  return dir;
}

describe('parseConfig', () => {
  it('fills every default', () => {
    const config = parseConfig({});
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 4000,
      workers: 1,
      heapGrowingPercent: 50,
      workerGc: { singleThreaded: 'auto', semiSpaceMb: 64 },
      graphqlPath: '/graphql',
      bodyLimitBytes: 1_048_576,
      drainDelayMs: 0,
      drainTimeoutMs: 10_000,
      keepAliveTimeoutMs: 65_000,
      requestTimeoutMs: 30_000,
      requestDeadlineMs: 60_000,
      trustedProxies: [],
      ipAllow: [],
      ipDeny: [],
      compression: { enabled: true, thresholdBytes: 1024 },
      batching: { enabled: true, maxOperations: 10 },
    });
    expect(config.limits).toBeUndefined();
    expect(config.subgraphRequests.deadlineMs).toBe(30_000);
    expect(config.subgraphRequests.maxResponseBytes).toBe(32 * 1024 * 1024);
    expect(config.supergraph).toEqual({ path: 'schema/supergraph.graphql', watch: true, watchDebounceMs: 100, keepLastGood: true });
    expect(config.logging.level).toBe('info');
    expect(config.subgraphs).toEqual({});
    expect(config.headers.propagate).toEqual(['accept-language']);
    expect(config.accessLog).toBeUndefined();
    expect(config.production).toBe(false);
  });

  it('rejects unknown keys at any depth, naming the path', () => {
    expect(() => parseConfig({ sever: {} })).toThrow(/\(root\): Unrecognized key.*sever/);
    expect(() => parseConfig({ server: { prot: 1 } })).toThrow(/server: Unrecognized key.*prot/);
    expect(() => parseConfig({ subgraphs: { accounts: { uri: 'http://x' } } })).toThrow(/subgraphs\.accounts: Unrecognized key.*uri/);
    expect(() => parseConfig({ responseCache: { memory: { maxItems: 5 } } })).toThrow(/responseCache\.memory: Unrecognized key.*maxItems/);
  });

  it('rejects a CIDR, an origin or a TLS version that is not one', () => {
    expect(() => parseConfig({ server: { ipDeny: ['10.0.0.0/33'] } })).toThrow(/server\.ipDeny\.0: an IPv4 or IPv6 address or CIDR/);
    expect(() => parseConfig({ server: { trustedProxies: ['proxy.local'] } })).toThrow(/server\.trustedProxies\.0/);
    expect(() => parseConfig({ server: { cors: { origins: ['localhost:3000'] } } })).toThrow(/server\.cors\.origins\.0: an origin/);
    expect(() => parseConfig({ server: { tls: { certFile: 'c', keyFile: 'k', minVersion: 'TLSv1' } } })).toThrow(/server\.tls\.minVersion/);
    expect(() => parseConfig({ limits: { plans: { free: { depth: 0 } } } })).toThrow(/limits\.plans\.free\.depth/);
    expect(() => parseConfig({ limits: { all: { height: 3 } } })).toThrow(/limits\.all: Unrecognized key.*height/);
    expect(parseConfig({ server: { ipAllow: ['10.0.0.0/8', '::1', 'fd00::/8'] } }).server.ipAllow).toHaveLength(3);
    expect(parseConfig({ subgraphs: { reviews: { timeoutMs: 2000, deadlineMs: 3000 } } }).subgraphs.reviews).toEqual({ timeoutMs: 2000, deadlineMs: 3000 });
    expect(() => parseConfig({ subgraphs: { reviews: { deadlineMs: 0 } } })).toThrow(/subgraphs\.reviews\.deadlineMs/);
  });

  it('rejects wrong types and ranges with the key path and what was expected', () => {
    expect(() => parseConfig({ server: { port: 'eighty' } })).toThrow(/server\.port: Invalid input: expected number, received string/);
    expect(() => parseConfig({ server: { port: 70000 } })).toThrow(/server\.port: .*<=65535/);
    expect(() => parseConfig({ server: { bodyLimitBytes: 0 } })).toThrow(/server\.bodyLimitBytes/);
    expect(() => parseConfig({ logging: { level: 'loud' } })).toThrow(/logging\.level: .*"info"/);
    expect(() => parseConfig({ subgraphs: { accounts: { url: 'ftp://x' } } })).toThrow(/subgraphs\.accounts\.url/);
    expect(() => parseConfig({ redis: { url: 'http://localhost' } })).toThrow(/redis\.url: a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseConfig({ headers: { propagate: ['Host'] } })).toThrow(/headers\.propagate\.0: a lower-case header name/);
    expect(() => parseConfig({ headers: { propagate: ['x-request-id'] } })).toThrow(/headers\.propagate\.0: a header the gateway sets itself/);
    expect(() => parseConfig({ responseCache: { staleIfErrorSeconds: -1 } })).toThrow(/responseCache\.staleIfErrorSeconds/);
    expect(() => parseConfig({ responseCache: { store: 'disk' } })).toThrow(/responseCache\.store: .*"memory"/);
    expect(() => parseConfig({ responseCache: { staleIfErrorCodes: ['NOT_FOUND'] } })).toThrow(/responseCache\.staleIfErrorCodes\.0/);
    expect(() => parseConfig({ responseCache: { admin: { path: '/' } } })).toThrow(/responseCache\.admin\.path: a path like \/admin\/cache/);
  });

  it('reports every problem at once', () => {
    try {
      parseConfig({ server: { port: -1, host: '' }, extra: true }, { source: 'x.yaml' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(/^Invalid configuration in x\.yaml:/);
      expect(message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(3);
    }
  });
});

describe('loadConfig', () => {
  it('uses defaults without a file, and resolves the supergraph against the working directory', () => {
    const cwd = dirWith();
    const config = loadConfig({ cwd, env: {}, argv: [] });
    expect(config.source).toBe('defaults');
    expect(config.supergraph.path).toBe(join(cwd, 'schema/supergraph.graphql'));
  });

  it('reads frontdesk.config.yaml from the working directory', () => {
    const cwd = dirWith('server:\n  port: 4100\naccessLog:\n  slowRequestMs: 250\n');
    const config = loadConfig({ cwd, env: {}, argv: [] });
    expect(config.server.port).toBe(4100);
    expect(config.accessLog).toEqual({ slowRequestMs: 250, includeQuery: false, sampling: { successesPerSecond: 50, ratio: 0.01 } });
    expect(config.source).toBe(join(cwd, 'frontdesk.config.yaml'));
  });

  it('takes Redis from the environment: sentinels or cluster nodes replace the file\'s URL, credentials and prefix apply to any', () => {
    const cwd = dirWith('redis:\n  url: redis://file:6379\n  keyPrefix: "file:"\n');
    const sentinel = loadConfig({ cwd, env: { REDIS_SENTINELS: 's1:26379, s2:26379', REDIS_SENTINEL_NAME: 'main', REDIS_PASSWORD: 'pw', REDIS_KEY_PREFIX: 'prod:' }, argv: [] }).redis;
    expect(sentinel).toEqual({ sentinel: { name: 'main', nodes: ['s1:26379', 's2:26379'], tls: false }, password: 'pw', keyPrefix: 'prod:' });
    const cluster = loadConfig({ cwd, env: { REDIS_CLUSTER_NODES: '10.0.0.1:6379,[::1]:6380', REDIS_USERNAME: 'gateway' }, argv: [] }).redis;
    expect(cluster).toEqual({ cluster: { nodes: ['10.0.0.1:6379', '[::1]:6380'] }, username: 'gateway', keyPrefix: 'file:' });
    expect(loadConfig({ cwd, env: {}, argv: [] }).redis).toEqual({ url: 'redis://file:6379', keyPrefix: 'file:' });
  });

  it('refuses Redis settings that cannot work, naming them', () => {
    expect(() => parseConfig({ redis: { url: 'redis://a:6379', cluster: { nodes: ['b:6379'] } } })).toThrow(/redis: set one of url, sentinel and cluster/);
    expect(() => parseConfig({ redis: { password: 'pw' } })).toThrow(/username, password and tls need url, sentinel or cluster/);
    expect(() => parseConfig({ redis: { sentinel: { name: 'm', nodes: ['no-port'] } } })).toThrow(/redis.sentinel.nodes.0: host:port/);
    expect(() => parseConfig({ redis: { cluster: { nodes: ['a:1'] }, db: 2 } })).toThrow(/only database 0/);
    expect(() => parseConfig({ redis: { url: 'redis://a:1', keyPrefix: 'has space' } })).toThrow(/redis.keyPrefix/);
    expect(() => parseConfig({ redis: { url: 'redis://a:1', tls: { certFile: 'c.pem' } } })).toThrow(/certFile and keyFile go together/);
  });

  it('applies the environment over the file and the flags over both', () => {
    const cwd = dirWith('server:\n  port: 4100\nsupergraph:\n  path: a.graphql\nsubgraphs:\n  legacy-catalog:\n    url: http://file:1/graphql\n');
    const env = {
      PORT: '4200',
      SUPERGRAPH_PATH: 'b.graphql',
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'debug',
      SUBGRAPH_LEGACY_CATALOG_URL: 'http://env:2/graphql',
      SUBGRAPH_ACCOUNTS_URL: 'http://accounts:4001/graphql',
      NODE_ENV: 'production',
    };
    const fromEnv = loadConfig({ cwd, env, argv: [] });
    expect(fromEnv.server.port).toBe(4200);
    expect(fromEnv.supergraph.path).toBe(join(cwd, 'b.graphql'));
    expect(fromEnv.redis.url).toBe('redis://127.0.0.1:6379');
    expect(fromEnv.logging.level).toBe('debug');
    expect(fromEnv.subgraphs).toEqual({
      'legacy-catalog': { url: 'http://env:2/graphql' },
      accounts: { url: 'http://accounts:4001/graphql' },
    });
    expect(fromEnv.production).toBe(true);
    const fromFlags = loadConfig({ cwd, env, argv: ['--port', '0', '--supergraph', '/abs/c.graphql'] });
    expect(fromFlags.server.port).toBe(0);
    expect(fromFlags.supergraph.path).toBe('/abs/c.graphql');
  });

  it('names a bad PORT value and where it came from', () => {
    expect(() => loadConfig({ cwd: dirWith(), env: { PORT: 'abc' }, argv: [] })).toThrow(/server\.port: .*expected number/);
    expect(() => loadConfig({ cwd: dirWith(), env: {}, argv: ['--port', 'x1'] })).toThrow(/server\.port/);
  });

  it('takes the file from --config or FRONTDESK_CONFIG, and fails when that file is missing', () => {
    const cwd = dirWith();
    const other = join(cwd, 'other.yaml');
    writeFileSync(other, 'logging:\n  level: warn\n');
    expect(loadConfig({ cwd, env: { FRONTDESK_CONFIG: 'other.yaml' }, argv: [] }).logging.level).toBe('warn');
    expect(loadConfig({ cwd, env: {}, argv: ['--config', other] }).logging.level).toBe('warn');
    expect(() => loadConfig({ cwd, env: {}, argv: ['--config', 'missing.yaml'] })).toThrow(/Configuration file not found: .*missing\.yaml/);
  });

  it('fills ${NAME} from the environment and names the key of an unset one', () => {
    const cwd = dirWith('redis:\n  url: redis://:${REDIS_PASSWORD}@127.0.0.1:6379\n');
    expect(loadConfig({ cwd, env: { REDIS_PASSWORD: 's3cret' }, argv: [] }).redis.url).toBe('redis://:s3cret@127.0.0.1:6379');
    expect(() => loadConfig({ cwd, env: {}, argv: [] })).toThrow(/redis\.url: environment variable REDIS_PASSWORD is not set/);
  });

  it('uses the default of ${NAME:-default} only when NAME is unset or empty', () => {
    const cwd = dirWith('redis:\n  url: ${CACHE_URL:-redis://127.0.0.1:6379/2}\n');
    expect(loadConfig({ cwd, env: {}, argv: [] }).redis.url).toBe('redis://127.0.0.1:6379/2');
    expect(loadConfig({ cwd, env: { CACHE_URL: '' }, argv: [] }).redis.url).toBe('redis://127.0.0.1:6379/2');
    expect(loadConfig({ cwd, env: { CACHE_URL: 'redis://cache:6379' }, argv: [] }).redis.url).toBe('redis://cache:6379');
  });

  it('rejects YAML that does not parse or is not a mapping', () => {
    expect(() => loadConfig({ cwd: dirWith('server: [1, 2'), env: {}, argv: [] })).toThrow(/Cannot read configuration/);
    expect(() => loadConfig({ cwd: dirWith('- 1\n- 2\n'), env: {}, argv: [] })).toThrow(/expected a mapping/);
  });

  it('rejects unknown flags and answers --help', () => {
    expect(() => loadConfig({ cwd: dirWith(), env: {}, argv: ['--prot', '1'] })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd: dirWith(), env: {}, argv: ['--help'] })).toThrow(HelpRequested);
  });
});

describe('the published config files', () => {
  it('gateway/config.schema.json matches the schema (run npm run config-schema)', () => {
    expect(readFileSync(projectPath('gateway', 'config.schema.json'), 'utf8')).toBe(configJsonSchema());
  });

  it('the committed frontdesk.config.yaml is valid', () => {
    const config = loadConfig({ cwd: projectPath(), env: {}, argv: [] });
    expect(config.source).toBe(projectPath('frontdesk.config.yaml'));
  });

  it('normalises subgraph names for environment lookups', () => {
    expect(normalizeSubgraphName('legacy-Catalog.v2')).toBe('legacy_catalog_v2');
  });
});
