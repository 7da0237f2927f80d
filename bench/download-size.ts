/**
 * Bytes a cold page load downloads to get its first query result: every response body (HTML, JS,
 * the worker scripts, sqlite3.wasm) the server sends for a page loaded with an empty HTTP cache.
 * Vite's preview server gzips JS and HTML but sends the .wasm as is, so the files' raw size and
 * their size if all were gzipped (level 9) are given too.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { BrowserContext } from 'playwright-core';
import type { ServedPages, ServedResponse } from './serve-pages.js';

export interface DownloadSize {
  /** Response bodies as the server sent them (JS/HTML gzipped, wasm raw), bytes. */
  readonly transferred: number;
  /** The same files uncompressed, bytes. */
  readonly raw: number;
  /** The same files, every one gzip-compressed (level 9), bytes. */
  readonly gzipped: number;
  /** Every response, largest first. */
  readonly files: readonly ServedResponse[];
}

/** Loads a load page in a new tab after clearing the HTTP cache; the page sets `window.benchLoaded`. */
export async function measureDownload(context: BrowserContext, pages: ServedPages, which: 'loadWalsync' | 'loadSqliteWasm'): Promise<DownloadSize> {
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
    pages.takeServedResponses();
    await page.goto(pages.url(which));
    await page.waitForFunction(() => window.benchLoaded !== undefined);
    const loaded = await page.evaluate(() => window.benchLoaded);
    if (!loaded?.ok) throw new Error(`${which}: the page's first query did not return the expected row`);
    // The browser's own favicon probe is not part of the app.
    const files = pages
      .takeServedResponses()
      .filter((f) => f.path !== '/favicon.ico')
      .sort((a, b) => b.bodyBytes - a.bodyBytes);
    const failed = files.find((f) => f.status !== 200);
    if (failed) throw new Error(`${which}: ${failed.path} answered ${failed.status}`);
    const contents = files.map((f) => readFileSync(pages.filePath(f.path)));
    return {
      transferred: files.reduce((sum, f) => sum + f.bodyBytes, 0),
      raw: contents.reduce((sum, c) => sum + c.length, 0),
      gzipped: contents.reduce((sum, c) => sum + gzipSync(c, { level: 9 }).length, 0),
      files,
    };
  } finally {
    await page.close();
  }
}
