/**
 * The setting of a browser test file that needs no sync server: the Vite dev server and a fresh
 * Chromium profile, started before the file's tests and stopped after them. Each test opens its
 * own tab (`openPage()`), so one test's page state never leaks into the next.
 */
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import { type BrowserSession, launchBrowser, startDevServer } from '../../scripts/browser.js';

/** The page with `window.walsync` and `window.kit` loaded. */
export const TEST_PAGE = '/test/browser/pages/index.html';

export interface LocalTestBrowser {
  /** The browser; its fields are set once `before` has run. */
  readonly session: BrowserSession;
  /** Where the dev server serves the repository (`http://localhost:PORT`). */
  readonly baseUrl: string;
  /** Opens a new tab on `pagePath` and waits for the page's `readyFlag`. */
  openPage(pagePath?: string, readyFlag?: string): Promise<Page>;
}

/** Registers before/after hooks; the returned object's fields are set once `before` has run. */
export function useLocalTestBrowser(): LocalTestBrowser {
  const env = {
    openPage(pagePath = TEST_PAGE, readyFlag?: string) {
      return env.session.newPage(env.baseUrl + pagePath, readyFlag);
    },
  } as { -readonly [K in keyof LocalTestBrowser]: LocalTestBrowser[K] };
  let stopDev: (() => Promise<void>) | undefined;
  before(async () => {
    const dev = await startDevServer();
    env.baseUrl = dev.url;
    stopDev = () => dev.server.close();
    env.session = await launchBrowser();
  });
  after(async () => {
    await env.session?.close();
    await stopDev?.();
  });
  return env;
}
