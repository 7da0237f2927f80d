/**
 * Headless Chromium for the benchmark: the test support's browser (its binary, flags and a fresh
 * persistent profile, so OPFS lives on disk as it does for users; an incognito profile would keep
 * OPFS in memory and flatter every file-backed number).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../scripts/browser.js';

export interface BenchBrowser {
  readonly context: BrowserContext;
  /** Opens `url` in a new tab and waits until the page says it is ready (`window[readyFlag]`). */
  openPage(url: string, readyFlag?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBenchBrowser(): Promise<BenchBrowser> {
  const session = await launchBrowser();
  return { context: session.context, openPage: (url, readyFlag) => session.newPage(url, readyFlag), close: () => session.close() };
}
