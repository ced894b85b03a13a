// Fails when src/gql/ is not what `npm run codegen` would write today from
// ../schema.graphql and the operations in src/: generates into a temporary
// folder and compares file by file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const committed = 'src/gql';
const fresh = mkdtempSync(join(tmpdir(), 'chronicle-codegen-'));
try {
  execFileSync('node_modules/.bin/graphql-codegen', ['--config', 'codegen.ts', '--silent'], {
    env: { ...process.env, CODEGEN_OUT: `${fresh}/` },
    stdio: 'inherit',
  });
  const names = new Set([...readdirSync(committed), ...readdirSync(fresh)]);
  const stale = [];
  for (const name of [...names].sort()) {
    let a = null;
    let b = null;
    try { a = readFileSync(join(committed, name), 'utf8'); } catch {}
    try { b = readFileSync(join(fresh, name), 'utf8'); } catch {}
    if (a !== b) stale.push(name);
  }
  if (stale.length > 0) {
    console.error(`web/src/gql is stale (${stale.join(', ')} differ from a fresh codegen).`);
    console.error('Run `npm --prefix web run codegen` and commit the result.');
    process.exit(1);
  }
  console.log('codegen: src/gql is up to date');
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
