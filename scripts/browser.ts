/**
 * The browser launcher tests, benchmarks and scripts share (with sync-server.ts, the one place for
 * launchers; test/support builds its fixtures on them): a Vite dev server on loopback (with COOP/COEP
 * headers) serving the repo, and headless Chromium driven by playwright-core. Chromium comes from CHROMIUM_PATH, else the Debian
 * package at /usr/bin/chromium, else Playwright's own installed browser.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const bundled = chromium.executablePath();
  if (bundled && existsSync(bundled)) return bundled;
  throw new Error('No Chromium found: set CHROMIUM_PATH, or install the Debian package (apt-get install -y chromium)');
}

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // An origin that is not a secure context, for the "OPFS unavailable" test; it resolves to loopback.
  '--host-resolver-rules=MAP insecure.walsync.test 127.0.0.1',
];

export async function startDevServer(root = repoRoot): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root,
    configFile: false,
    logLevel: 'error',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      headers: {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      },
      hmr: false,
      allowedHosts: ['localhost', 'insecure.walsync.test'],
      watch: null,
    },
    optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'], noDiscovery: true, include: [] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a port');
  return { server, url: `http://localhost:${address.port}` };
}

export interface BrowserSession {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly userDataDir: string;
  /** Opens `url` in a new tab and waits until the page sets `window[readyFlag]`. */
  newPage(url: string, readyFlag?: string): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh Chromium profile (so OPFS starts empty) with one context. */
export async function launchBrowser(): Promise<BrowserSession> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'walsync-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: findChromium(),
    headless: true,
    args: chromiumArgs,
  });
  // tsx compiles test files with esbuild's keepNames, which wraps functions in a __name() helper;
  // functions passed to page.evaluate() carry that call into the page, so give the page a no-op one.
  await context.addInitScript('globalThis.__name = (f) => f;');
  const browser = context.browser()!;
  return {
    browser,
    context,
    userDataDir,
    async newPage(url: string, readyFlag = 'walsyncReady') {
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
