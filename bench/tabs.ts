/**
 * Several tabs on one database (issue 11): a second tab's open (it follows the first) against the
 * first tab's open (it leads: starts its worker and opens the files), and a point select's cost in
 * the follower (a port round trip to the leader's worker) against the leader. Fresh tabs each run,
 * both pages loaded before the first connect; the second connects after the first has finished.
 */
import type { BenchBrowser } from './browser.js';
import type { ServedPages } from './serve-pages.js';
import { median } from './stats.js';

export interface TabsFigures {
  readonly firstOpenMs: number;
  readonly secondOpenMs: number;
  readonly leaderSelectMs: number;
  readonly followerSelectMs: number;
  readonly runs: number;
}

const ROWS = 1000;
const SELECTS = 2000;

export async function measureTabs(browser: BenchBrowser, pages: ServedPages, runs = 5): Promise<TabsFigures> {
  const first: number[] = [];
  const second: number[] = [];
  const leaderSelect: number[] = [];
  const followerSelect: number[] = [];
  for (let run = 0; run < runs; run++) {
    const path = `walsync-bench/tabs-${Date.now()}-${run}.db`;
    const setup = await browser.openPage(pages.url('bench'));
    await setup.evaluate(([p, n]) => window.bench.tabsPrepare(p, n), [path, ROWS] as const);
    await setup.close();
    const a = await browser.openPage(pages.url('bench'));
    const b = await browser.openPage(pages.url('bench'));
    try {
      first.push(await a.evaluate((p) => window.bench.tabsOpen(p), path));
      second.push(await b.evaluate((p) => window.bench.tabsOpen(p), path));
      // Interleaved, twice each: the machine's load drifts.
      for (let k = 0; k < 2; k++) {
        leaderSelect.push((await a.evaluate(([p, n]) => window.bench.tabsPointSelects(p, n), [path, SELECTS] as const)) / SELECTS);
        followerSelect.push((await b.evaluate(([p, n]) => window.bench.tabsPointSelects(p, n), [path, SELECTS] as const)) / SELECTS);
      }
      await b.evaluate((p) => window.bench.tabsClose(p), path);
      await a.evaluate(async (p) => {
        await window.bench.tabsClose(p);
        await window.bench.removeBenchFiles();
      }, path);
    } finally {
      await b.close();
      await a.close();
    }
    process.stdout.write(`  several tabs run ${run + 1}: first open ${first.at(-1)!.toFixed(0)} ms, second ${second.at(-1)!.toFixed(0)} ms\n`);
  }
  return {
    firstOpenMs: median(first),
    secondOpenMs: median(second),
    leaderSelectMs: median(leaderSelect),
    followerSelectMs: median(followerSelect),
    runs,
  };
}

export function formatTabs(f: TabsFigures): string {
  const openExtra = f.secondOpenMs - f.firstOpenMs;
  const selectExtra = f.followerSelectMs - f.leaderSelectMs;
  return [
    `Several tabs (medians of ${f.runs} runs, fresh tabs; the second connects once the first has opened):`,
    `  second tab's open (follower) ${f.secondOpenMs.toFixed(0)} ms vs the first's (leader) ${f.firstOpenMs.toFixed(0)} ms: ${openExtra >= 0 ? '+' : ''}${openExtra.toFixed(0)} ms (target ≤ +50 ms: ${openExtra <= 50 ? 'pass' : 'MISS'})`,
    `  point select by PK, per get(): follower ${(f.followerSelectMs * 1000).toFixed(0)} µs vs leader ${(f.leaderSelectMs * 1000).toFixed(0)} µs: ${selectExtra >= 0 ? '+' : ''}${(selectExtra * 1000).toFixed(0)} µs (target ≤ +2 ms: ${selectExtra <= 2 ? 'pass' : 'MISS'})`,
  ].join('\n');
}
