/**
 * The call-cost table alone (`node --import tsx bench/calls-run.ts`): the same measurement
 * `npm run bench` prints, without the rest of the benchmark, for quick work on the call path.
 */
import { loadavg } from 'node:os';
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import { formatCalls, measureCalls, type CallsOptions } from './calls.js';

const OPTIONS: CallsOptions = { pointSelects: 10_000, inserts: 100_000, perCallSamples: 10_000, runs: 2 };

const loadAtStart = loadavg()[0]!.toFixed(1);
const pages = await buildAndServePages();
const browser = await launchBenchBrowser();
try {
  const page = await browser.openPage(pages.url('bench'));
  await page.evaluate(() => window.bench.removeBenchFiles());
  const results = await measureCalls(page, OPTIONS);
  console.log(`\nChromium ${browser.context.browser()?.version() ?? 'unknown'}; 1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end`);
  console.log(formatCalls(results, OPTIONS));
  await page.close();
} finally {
  await browser.close();
  await pages.close();
}
