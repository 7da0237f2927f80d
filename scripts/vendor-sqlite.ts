/**
 * Build step after tsc (`npm run build`): gives the published worker its own copy of sqlite-wasm's
 * module and wasm file (dist/worker/sqlite-wasm/), with the two helper-worker URLs that walsync
 * never uses taken out of bundlers' sight. sqlite-wasm's module names `sqlite3-worker1.mjs` and
 * `sqlite3-opfs-async-proxy.js` as `new URL(…, import.meta.url)`, so every app bundling it got
 * both emitted as chunks (248 KB) although walsync switches those VFSes and workers off. Here they
 * resolve against the page location instead: the code that would use them never runs, and Vite no
 * longer sees them. Fails the build if sqlite-wasm's text changes so that a rewrite no longer applies.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const require = createRequire(import.meta.url);
const sqliteDir = dirname(require.resolve('@sqlite.org/sqlite-wasm/package.json'));
const outDir = join(repoRoot, 'dist/worker/sqlite-wasm');

/** Each rewrite must apply exactly once. */
const rewrites: [string, string][] = [
  ['new URL("sqlite3-opfs-async-proxy.js", import.meta.url)', 'new URL("sqlite3-opfs-async-proxy.js", globalThis.location.href)'],
  ['new Worker(new URL("sqlite3-worker1.mjs", import.meta.url)', 'new Worker(new URL("sqlite3-worker1.mjs", globalThis.location.href)'],
];

let text = readFileSync(join(sqliteDir, 'dist/index.mjs'), 'utf8');
for (const [from, to] of rewrites) {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`vendor-sqlite: expected "${from}" once in @sqlite.org/sqlite-wasm, found it ${count} times`);
  text = text.replace(from, to);
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'index.mjs'), text);
copyFileSync(join(sqliteDir, 'dist/sqlite3.wasm'), join(outDir, 'sqlite3.wasm'));
const { version, license } = JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')) as { version: string; license: string };
writeFileSync(
  join(outDir, 'NOTICE'),
  `@sqlite.org/sqlite-wasm ${version} (${license}; SQLite itself is in the public domain), from npm, with the two\n` +
    `helper-worker URLs rewritten by walsync's scripts/vendor-sqlite.ts. https://github.com/sqlite/sqlite-wasm\n`,
);

// The worker loads the copy (the package stays a dependency: the .d.ts files use its types).
const modulePath = join(repoRoot, 'dist/worker/sqlite-module.js');
const moduleText = readFileSync(modulePath, 'utf8');
const importFrom = "from '@sqlite.org/sqlite-wasm'";
if (moduleText.split(importFrom).length - 1 !== 1) throw new Error(`vendor-sqlite: expected one ${importFrom} in ${modulePath}`);
writeFileSync(modulePath, moduleText.replace(importFrom, "from './sqlite-wasm/index.mjs'"));

// The worker's wasm prefetch (worker/sqlite-wasm-prefetch.ts) names the package's sqlite3.wasm by
// its place in this repo: point it at the copy beside the vendored module instead.
const prefetchPath = join(repoRoot, 'dist/worker/sqlite-wasm-prefetch.js');
const prefetchText = readFileSync(prefetchPath, 'utf8');
const wasmFrom = "'../node_modules/@sqlite.org/sqlite-wasm/dist/sqlite3.wasm'";
if (prefetchText.split(wasmFrom).length - 1 !== 1) throw new Error(`vendor-sqlite: expected one ${wasmFrom} in ${prefetchPath}`);
writeFileSync(prefetchPath, prefetchText.replace(wasmFrom, "'./sqlite-wasm/sqlite3.wasm'"));
