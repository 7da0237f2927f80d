/**
 * Cold start from navigation: a new tab loads pages/cold-start.html, which connects to an existing
 * database of 10k rows and runs one query. The HTTP cache is warm (a returning visitor: one unmeasured
 * load first). Reports the median of each step of the split, in ms since navigation start, next to
 * the floor taken in the same run: the smallest plain sqlite-wasm app (pages/load-sqlite-wasm.html:
 * a worker that loads SQLite, opens an opfs-sahpool database and runs `SELECT 1`), loaded the same way.
 */
import type { Page } from 'playwright-core';
import type { BenchBrowser } from './browser.js';
import type { ColdStartSplit } from './pages/cold-start.js';
import type { ServedPages } from './serve-pages.js';
import { median } from './stats.js';

export type ColdVariant = 'opfs' | 'opfs-synced';
/** The floor's split: its module ran, its first query result arrived (ms since navigation start). */
export interface FloorSplit {
  readonly moduleReady: number;
  readonly firstResult: number;
}
export type ColdStartResults = Record<ColdVariant, ColdStartSplit> & { floor: FloorSplit };
const STEPS = ['moduleReady', 'workerReady', 'wasmReady', 'open', 'connected', 'firstResult'] as const;

async function loadOnce(browser: BenchBrowser, pages: ServedPages, path: string, synced: boolean): Promise<ColdStartSplit> {
  const url = `${pages.url('coldStart')}?path=${encodeURIComponent(path)}${synced ? '&synced=1' : ''}`;
  const tab = await browser.openPage(url, 'coldStart');
  try {
    const split = await tab.evaluate(() => window.coldStart!);
    if ('error' in split) throw new Error(`cold start page failed: ${split.error}`);
    return split;
  } finally {
    await tab.close();
  }
}

async function loadFloorOnce(browser: BenchBrowser, pages: ServedPages): Promise<FloorSplit> {
  const tab = await browser.openPage(pages.url('loadSqliteWasm'), 'benchLoaded');
  try {
    const loaded = await tab.evaluate(() => window.benchLoaded!);
    if (!loaded.ok) throw new Error('the sqlite-wasm floor page did not get its query result');
    return { moduleReady: loaded.moduleReady, firstResult: loaded.firstResult };
  } finally {
    await tab.close();
  }
}

export async function measureColdStartSplit(
  browser: BenchBrowser,
  pages: ServedPages,
  setupPage: Page,
  options: { rows: number; runs: number },
): Promise<ColdStartResults> {
  const result = {} as ColdStartResults;
  await loadFloorOnce(browser, pages); // warms the HTTP cache
  const floors: FloorSplit[] = [];
  for (let i = 0; i < options.runs; i++) {
    floors.push(await loadFloorOnce(browser, pages));
    process.stdout.write(`  cold start from navigation [floor: plain sqlite-wasm] run ${i + 1}: ${floors[i]!.firstResult.toFixed(0)} ms\n`);
  }
  result.floor = { moduleReady: median(floors.map((f) => f.moduleReady)), firstResult: median(floors.map((f) => f.firstResult)) };
  for (const variant of ['opfs', 'opfs-synced'] as const) {
    const path = await setupPage.evaluate(([s, n]) => window.bench.prepareColdStart(s, n), [variant, options.rows] as const);
    await loadOnce(browser, pages, path, variant === 'opfs-synced'); // warms the HTTP cache
    const runs: ColdStartSplit[] = [];
    for (let i = 0; i < options.runs; i++) {
      runs.push(await loadOnce(browser, pages, path, variant === 'opfs-synced'));
      process.stdout.write(`  cold start from navigation [${variant}] run ${i + 1}: ${runs[i]!.firstResult.toFixed(0)} ms\n`);
    }
    result[variant] = Object.fromEntries(STEPS.map((step) => [step, median(runs.map((r) => r[step]))])) as unknown as ColdStartSplit;
  }
  await setupPage.evaluate(() => window.bench.removeBenchFiles());
  return result;
}

export function formatColdStartSplit(split: ColdStartResults, target: number): string {
  const floor = split.floor;
  const lines = [
    'Cold start from navigation to the first query result (repeat visit, database of 10k rows), medians in ms since navigation start:',
    `  floor, plain sqlite-wasm (opfs-sahpool, SELECT 1 on an empty database): moduleReady ${floor.moduleReady.toFixed(0)} → firstResult ${floor.firstResult.toFixed(0)}`,
  ];
  for (const variant of ['opfs', 'opfs-synced'] as const) {
    const s = split[variant];
    const steps = STEPS.map((step) => `${step} ${s[step].toFixed(0)}`).join(' → ');
    const ratio = `${(s.firstResult / floor.firstResult).toFixed(2)}× floor`;
    lines.push(`  ${variant === 'opfs' ? 'local' : 'synced (no server)'}: ${steps}  (${ratio}; target ≤ ${target} ms: ${s.firstResult <= target ? 'pass' : 'MISS'})`);
  }
  return lines.join('\n');
}
