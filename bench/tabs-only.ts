/** `node --import tsx bench/tabs-only.ts`: only the several-tabs rows of `npm run bench` (quicker to rerun). */
import { cpus, loadavg } from 'node:os';
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import { formatTabs, measureTabs } from './tabs.js';

const pages = await buildAndServePages();
const browser = await launchBenchBrowser();
try {
  const before = loadavg()[0]!.toFixed(2);
  const figures = await measureTabs(browser, pages);
  console.log(`${cpus().length} CPUs; 1-minute load average ${before} at start, ${loadavg()[0]!.toFixed(2)} at end`);
  console.log(formatTabs(figures));
} finally {
  await browser.close();
  await pages.close();
}
