/**
 * The library's folders import one way only: contract → vfs/sql → protocol → the local database
 * (worker/*.ts) → cdc → engine → worker host → facade (src/). A file may import its own folder and
 * any layer before it, never a later one: that keeps each layer testable without those above it.
 * Ports follow the same rule: a port is declared beside its implementation, in the lower layer
 * (SyncRemote in protocol/, ChangeCapture in cdc/), and the engine uses it from there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Layers in order; a file belongs to the first whose test matches its repo-relative path. */
const LAYERS: readonly { readonly name: string; readonly has: (path: string) => boolean }[] = [
  { name: 'contract', has: (p) => p.startsWith('contract/') },
  { name: 'worker/vfs, worker/sql', has: (p) => p.startsWith('worker/vfs/') || p.startsWith('worker/sql/') },
  { name: 'worker/protocol', has: (p) => p.startsWith('worker/protocol/') },
  {
    name: 'the local database (worker/*.ts but the host)',
    has: (p) => /^worker\/[^/]+\.ts$/.test(p) && !isHost(p),
  },
  { name: 'worker/cdc', has: (p) => p.startsWith('worker/cdc/') },
  { name: 'worker/engine', has: (p) => p.startsWith('worker/engine/') },
  { name: 'the worker host', has: isHost },
  { name: 'src (facade)', has: (p) => p.startsWith('src/') },
];

function isHost(path: string): boolean {
  return path === 'worker/worker-host.ts' || path === 'worker/serve-host.ts' || path === 'worker/index.ts';
}

function layerOf(path: string): number {
  const i = LAYERS.findIndex((l) => l.has(path));
  assert.notEqual(i, -1, `${path} belongs to no layer`);
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import (static, dynamic, re-export) of a file, as repo-relative .ts paths. */
function importsOf(path: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(root, resolve(root, dirname(path), m[1]!)).split('\\').join('/');
    out.push(target.replace(/\.js$/, '.ts'));
  }
  return out;
}

/** Import edges that point to a later layer than the importing file's. */
function backEdges(): string[] {
  const files = ['contract', 'worker', 'src'].flatMap(sourceFiles);
  const back: string[] = [];
  for (const file of files) {
    for (const target of importsOf(file, readFileSync(join(root, file), 'utf8'))) {
      const from = layerOf(file);
      const to = layerOf(target);
      if (to > from) back.push(`${file} (${LAYERS[from]!.name}) imports ${target} (${LAYERS[to]!.name})`);
    }
  }
  return back;
}

test('the library folders import one way only (no back-edges)', () => {
  assert.deepEqual(backEdges(), []);
});

test('the check sees a back-edge: a cdc file importing the engine', () => {
  const edges = importsOf('worker/cdc/x.ts', "import type { A } from '../engine/sync-engine.js';\nexport { B } from './y.js';");
  assert.deepEqual(edges, ['worker/engine/sync-engine.ts', 'worker/cdc/y.ts']);
  assert.ok(layerOf(edges[0]!) > layerOf('worker/cdc/x.ts'));
});
