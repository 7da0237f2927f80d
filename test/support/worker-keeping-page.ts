/**
 * A test tab that keeps every Worker the library starts in `window.startedWorkers`, so a test can
 * terminate one as the browser would (out of memory, devtools) behind the library's back.
 */
import type { Page } from 'playwright-core';
import type { BrowserSession } from '../../scripts/browser.js';

declare global {
  interface Window {
    /** Every Worker this tab started, oldest first (set by openWorkerKeepingPage). */
    startedWorkers?: Worker[];
  }
}

/** Opens `url` in a new tab whose Workers are kept, and waits for the page's `walsyncReady`. */
export async function openWorkerKeepingPage(session: BrowserSession, url: string): Promise<Page> {
  const page = await session.newPage(url);
  // Installed before the page's scripts run (hence the reload), as the library starts its first
  // worker on import.
  await page.addInitScript(() => {
    const workers: Worker[] = [];
    window.startedWorkers = workers;
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        workers.push(this);
      }
    };
  });
  await page.reload();
  await page.waitForFunction(() => (window as unknown as { walsyncReady?: boolean }).walsyncReady !== undefined);
  return page;
}
