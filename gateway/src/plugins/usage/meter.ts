import type { RedisClient } from '../../core/redis.js';

/** Upper bounds of the latency buckets, in ms (the last bucket is everything slower). */
export const LATENCY_BUCKETS_MS = [10, 50, 100, 250, 500, 1000, 2500, 5000] as const;
const BUCKET_FIELDS = [...LATENCY_BUCKETS_MS.map((ms) => `le${ms}`), 'gt5000'];

/** One answered request, as the edge saw it. */
export interface Usage {
  client: string;
  plan: string;
  operation: string;
  status: number;
  /** Codes of the errors in the answer (a refusal's one code). */
  errorCodes: readonly string[];
  cost: number;
  bytes: number;
  durationMs: number;
  at: number;
}

/** The counters of one client, plan, operation and hour. */
export interface UsageRow {
  hour: string;
  client: string;
  plan: string;
  operation: string;
  requests: number;
  errors: Record<string, number>;
  cost: number;
  bytes: number;
  latencyMs: Record<string, number>;
}

/** The hour a timestamp falls in, as the key part: 2026-12-03T14. */
export const hourOf = (at: number): string => new Date(at).toISOString().slice(0, 13);

const SEP = '\u001f';
/** The most rows held in memory (unflushed, or the memory store), whatever the other bounds allow. */
const MAX_PENDING_ROWS = 100_000;

/**
 * Counts usage per client, plan, operation name and hour, in memory, and moves the counts to Redis
 * (HINCRBY on one hash per row, an index set per hour) on `flush`; without Redis the memory is the
 * store, for the last memoryHours (48) hours. Cardinality is bounded: past `maxOperations` names per client and hour, further names
 * count as `(other)`; past `maxRows` rows per hour, further clients count as `(other)`.
 * On Redis Cluster the hour is a hash tag (`prefix:{hour}:...`): an hour's rows and its index share
 * a slot, so one MULTI still writes them together.
 */
export class UsageMeter {
  /** Rows not yet flushed (with Redis), or every row (without). */
  private pending = new Map<string, UsageRow>();
  private readonly operationsSeen = new Map<string, Set<string>>();
  private readonly rowsPerHour = new Map<string, number>();
  private lastHour = '';

  constructor(
    private readonly options: { keyPrefix: string; maxOperations: number; maxRows: number; retentionDays: number; memoryHours?: number },
    private readonly redis?: () => Promise<RedisClient>,
  ) {}

  record(usage: Usage): void {
    const hour = hourOf(usage.at);
    const clientHour = `${hour}${SEP}${usage.client}`;
    let operations = this.operationsSeen.get(clientHour);
    if (!operations) {
      const rows = this.rowsPerHour.get(hour) ?? 0;
      if (rows >= this.options.maxRows) usage = { ...usage, client: '(other)' };
      else this.rowsPerHour.set(hour, rows + 1);
      operations = new Set();
      this.operationsSeen.set(`${hour}${SEP}${usage.client}`, operations);
    }
    let operation = usage.operation;
    if (!operations.has(operation)) {
      if (operations.size >= this.options.maxOperations) operation = '(other)';
      operations.add(operation);
    }
    let key = [hour, usage.client, usage.plan, operation].join(SEP);
    let row = this.pending.get(key);
    if (!row && this.pending.size >= MAX_PENDING_ROWS) {
      // Memory stays bounded whatever arrives (Redis away for long, or no Redis): the rest is (other).
      usage = { ...usage, client: '(other)' };
      operation = '(other)';
      key = [hour, usage.client, usage.plan, operation].join(SEP);
      row = this.pending.get(key);
    }
    if (!row) {
      row = { hour, client: usage.client, plan: usage.plan, operation, requests: 0, errors: {}, cost: 0, bytes: 0, latencyMs: {} };
      this.pending.set(key, row);
    }
    row.requests += 1;
    for (const code of usage.errorCodes) row.errors[code] = (row.errors[code] ?? 0) + 1;
    row.cost += usage.cost;
    row.bytes += usage.bytes;
    const bucket = BUCKET_FIELDS[LATENCY_BUCKETS_MS.findIndex((ms) => usage.durationMs <= ms)] ?? 'gt5000';
    row.latencyMs[bucket] = (row.latencyMs[bucket] ?? 0) + 1;
    this.forgetOldHours(hour);
  }

  /** Drops the cardinality bookkeeping of hours before this one; without Redis, rows older than memoryHours too. */
  private forgetOldHours(hour: string): void {
    if (!this.redis && this.pending.size > 0 && hour !== this.lastHour) {
      this.lastHour = hour;
      const oldest = hourOf(Date.parse(`${hour}:00:00Z`) - (this.options.memoryHours ?? 48) * 3_600_000);
      for (const [key, row] of this.pending) if (row.hour < oldest) this.pending.delete(key);
    }
    if (this.rowsPerHour.size <= 2) return;
    for (const seen of this.rowsPerHour.keys()) if (seen < hour) this.rowsPerHour.delete(seen);
    for (const seen of this.operationsSeen.keys()) if (seen.split(SEP)[0]! < hour) this.operationsSeen.delete(seen);
  }

  /** Where an hour's keys start: `prefix:hour:`, with the hour a hash tag on a cluster. */
  private hourKey(hour: string, redis: RedisClient): string {
    return `${this.options.keyPrefix}:${redis.isCluster ? `{${hour}}` : hour}:`;
  }

  private rowKey(row: UsageRow, redis: RedisClient): string {
    return `${this.hourKey(row.hour, redis)}${encodeURIComponent(row.client)}|${encodeURIComponent(row.plan)}|${encodeURIComponent(row.operation)}`;
  }

  /** Moves the pending counts to Redis; on failure they stay pending for the next flush. */
  async flush(): Promise<void> {
    if (!this.redis || this.pending.size === 0) return;
    const rows = this.pending;
    this.pending = new Map();
    try {
      const redis = await this.redis();
      const ttl = this.options.retentionDays * 86_400;
      const batch = redis.multi();
      for (const row of rows.values()) {
        const key = this.rowKey(row, redis);
        batch.hincrby(key, 'requests', row.requests);
        if (row.cost) batch.hincrby(key, 'cost', row.cost);
        if (row.bytes) batch.hincrby(key, 'bytes', row.bytes);
        for (const [code, n] of Object.entries(row.errors)) batch.hincrby(key, `error:${code}`, n);
        for (const [bucket, n] of Object.entries(row.latencyMs)) batch.hincrby(key, `latency:${bucket}`, n);
        batch.expire(key, ttl);
        const index = `${this.hourKey(row.hour, redis)}index`;
        batch.sadd(index, key);
        batch.expire(index, ttl);
      }
      await batch.exec();
    } catch {
      // Put the counts back (adding to what arrived meanwhile): nothing counted is lost.
      for (const [key, row] of rows) {
        const now = this.pending.get(key);
        if (!now) this.pending.set(key, row);
        else {
          now.requests += row.requests;
          now.cost += row.cost;
          now.bytes += row.bytes;
          for (const [code, n] of Object.entries(row.errors)) now.errors[code] = (now.errors[code] ?? 0) + n;
          for (const [bucket, n] of Object.entries(row.latencyMs)) now.latencyMs[bucket] = (now.latencyMs[bucket] ?? 0) + n;
        }
      }
      throw new Error('usage counts could not be written to redis; kept for the next flush');
    }
  }

  /** Rows of the hours from..to (inclusive), filtered; from Redis when there is one (after a flush), else from memory. */
  async report(filter: { from: number; to: number; client?: string; plan?: string; operation?: string }): Promise<UsageRow[]> {
    const hours: string[] = [];
    for (let at = Math.floor(filter.from / 3_600_000) * 3_600_000; at <= filter.to && hours.length <= 24 * 400; at += 3_600_000) hours.push(hourOf(at));
    const wanted = (row: UsageRow) =>
      (!filter.client || row.client === filter.client) && (!filter.plan || row.plan === filter.plan) && (!filter.operation || row.operation === filter.operation);
    if (!this.redis) return [...this.pending.values()].filter((row) => hours.includes(row.hour) && wanted(row)).sort(compareRows);
    const redis = await this.redis();
    const rows: UsageRow[] = [];
    for (const hour of hours) {
      const start = this.hourKey(hour, redis);
      const keys = await redis.smembers(`${start}index`);
      if (keys.length === 0) continue;
      const read = redis.pipeline();
      for (const key of keys) read.hgetall(key);
      const results = (await read.exec()) ?? [];
      keys.forEach((key, i) => {
        const fields = (results[i]?.[1] ?? {}) as Record<string, string>;
        const [client, plan, operation] = key.slice(start.length).split('|').map(decodeURIComponent) as [string, string, string];
        const row: UsageRow = { hour, client, plan, operation, requests: 0, errors: {}, cost: 0, bytes: 0, latencyMs: {} };
        for (const [field, value] of Object.entries(fields)) {
          const n = Number(value);
          if (field === 'requests' || field === 'cost' || field === 'bytes') row[field] = n;
          else if (field.startsWith('error:')) row.errors[field.slice(6)] = n;
          else if (field.startsWith('latency:')) row.latencyMs[field.slice(8)] = n;
        }
        if (wanted(row)) rows.push(row);
      });
    }
    return rows.sort(compareRows);
  }
}

function compareRows(a: UsageRow, b: UsageRow): number {
  return a.hour.localeCompare(b.hour) || a.client.localeCompare(b.client) || a.operation.localeCompare(b.operation) || a.plan.localeCompare(b.plan);
}

const csvCell = (value: string | number): string => {
  const text = String(value);
  // Quoted when needed; a leading = + - @ is neutralised (spreadsheet formula injection).
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** One CSV row per client, operation and hour (RFC 4180), error codes and latency buckets as columns. */
export function toCsv(rows: readonly UsageRow[]): string {
  const codes = [...new Set(rows.flatMap((row) => Object.keys(row.errors)))].sort();
  const header = ['hour', 'client', 'plan', 'operation', 'requests', 'errors', ...codes.map((c) => `errors_${c}`), 'cost', 'bytes', ...BUCKET_FIELDS.map((b) => `latency_${b}`)];
  const lines = rows.map((row) =>
    [
      `${row.hour}:00:00Z`,
      row.client,
      row.plan,
      row.operation,
      row.requests,
      Object.values(row.errors).reduce((a, b) => a + b, 0),
      ...codes.map((c) => row.errors[c] ?? 0),
      row.cost,
      row.bytes,
      ...BUCKET_FIELDS.map((b) => row.latencyMs[b] ?? 0),
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\r\n')}\r\n`;
}
