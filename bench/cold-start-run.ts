/**
 * `node --import tsx bench/cold-start-run.ts [runs]`: only the "Cold start from navigation" rows of
 * `npm run bench` (quicker to rerun), with the load average around them.
 */
import { cpus, loadavg } from 'node:os';
import { launchBenchBrowser } from './browser.js';
import { formatColdStartSplit, measureColdStartSplit } from './cold-start-split.js';
import { buildAndServePages } from './serve-pages.js';

const ROWS = 10_000;
const TARGET_MS = 150;
const runs = Number(process.argv[2] ?? 5);

const pages = await buildAndServePages();
const browser = await launchBenchBrowser();
try {
  const before = loadavg()[0]!.toFixed(2);
  const setup = await browser.openPage(pages.url('bench'));
  await setup.evaluate(() => window.bench.removeBenchFiles());
  const split = await measureColdStartSplit(browser, pages, setup, { rows: ROWS, runs });
  console.log(`${cpus().length} CPUs; 1-minute load average ${before} at start, ${loadavg()[0]!.toFixed(2)} at end`);
  console.log(formatColdStartSplit(split, TARGET_MS));
} finally {
  await browser.close();
  await pages.close();
}
