import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/core/create-gateway.js';
import { freePort } from '../../bench/harness.js';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { as, startStack, startStackGatewayWith, type Stack } from '../support/stack.js';

/**
 * The Grafana dashboard and the Prometheus alert rules in deploy/ name only metrics that the
 * gateway and the adapters really serve (scraped here with every feature on), with the labels
 * they really have; the files are well formed.
 */
const DASHBOARD = projectPath('deploy', 'grafana', 'frontdesk-dashboard.json');
const ALERTS = projectPath('deploy', 'prometheus', 'frontdesk-alerts.yaml');
const SCRAPE = projectPath('deploy', 'prometheus', 'prometheus.yml');
/** Series Prometheus makes itself. */
const PROMETHEUS_OWN = new Set(['up']);

let stack: Stack;
let gateway: RunningGateway;
/** Metric families served (from # TYPE lines) with their type and the label names of their samples. */
const served = new Map<string, { type: string; labels: Set<string> }>();

function collect(text: string): void {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      if (!served.has(type[1]!)) served.set(type[1]!, { type: type[2]!, labels: new Set() });
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const family = served.get(sample[1]!) ?? served.get(sample[1]!.replace(/_(bucket|count|sum)$/, ''));
    for (const label of (sample[2] ?? '').matchAll(/(\w+)="/g)) family?.labels.add(label[1]!);
  }
}

beforeAll(async () => {
  stack = await startStack();
  // Reviews is dead here: its fetches fail, so the failure families have samples too.
  gateway = await startStackGatewayWith(stack, { reviews: { url: `http://127.0.0.1:${await freePort()}/graphql` } }, {
    metrics: {},
    responseCache: {},
    resilience: {},
    limits: { all: { depth: 6 } },
    rateLimits: { plans: { anonymous: { rate: { limit: 2, windowSeconds: 60 } } } },
  });
  // Traffic through every subgraph and legacy system, so every labelled family has samples.
  const demo = 'query Demo { user(id: "u1") { name orders(first: 2) { status lines { product { name inStock reviews(first: 1) { rating } } } } } }';
  await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(await as('u1', { scopes: ['orders:read'] })) }, body: JSON.stringify({ query: demo }) });
  // An error, an operation over a limit, and anonymous requests past their rate: every refusal family has samples.
  const anonymous = (query: string) => fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  expect((await anonymous('{ nope }')).status).toBe(400);
  expect((await anonymous('{ user(id: "u1") { orders(first: 1) { lines { product { reviews(first: 1) { product { reviews(first: 1) { rating } } } } } } } }')).status).toBe(400);
  await anonymous('{ product(id: "p1") { name } }');
  expect((await anonymous('{ product(id: "p1") { name } }')).status).toBe(429);
  collect(await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text());
  for (const adapter of [stack.products, stack.inventory, stack.orders]) collect(await (await fetch(adapter.url.replace('/graphql', '/metrics'))).text());
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
  await stack?.stop();
});

/** The metric names and label matchers/groupings of a PromQL expression (enough for these files). */
function referenced(expr: string): { metrics: string[]; labels: string[] } {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const metrics = [...withoutStrings.matchAll(/\b((?:frontdesk|process|nodejs)_[a-z0-9_]+|up)\b(?!\s*\()/g)].map((m) => m[1]!);
  const labels = [
    ...[...withoutStrings.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*(?:=~|!=|!~|=)/g)].map((l) => l[1]!)),
    ...[...withoutStrings.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()).filter(Boolean)),
  ];
  return { metrics, labels };
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

function checkExpression(expr: string, where: string): void {
  expect(balanced(expr), `${where}: brackets`).toBe(true);
  const { metrics, labels } = referenced(expr);
  expect(metrics.length, `${where}: names a metric`).toBeGreaterThan(0);
  const known = new Set(['le', 'job', 'instance', 'service']);
  for (const metric of metrics) {
    if (PROMETHEUS_OWN.has(metric)) continue;
    const suffix = /_(bucket|count|sum)$/.exec(metric);
    const family = served.get(metric) ?? (suffix ? served.get(metric.slice(0, -suffix[0].length)) : undefined);
    expect(family, `${where}: ${metric} is served`).toBeDefined();
    if (suffix && !served.has(metric)) expect(family!.type, `${where}: ${metric}`).toBe('histogram');
    for (const label of family!.labels) known.add(label);
  }
  for (const label of labels) expect(known.has(label), `${where}: label ${label} exists on ${metrics.join(', ')}`).toBe(true);
}

describe('deploy/: dashboard and alert rules', () => {
  it('the Grafana dashboard: unique panels on the grid, each query on served metrics and labels', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string; refId: string }[] }[] };
    expect(dashboard.uid).toBe('frontdesk-gateway');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(15);
    for (const panel of graphs) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) checkExpression(target.expr.replace(/\$__rate_interval/g, '1m').replace(/\$job/g, '.*'), panel.title);
    }
  });

  it('the alert rules: named, with a severity, a summary and a duration, each on served metrics and labels', () => {
    const rules = parseYaml(readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: { alert: string; expr: string; for: string; labels: { severity: string }; annotations: { summary: string; description: string } }[] }[] };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(new Set(all.map((r) => r.alert)).size).toBe(all.length);
    for (const rule of all) {
      expect(rule.alert).toMatch(/^Frontdesk[A-Z]\w+$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(10);
      checkExpression(rule.expr, rule.alert);
    }
    // The scrape configuration loads these rules under the job names they use.
    const scrape = parseYaml(readFileSync(SCRAPE, 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string }[] };
    expect(scrape.rule_files).toEqual(['frontdesk-alerts.yaml']);
    expect(scrape.scrape_configs.map((s) => s.job_name).sort()).toEqual(['frontdesk-gateway', 'frontdesk-subgraphs']);
  });

  it('every metric family the gateway serves is documented in the README', () => {
    const readme = readFileSync(projectPath('README.md'), 'utf8');
    for (const name of served.keys()) if (name.startsWith('frontdesk_')) expect(readme, name).toContain(name);
  });
});
