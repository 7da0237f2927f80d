/**
 * The setting of a browser sync test file: a real tursodb on a fresh database, the Vite dev server,
 * a fresh Chromium profile and one page, started before the file's tests and stopped after them.
 */
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import { startSyncServer, type SyncServer } from '../../scripts/sync-server.js';
import { type BrowserSession, launchBrowser, startDevServer } from '../../scripts/browser.js';

export interface SyncTestPage {
  /** The page, with `window.walsync` and `window.kit` loaded. */
  readonly page: Page;
  readonly server: SyncServer;
  readonly session: BrowserSession;
  /** Where the dev server serves the repository. */
  readonly baseUrl: string;
}

/** Registers before/after hooks; the returned object's fields are set once `before` has run. */
export function useSyncTestPage(pagePath = '/test/browser/pages/index.html'): SyncTestPage {
  const env = {} as { -readonly [K in keyof SyncTestPage]: SyncTestPage[K] };
  let stopDev: (() => Promise<void>) | undefined;
  before(async () => {
    env.server = await startSyncServer();
    const dev = await startDevServer();
    env.baseUrl = dev.url;
    stopDev = () => dev.server.close();
    env.session = await launchBrowser();
    env.page = await env.session.newPage(dev.url + pagePath);
  });
  after(async () => {
    await env.session?.close();
    await stopDev?.();
    await env.server?.stop();
  });
  return env;
}
