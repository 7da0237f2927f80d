/**
 * The commit table alone (`node --import tsx bench/commits-run.ts`): the same measurement
 * `npm run bench` prints, without the rest of the benchmark, for quick work on the commit path.
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import { formatCommits, measureCommits, type CommitTableOptions } from './commits.js';

const OPTIONS: CommitTableOptions = { rows: 10_000, rowsPerRun: 2_000, capMs: 10_000, runs: 5 };

const loadAtStart = loadavg()[0]!.toFixed(1);
const pages = await buildAndServePages();
const browser = await launchBenchBrowser();
try {
  const page = await browser.openPage(pages.url('bench'));
  await page.evaluate(() => window.bench.removeBenchFiles());
  const { medians, notes } = await measureCommits(page, OPTIONS);
  console.log(`\nChromium ${browser.context.browser()?.version() ?? 'unknown'}; 1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end`);
  console.log(formatCommits(medians, OPTIONS.rows));
  if (notes.length > 0) console.log(`Runs stopped after ${OPTIONS.capMs / 1000} s: ${notes.join('; ')}.`);
  console.log(`/proc/loadavg: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  await page.close();
} finally {
  await browser.close();
  await pages.close();
}
