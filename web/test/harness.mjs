// Test harness: the real server binary on a free port over a fresh SQLite
// database, headless Debian Chromium through playwright-core, HS256 tokens.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = resolve(here, '..');
export const screenshots = join(webDir, 'screenshots');

/** The server binary: CHRONICLE_BIN, or the debug build `cargo test` makes. */
export const binary = resolve(process.env.CHRONICLE_BIN ?? join(webDir, '..', 'target', 'debug', 'chronicle'));
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Waits until `check()` is truthy, or throws after `ms`. */
export async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `chronicle serve` on 127.0.0.1:<free port> with a new SQLite file;
 * resolves once /readyz answers. `secret` turns authentication on.
 */
export async function startServer({ secret } = {}) {
  if (!existsSync(binary)) {
    throw new Error(`no server binary at ${binary}: run \`cargo build\` first (or set CHRONICLE_BIN)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'chronicle-web-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' };
  delete env.CHRONICLE_JWT_SECRET;
  delete env.DATABASE_URL;
  delete env.CHRONICLE_ADDR;
  if (secret) env.CHRONICLE_JWT_SECRET = secret;
  const logPath = join(dir, 'server.log');
  const log = openSync(logPath, 'w');
  const child = spawn(
    binary,
    ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', `sqlite://${dir}/x.db?mode=rwc`],
    { env, stdio: ['ignore', log, log] },
  );
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  try {
    await until('the server to be ready', async () => {
      if (exited) throw new Error('exited');
      const r = await fetch(`${url}/readyz`);
      return r.ok;
    });
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`the server did not become ready (${exited ? `exited ${JSON.stringify(exited)}` : e.message}):\n${readFileSync(logPath, 'utf8')}`);
  }
  if (exited) throw new Error(`the server exited: ${readFileSync(logPath, 'utf8')}`);
  return {
    url,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => readFileSync(logPath, 'utf8'),
  };
}

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** An HS256 JWT with claims sub, role, customer_id and exp (an hour). */
export function token(secret, { sub, role, customer_id }) {
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url({ sub, role, customer_id, exp: Math.floor(Date.now() / 1000) + 3600 });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** POSTs GraphQL to the server; throws on errors. */
export async function gql(server, query, variables = {}, bearer) {
  const headers = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const r = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export async function createOrder(server, customerId, bearer) {
  const data = await gql(
    server,
    'mutation($input: CreateOrderInput!) { createOrder(input: $input) { aggregateId version } }',
    {
      input: {
        customerId,
        items: [
          { sku: 'A', name: 'Apple', unitPrice: '10.00', quantity: 2 },
          { sku: 'B', name: 'Banana', unitPrice: '5.25', quantity: 1 },
        ],
      },
    },
    bearer,
  );
  return data.createOrder.aggregateId;
}

/**
 * Headless Chromium with a fresh profile. Console errors and failed
 * requests of every page are collected in `problems`.
 */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'chronicle-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(15_000);
  const problems = [];
  const watch = (page) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Failed responses are reported with their URL below.
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(`console: ${m.text()}`));
    page.on('response', (r) => {
      // Browsers ask for /favicon.ico on their own; GraphiQL's page names none.
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  return {
    context,
    problems,
    /** A page; the first reuses the tab the browser opened with. */
    async page() {
      const first = context.pages()[0];
      if (first && !first.__taken) {
        first.__taken = true;
        return first;
      }
      return context.newPage();
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}
