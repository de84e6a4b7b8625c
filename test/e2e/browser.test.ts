/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../subgraphs/shared/paths.js';
import { as, asAdmin, startStack, testToken, type Stack } from '../support/stack.js';

/**
 * The gateway's own pages in headless Chromium (Debian's, installed by .ci/run) with every request
 * to anything but this machine refused, as on a network without internet: the explorer falls back
 * to GraphiQL and runs the demo query; the status page draws its charts and tables.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = projectPath('test-results', 'screenshots');

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
/** Requests the page tried to send off this machine (refused). */
const outside: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ gateway: { graphql: { landingPage: true, explorer: 'auto' }, metrics: {}, usage: {}, responseCache: {}, resilience: {} } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1' || host === 'localhost') return route.continue();
    outside.push(route.request().url());
    return route.abort('internetdisconnected');
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function openPage(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(new URL(path, stack.gateway.url).toString());
  return { page, errors };
}

describe('explorer offline', () => {
  it('falls back to GraphiQL from the gateway, runs the demo query with the Authorization header and shows its data', async () => {
    outside.length = 0;
    const { page, errors } = await openPage('/graphql');
    await page.waitForSelector('html[data-explorer="graphiql"]', { timeout: 15_000 });
    await page.waitForSelector('.graphiql-container .CodeMirror');
    expect(await page.textContent('#explorer-note')).toMatch(/Apollo Sandbox is out of reach/);
    // Only Apollo's CDN was tried (and refused); GraphiQL, React and the styles came from the gateway.
    expect(outside.length).toBeGreaterThan(0);
    for (const url of outside) expect(new URL(url).hostname).toMatch(/\.apollographql\.com$/);
    const query = await page.evaluate(() => (document.querySelector('.graphiql-query-editor .CodeMirror') as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
    expect(query).toContain('query Demo');
    // The Authorization field is there to fill in: put the caller's token in it.
    const token = await testToken('u1', { scopes: ['orders:read'] });
    const headers = await page.evaluate((value) => {
      type Editor = { getValue(): string; setValue(v: string): void };
      const editors = Array.from(document.querySelectorAll('.graphiql-editor-tool .CodeMirror')).map((e) => (e as unknown as { CodeMirror: Editor }).CodeMirror);
      const editor = editors.find((e) => e.getValue().includes('Authorization'));
      if (!editor) return '';
      const before = editor.getValue();
      editor.setValue(before.replace('Bearer ', `Bearer ${value}`));
      return before;
    }, token);
    expect(JSON.parse(headers)).toEqual({ Authorization: 'Bearer ' });
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(() => /"orders"/.test(document.querySelector('.result-window')?.textContent ?? ''), undefined, { timeout: 15_000 });
    const result = (await page.textContent('.result-window')) ?? '';
    expect(result).toContain('"name"');
    expect(result).toContain('"inStock"');
    expect(result).not.toContain('"errors"');
    await page.screenshot({ path: `${SHOTS}/explorer.png` });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('status page', () => {
  it('draws charts, the subgraph table and recent errors from the admin data; loads nothing from elsewhere', async () => {
    const signedIn = await as('u1', { scopes: ['orders:read'] });
    for (let i = 0; i < 20; i += 1) {
      await fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', 'apollographql-client-name': i % 2 ? 'web' : 'ios', ...signedIn }, body: JSON.stringify({ query: `query Shelf${i % 3} { products(first: 3) { name inStock } }` }) });
    }
    await fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query Anonymous { me { id } }' }) });
    outside.length = 0;
    const admin = (await asAdmin()).authorization!.replace(/^Bearer /, '');
    const { page, errors } = await openPage(`/status#token=${admin}`);
    await page.waitForSelector('#chart-rate .uplot canvas', { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('#subgraphs tbody tr').length >= 5);
    const subgraphs = await page.$$eval('#subgraphs tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
    expect(new Set(subgraphs)).toEqual(new Set(['accounts', 'inventory', 'orders', 'products', 'reviews']));
    expect(await page.$$eval('.uplot canvas', (canvases) => canvases.length)).toBe(3);
    expect(await page.textContent('#operations')).toMatch(/Shelf[012]/);
    expect(await page.textContent('#errors')).toContain('UNAUTHENTICATED');
    expect(await page.textContent('#tiles')).toMatch(/p95/);
    // The successful Shelf queries are not errors; the anonymous `me` is.
    expect(await page.textContent('#errors')).not.toContain('Shelf');
    await page.screenshot({ path: `${SHOTS}/status.png`, fullPage: true });
    await page.click('#tab-usage');
    await page.waitForFunction(() => document.querySelectorAll('#usage tbody tr td').length > 1);
    expect(await page.textContent('#usage')).toContain('user:u1');
    await page.screenshot({ path: `${SHOTS}/usage.png` });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows nothing without the admin credential', async () => {
    const { page } = await openPage('/status');
    await page.waitForFunction(() => (document.getElementById('message')?.textContent ?? '') !== '');
    expect(await page.textContent('#message')).toMatch(/admin token/);
    expect(await page.$$eval('#subgraphs tbody tr', (rows) => rows.length)).toBe(0);
    await page.close();
  });
});
