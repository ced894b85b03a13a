// Runs the graphql-http server audits against a real `chronicle serve`.
// Fails on any error, and on any warning whose id SECURITY.md does not
// justify (its "Justified graphql-http audit results" section).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditServer } from 'graphql-http';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.CHRONICLE_BIN || join(root, 'target', 'debug', 'chronicle');

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

function justified() {
  const text = readFileSync(join(root, 'SECURITY.md'), 'utf8');
  const start = text.indexOf('## Justified graphql-http audit results');
  if (start < 0) return new Set();
  const rest = text.slice(start + 3);
  const end = rest.indexOf('\n## ');
  const section = end < 0 ? rest : rest.slice(0, end);
  return new Set([...section.matchAll(/`([0-9A-Z]{4})`/g)].map((m) => m[1]));
}

async function waitReady(url, deadlineMs, server) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`chronicle exited with ${server.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready within ${deadlineMs} ms`);
}

async function stop(server) {
  if (server.exitCode !== null) return;
  server.kill('SIGTERM');
  const exited = new Promise((r) => server.once('exit', r));
  const timeout = new Promise((r) => setTimeout(() => r('timeout'), 15000));
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    server.kill('SIGKILL');
    throw new Error('chronicle did not stop within 15 s of SIGTERM');
  }
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'chronicle-audit-'));
const server = spawn(
  bin,
  ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', `sqlite://${join(dir, 'x.db')}?mode=rwc`],
  { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' } },
);
let failed = false;
try {
  await waitReady(`http://127.0.0.1:${port}/readyz`, 60000, server);
  const results = await auditServer({ url: `http://127.0.0.1:${port}/graphql` });
  const allowed = justified();
  const counts = { ok: 0, warn: 0, notice: 0, error: 0 };
  for (const r of results) {
    counts[r.status] = (counts[r.status] || 0) + 1;
    if (r.status === 'ok') continue;
    const excused = r.status === 'notice' || (r.status === 'warn' && allowed.has(r.id));
    const tag = excused ? (r.status === 'notice' ? 'notice' : 'justified') : 'FAIL';
    console.log(`${tag.padEnd(9)} ${r.status.padEnd(6)} ${r.id} ${r.name}${r.reason ? ` — ${r.reason}` : ''}`);
    if (!excused) failed = true;
  }
  console.log(`graphql-http audits: ${counts.ok} ok, ${counts.warn} warn, ${counts.notice} notice, ${counts.error} error`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  try {
    await stop(server);
  } catch (e) {
    console.error(e.message);
    failed = true;
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
