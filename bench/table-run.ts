/**
 * What each `bench/*-run.ts` shares: build and serve the bench pages, open one fresh page in a bench
 * browser, measure one table, print it with the Chromium version and the load average around it.
 */
import { cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { type BenchBrowser, launchBenchBrowser } from './browser.js';
import { type ServedPages, buildAndServePages } from './serve-pages.js';

/** Runs `measure` on a fresh bench page (bench files removed first) and prints what it returns. */
export async function runBenchTable(measure: (page: Page, browser: BenchBrowser, pages: ServedPages) => Promise<string>): Promise<void> {
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const pages = await buildAndServePages();
  const browser = await launchBenchBrowser();
  try {
    const page = await browser.openPage(pages.url('bench'));
    await page.evaluate(() => window.bench.removeBenchFiles());
    const table = await measure(page, browser, pages);
    console.log(`\nChromium ${browser.context.browser()?.version() ?? 'unknown'}; ${cpus().length} CPUs; 1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end`);
    console.log(table);
    await page.close();
  } finally {
    await browser.close();
    await pages.close();
  }
}
