/**
 * walsync as an app installs it: `npm pack` (its prepack build), the tarball unpacked into a copy of
 * the small Vite + TypeScript app in test/consumer-app as node_modules/walsync (its dependencies
 * linked from this repository's node_modules: the test machine has no registry), then the app is
 * type-checked against the published .d.ts, built with `vite build`, served WITHOUT COOP/COEP
 * headers and run in Chromium: open, write, reload, read (the README's first example, the same
 * table through walsync/kysely and walsync/drizzle, and the README's sync example with no server
 * answering). Then the same app under `vite` dev, which must print no source-map warning.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, createLogger, createServer, preview, type Logger, type PreviewServer, type ViteDevServer } from 'vite';
import { chromium, type BrowserContext } from 'playwright-core';
import { chromiumArgs, findChromium, repoRoot } from '../../scripts/browser.js';

const work = mkdtempSync(join(tmpdir(), 'walsync-consumer-'));
let server: PreviewServer | undefined;
let devServer: ViteDevServer | undefined;
let context: BrowserContext | undefined;
after(async () => {
  await context?.close();
  await server?.close();
  await devServer?.close();
  rmSync(work, { recursive: true, force: true });
});

test('the packed library installs, type-checks, builds and runs in a Vite app without COOP/COEP', { timeout: 600_000 }, async () => {
  // Pack: runs prepack (the build) and writes the tarball.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts') && files.includes('dist/worker/index.js'), 'the tarball ships the built library and its types');
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'the tarball ships no sources beside dist');

  // Install: the app, the unpacked package, its dependencies.
  const app = join(work, 'app');
  cpSync(join(repoRoot, 'test/consumer-app'), app, { recursive: true });
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, '@sqlite.org'), { recursive: true });
  execFileSync('tar', ['-xzf', join(work, packed[0]!.filename), '-C', work]);
  cpSync(join(work, 'package'), join(modules, 'walsync'), { recursive: true });
  // The published Database and Statement types keep the worker channel out of sight.
  for (const entry of ['index', 'database', 'kysely', 'drizzle']) {
    const types = readFileSync(join(modules, 'walsync/dist/src', `${entry}.d.ts`), 'utf8');
    assert.doesNotMatch(types, /WorkerChannel|worker-channel|channelOf|WorkerApi/, `dist/src/${entry}.d.ts exposes no worker internals`);
  }
  assert.ok(files.includes('dist/src/kysely.d.ts') && files.includes('dist/src/drizzle.d.ts'), 'the tarball ships the ORM drivers');
  // walsync's dependencies, and the two ORMs the app uses through walsync/kysely and walsync/drizzle.
  for (const dep of ['comlink', 'idb-keyval', 'uuid', '@sqlite.org/sqlite-wasm', 'kysely', 'drizzle-orm']) {
    symlinkSync(join(repoRoot, 'node_modules', dep), join(modules, dep), 'dir');
  }

  // Type-check the app against the published types.
  for (const config of ['tsconfig.json', 'tsconfig.published-types.json']) {
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(app, config)], { stdio: 'pipe' });
  }

  // Build it, as the app's own `vite build` would.
  await build({ root: app, configFile: join(app, 'vite.config.ts'), logLevel: 'error', build: { outDir: join(app, 'dist') } });
  const assets = readdirSync(join(app, 'dist/assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `sqlite3.wasm is emitted: ${assets.join(', ')}`);
  assert.deepEqual(assets.filter((f) => /sqlite3-worker1|sqlite3-opfs-async-proxy/.test(f)), [], 'no unused sqlite-wasm helper chunks');

  // Serve the build with no COOP/COEP headers, and run it twice in one profile.
  server = await preview({ root: app, configFile: false, logLevel: 'error', build: { outDir: join(app, 'dist') }, preview: { host: '127.0.0.1', port: 0 } });
  const url = server.resolvedUrls!.local[0]!.replace('127.0.0.1', 'localhost');
  context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: findChromium(), headless: true, args: chromiumArgs });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const load = async () => {
    await page.waitForFunction(() => window.appResult !== undefined, null, { timeout: 60_000 });
    return page.evaluate(() => ({ result: window.appResult, isolated: crossOriginIsolated }));
  };
  await page.goto(url);
  const first = await load();
  await page.reload();
  const second = await load();
  assert.equal(first.isolated, false);
  assert.deepEqual(first.result, { notes: [{ id: 1, body: 'hello' }], raw: [[1, 2]], kyselyCount: 1, drizzleCount: 1, offlineSync: { changed: 'offline', notes: 1 } });
  assert.deepEqual(second.result, { notes: [{ id: 1, body: 'hello' }, { id: 2, body: 'hello' }], raw: [[1, 2]], kyselyCount: 2, drizzleCount: 2, offlineSync: { changed: 'offline', notes: 2 } });
  assert.deepEqual(errors, []);

  // The same app under `vite` dev (another port: another origin, so a fresh OPFS): it runs, and
  // Vite says nothing about walsync's source maps (a map naming sources it cannot find is warned about).
  const logged: string[] = [];
  const logger = createLogger('info');
  const capture: Logger = {
    ...logger,
    info: (msg, options) => (logged.push(msg), logger.info(msg, options)),
    warn: (msg, options) => (logged.push(msg), logger.warn(msg, options)),
    warnOnce: (msg, options) => (logged.push(msg), logger.warnOnce(msg, options)),
    error: (msg, options) => (logged.push(msg), logger.error(msg, options)),
  };
  devServer = await createServer({ root: app, configFile: join(app, 'vite.config.ts'), customLogger: capture, clearScreen: false, server: { host: '127.0.0.1', port: 0 } });
  await devServer.listen();
  const devPage = await page.context().newPage();
  const devErrors: string[] = [];
  devPage.on('pageerror', (e) => devErrors.push(e.message));
  await devPage.goto(devServer.resolvedUrls!.local[0]!.replace('127.0.0.1', 'localhost'));
  await devPage.waitForFunction(() => window.appResult !== undefined, null, { timeout: 120_000 });
  assert.deepEqual(await devPage.evaluate(() => window.appResult), { notes: [{ id: 1, body: 'hello' }], raw: [[1, 2]], kyselyCount: 1, drizzleCount: 1, offlineSync: { changed: 'offline', notes: 1 } });
  assert.deepEqual(devErrors, []);
  assert.deepEqual(logged.filter((line) => /source ?map/i.test(line)), [], 'vite dev prints no source-map warnings');
});

declare global {
  interface Window {
    appResult?: unknown;
  }
}
