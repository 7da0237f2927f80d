/**
 * Cold start from navigation: a new tab loads pages/cold-start.html, which connects to an existing
 * database of 10k rows and runs one query. The HTTP cache is warm (a returning visitor: one unmeasured
 * load first). Reports the median of each step of the split, in ms since navigation start.
 */
import type { Page } from 'playwright-core';
import type { BenchBrowser } from './browser.js';
import type { ColdStartSplit } from './pages/cold-start.js';
import type { ServedPages } from './serve-pages.js';
import { median } from './stats.js';

export type ColdVariant = 'opfs' | 'opfs-synced';
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

export async function measureColdStartSplit(
  browser: BenchBrowser,
  pages: ServedPages,
  setupPage: Page,
  options: { rows: number; runs: number },
): Promise<Record<ColdVariant, ColdStartSplit>> {
  const result = {} as Record<ColdVariant, ColdStartSplit>;
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

export function formatColdStartSplit(split: Record<ColdVariant, ColdStartSplit>, target: number): string {
  const lines = ['Cold start from navigation to the first query result (repeat visit, database of 10k rows), medians in ms since navigation start:'];
  for (const [variant, s] of Object.entries(split) as [ColdVariant, ColdStartSplit][]) {
    const steps = STEPS.map((step) => `${step} ${s[step].toFixed(0)}`).join(' → ');
    lines.push(`  ${variant === 'opfs' ? 'local' : 'synced (no server)'}: ${steps}  (target ≤ ${target} ms: ${s.firstResult <= target ? 'pass' : 'MISS'})`);
  }
  return lines.join('\n');
}
