/**
 * Headless Chromium for the benchmark: the test support's binary and flags, on a fresh persistent
 * profile. Persistent (not incognito) so OPFS lives on disk, as it does
 * for users; incognito profiles keep OPFS in memory and would flatter every file-backed number.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumArgs, findChromium } from '../test/support/browser.js';

export interface BenchBrowser {
  readonly context: BrowserContext;
  /** Opens `url` in a new tab and waits until the page says it is ready (`window[readyFlag]`). */
  openPage(url: string, readyFlag?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBenchBrowser(): Promise<BenchBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'walsync-bench-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: findChromium(),
    headless: true,
    args: chromiumArgs,
  });
  // tsx compiles with esbuild's keepNames, whose __name() helper can ride along into page.evaluate().
  await context.addInitScript('globalThis.__name = (f) => f;');
  return {
    context,
    async openPage(url, readyFlag = 'walsyncReady') {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('[page error]', e.message));
      await page.goto(url);
      await page.waitForFunction((flag) => (globalThis as Record<string, unknown>)[flag] !== undefined, readyFlag);
      return page;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
