/**
 * The demo app (demo/) driven as a person would, in Chromium, against a real `tursodb --sync-server`
 * (fresh temporary database for this file) and the demo's own Vite config: two devices, sync, offline
 * edits across a reload, a conflict, reset, and opening the app with both servers stopped (service
 * worker). A second part builds the demo (npm run build:demo's config, to a temporary folder), serves
 * it statically and checks the same offline start on the production build.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { launchBrowser, repoRoot, type BrowserSession } from '../../scripts/browser.js';
import { startDemo, type Demo } from '../../scripts/start.js';
import { freeLoopbackPort, startSyncServer, type SyncServer } from '../../scripts/sync-server.js';

const STEP = { timeout: 15_000 };
const TEST = { timeout: 90_000 };

function device(page: Page, name: 'A' | 'B'): FrameLocator {
  return page.frameLocator(`iframe[name="device-${name}"]`);
}

async function waitReady(page: Page): Promise<void> {
  for (const name of ['A', 'B'] as const) await device(page, name).locator('body[data-ready="true"]').waitFor(STEP);
}

function task(dev: FrameLocator, title: string): Locator {
  return dev.locator('li.task', { has: dev.locator('.title', { hasText: new RegExp(`^${title}$`) }) });
}

async function titles(dev: FrameLocator): Promise<string[]> {
  return dev.locator('li.task .title').allInnerTexts();
}

async function addTask(dev: FrameLocator, title: string): Promise<void> {
  await dev.locator('#new-title').fill(title);
  await dev.locator('#new-title').press('Enter');
  await task(dev, title).waitFor(STEP);
}

async function editTask(dev: FrameLocator, from: string, to: string): Promise<void> {
  await task(dev, from).locator('button.edit').click();
  const input = dev.locator('input.edit-title');
  await input.fill(to);
  await input.press('Enter');
  await task(dev, to).waitFor(STEP);
}

/** Clicks a sync button and waits until the device is no longer busy. */
async function click(dev: FrameLocator, button: 'push' | 'pull' | 'sync'): Promise<void> {
  await dev.locator(`#${button}:enabled`).click(STEP);
  await dev.locator('body:not(.busy) #sync:enabled').waitFor(STEP);
}

async function pending(dev: FrameLocator): Promise<string> {
  return dev.locator('#pending').innerText();
}

async function setSwitch(dev: FrameLocator, id: 'offline' | 'auto-sync', on: boolean): Promise<void> {
  const box = dev.locator(`#${id}`);
  if ((await box.isChecked()) !== on) await box.click();
  assert.equal(await box.isChecked(), on);
}

describe('the demo app (dev server, as npm start runs it)', () => {
  let demo: Demo | undefined;
  let session: BrowserSession | undefined;
  let page: Page;

  before(async () => {
    demo = await startDemo({ logLevel: 'error' });
    session = await launchBrowser();
    page = await session.context.newPage();
    page.on('pageerror', (e) => console.error('[page error]', e.message));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(demo.url);
    await waitReady(page);
    // Deterministic runs: sync only when the test clicks (the toggle is remembered per device).
    for (const name of ['A', 'B'] as const) await setSwitch(device(page, name), 'auto-sync', false);
  });

  after(async () => {
    await session?.close().catch((e: unknown) => console.error('closing the browser:', e));
    await demo?.stop();
  });

  test('tasks added on device A appear on device B after a sync', TEST, async () => {
    const a = device(page, 'A');
    const b = device(page, 'B');
    assert.match(await a.locator('#status').innerText(), /^online$/);
    await addTask(a, 'Buy milk');
    await addTask(a, 'Call the plumber');
    assert.notEqual(await pending(a), '0 changes');
    assert.deepEqual(await titles(b), []);
    await click(a, 'sync');
    assert.equal(await pending(a), '0 changes');
    assert.notEqual(await a.locator('#last-push').innerText(), 'never');
    await click(b, 'pull');
    await task(b, 'Call the plumber').waitFor(STEP);
    assert.deepEqual(await titles(b), ['Buy milk', 'Call the plumber']);
    assert.match(await b.locator('#log li').first().innerText(), /pulled: added “Buy milk” \(by A\); added “Call the plumber” \(by A\)/);
    // Completing and deleting travel the same way.
    await task(b, 'Call the plumber').locator('input.done').check();
    await click(b, 'sync');
    await click(a, 'pull');
    assert.equal(await task(a, 'Call the plumber').locator('input.done').isChecked(), true);
  });

  test('a new device shows a progress bar while its first connect downloads the server’s database, up to its size', TEST, async () => {
    // Device C has never opened here: its connect() bootstraps the tasks the test above synced.
    const c = await session!.context.newPage();
    try {
      await c.goto(new URL('app.html?device=C', demo!.url).href);
      await c.locator('body[data-ready="true"]').waitFor(STEP);
      await c.locator('li.task .title', { hasText: 'Buy milk' }).waitFor(STEP);
      const shown = await c.evaluate(() => ({
        state: document.body.dataset.bootstrap,
        reports: Number(document.body.dataset.bootstrapReports),
        value: document.querySelector<HTMLProgressElement>('#bootstrap-bar')!.value,
        max: document.querySelector<HTMLProgressElement>('#bootstrap-bar')!.max,
        log: document.querySelector('#log li')?.textContent ?? '',
      }));
      assert.equal(shown.state, 'done');
      assert.ok(shown.reports >= 1, 'the bar was shown');
      assert.ok(shown.max >= 4096 && shown.max % 4096 === 0, `the database's size: ${shown.max}`);
      assert.equal(shown.value, shown.max, 'the bar reached the end');
      assert.match(shown.log, /downloaded the server’s database/);
      // Opened again, the database is here: no download, no bar.
      await c.reload();
      await c.locator('body[data-ready="true"]').waitFor(STEP);
      assert.equal(await c.evaluate(() => document.body.dataset.bootstrap ?? null), null);
    } finally {
      await c.close();
    }
  });

  test('typing in an edit field survives an auto-sync re-render', TEST, async () => {
    const a = device(page, 'A');
    await setSwitch(a, 'auto-sync', true);
    await task(a, 'Call the plumber').locator('button.edit').click();
    const input = a.locator('input.edit-title');
    await input.press('End');
    await input.pressSequentially(' again');
    // Wait for an auto-sync round (every 3 s) to finish and re-render the list under the field.
    const rounds = Number((await a.locator('body').getAttribute('data-sync-rounds')) ?? 0);
    await a.locator('body:not(.busy)').and(a.locator(`body:not([data-sync-rounds="${rounds}"])`)).waitFor(STEP);
    assert.equal(await input.inputValue(), 'Call the plumber again');
    await input.pressSequentially(' soon');
    await input.press('Enter');
    await task(a, 'Call the plumber again soon').waitFor(STEP);
    await setSwitch(a, 'auto-sync', false);
    await click(a, 'sync');
    const b = device(page, 'B');
    await click(b, 'pull');
    await task(b, 'Call the plumber again soon').waitFor(STEP);
    await editTask(a, 'Call the plumber again soon', 'Call the plumber');
    await click(a, 'sync');
    await click(b, 'pull');
    await task(b, 'Call the plumber').waitFor(STEP);
  });

  test('an edit made offline on B survives a reload and reaches A once B is back online', TEST, async () => {
    let b = device(page, 'B');
    await setSwitch(b, 'offline', true);
    assert.equal(await b.locator('#status').innerText(), 'offline');
    assert.equal(await b.locator('#sync').isDisabled(), true);
    await editTask(b, 'Buy milk', 'Buy oat milk');
    assert.notEqual(await pending(b), '0 changes');

    await page.reload();
    await waitReady(page);
    b = device(page, 'B');
    const a = device(page, 'A');
    // The switch and the edit are both still there after the reload.
    assert.equal(await b.locator('#offline').isChecked(), true);
    assert.equal(await b.locator('#status').innerText(), 'offline');
    await task(b, 'Buy oat milk').waitFor(STEP);
    assert.notEqual(await pending(b), '0 changes');
    await click(a, 'pull');
    assert.deepEqual(await titles(a), ['Buy milk', 'Call the plumber']);

    await setSwitch(b, 'offline', false);
    assert.equal(await b.locator('#status').innerText(), 'online');
    await click(b, 'sync');
    assert.equal(await pending(b), '0 changes');
    await click(a, 'pull');
    await task(a, 'Buy oat milk').waitFor(STEP);
    assert.deepEqual(await titles(a), ['Buy oat milk', 'Call the plumber']);
    assert.match(await a.locator('#log li').first().innerText(), /“Buy milk” → “Buy oat milk” \(by B\)/);
  });

  test('conflicting edits: the later push wins on both devices, and the log says so', TEST, async () => {
    const a = device(page, 'A');
    const b = device(page, 'B');
    await setSwitch(a, 'offline', true);
    await setSwitch(b, 'offline', true);
    await editTask(a, 'Buy oat milk', 'Buy almond milk');
    await editTask(b, 'Buy oat milk', 'Buy soy milk');
    await setSwitch(a, 'offline', false);
    await click(a, 'push');
    await setSwitch(b, 'offline', false);
    await click(b, 'sync'); // B pushes later: its title wins
    await click(a, 'pull');
    await task(a, 'Buy soy milk').waitFor(STEP);
    assert.deepEqual(await titles(a), ['Buy soy milk', 'Call the plumber']);
    assert.deepEqual(await titles(b), ['Buy soy milk', 'Call the plumber']);
    assert.match(await a.locator('#log li').first().innerText(), /“Buy almond milk” → “Buy soy milk” \(by B\)/);
    assert.match(await task(a, 'Buy soy milk').locator('.meta').innerText(), /^B · /);
  });

  test('device A opened in two more real tabs: a task added in any of them shows in all at once, and syncs', TEST, async () => {
    const tabs: Page[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const tab = await session!.context.newPage();
        tab.on('pageerror', (e) => console.error('[page error]', e.message));
        await tab.goto(`${demo!.url}/app.html?device=A`);
        await tab.locator('body[data-ready="true"]').waitFor(STEP);
        tabs.push(tab);
      }
      const [one, two] = tabs.map((t) => t.mainFrame() as unknown as FrameLocator) as [FrameLocator, FrameLocator];
      const a = device(page, 'A');
      await addTask(one, 'Added in tab one');
      await task(two, 'Added in tab one').waitFor(STEP);
      await task(a, 'Added in tab one').waitFor(STEP);
      await addTask(two, 'Added in tab two');
      await task(one, 'Added in tab two').waitFor(STEP);
      await task(a, 'Added in tab two').waitFor(STEP);
      // A sync from a tab that does not own the database runs in the one that does.
      await click(two, 'sync');
      assert.equal(await pending(two), '0 changes');
      const b = device(page, 'B');
      await click(b, 'pull');
      await task(b, 'Added in tab two').waitFor(STEP);
      await task(b, 'Added in tab one').waitFor(STEP);
    } finally {
      for (const tab of tabs) await tab.close();
    }
  });

  test('reset demo empties both devices and the server', TEST, async () => {
    await page.locator('#reset').click();
    await page.locator('#reset-status', { hasText: /^Reset: local databases deleted, server cleared\.$/ }).waitFor(STEP);
    await waitReady(page);
    const a = device(page, 'A');
    const b = device(page, 'B');
    await a.locator('li.empty').waitFor(STEP);
    assert.deepEqual(await titles(a), []);
    assert.deepEqual(await titles(b), []);
    // The switches were reset too; turn auto-sync off again for the rest of this file.
    for (const dev of [a, b]) await setSwitch(dev, 'auto-sync', false);
    await addTask(a, 'Water the plants');
    await click(a, 'sync');
    await click(b, 'pull');
    await task(b, 'Water the plants').waitFor(STEP);
    // A fresh device sees only what was pushed after the reset.
    assert.deepEqual(await titles(b), ['Water the plants']);
  });

  test('with the dev server and the sync server stopped, the app still opens and shows the tasks', TEST, async () => {
    await demo!.stop();
    await page.reload();
    await waitReady(page);
    const a = device(page, 'A');
    const b = device(page, 'B');
    assert.deepEqual(await titles(a), ['Water the plants']);
    assert.deepEqual(await titles(b), ['Water the plants']);
    // Local edits still work, and a sync says the server is unreachable instead of failing silently.
    await addTask(b, 'Works offline');
    await click(b, 'sync');
    assert.equal(await b.locator('#status').innerText(), 'online · server unreachable');
    assert.match(await b.locator('#log li').first().innerText(), /server unreachable/);
  });
});

describe('the demo app after npm start is run again (a fresh sync server)', () => {
  let demo: Demo | undefined;
  let session: BrowserSession | undefined;

  after(async () => {
    await session?.close().catch((e: unknown) => console.error('closing the browser:', e));
    await demo?.stop();
  });

  test('each device drops the copy it synced with the old server and starts over', TEST, async () => {
    const port = await freeLoopbackPort();
    demo = await startDemo({ logLevel: 'error', port });
    session = await launchBrowser();
    const page = await session.context.newPage();
    page.on('pageerror', (e) => console.error('[page error]', e.message));
    await page.goto(demo.url);
    await waitReady(page);
    const a = device(page, 'A');
    for (const name of ['A', 'B'] as const) await setSwitch(device(page, name), 'auto-sync', false);
    await addTask(a, 'From the first server');
    await click(a, 'sync');

    await demo.stop();
    demo = await startDemo({ logLevel: 'error', port });
    await page.goto(demo.url);
    await waitReady(page);
    for (const name of ['A', 'B'] as const) {
      const dev = device(page, name);
      await dev.locator('li.empty').waitFor(STEP);
      assert.deepEqual(await titles(dev), []);
    }
    assert.match(await a.locator('#log').innerText(), /new sync server: this device’s copy from the previous one was deleted/);
    await setSwitch(a, 'auto-sync', false);
    await addTask(a, 'From the second server');
    await click(a, 'sync');
    const b = device(page, 'B');
    await setSwitch(b, 'auto-sync', false);
    await click(b, 'pull');
    await task(b, 'From the second server').waitFor(STEP);
    assert.deepEqual(await titles(b), ['From the second server']);
  });
});

describe('the demo app (production build)', () => {
  let outDir: string | undefined;
  let server: SyncServer | undefined;
  let web: PreviewServer | undefined;
  let session: BrowserSession | undefined;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'walsync-demo-dist-'));
    await build({ configFile: join(repoRoot, 'vite.config.ts'), logLevel: 'error', build: { outDir } });
    // No sync server is built in (the dev-server suite above must not leak its VITE_* variables).
    for (const file of readdirSync(join(outDir, 'assets'))) {
      assert.doesNotMatch(readFileSync(join(outDir, 'assets', file), 'latin1'), /http:\/\/127\.0\.0\.1:\d+/, file);
    }
    server = await startSyncServer();
    web = await preview({ configFile: join(repoRoot, 'vite.config.ts'), logLevel: 'error', build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
    session = await launchBrowser();
  });

  after(async () => {
    await session?.close().catch((e: unknown) => console.error('closing the browser:', e));
    await web?.close();
    await server?.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('synced tasks are there after a reload with the network off', TEST, async () => {
    const address = web!.httpServer.address();
    assert.ok(address && typeof address === 'object');
    const page = await session!.context.newPage();
    page.on('pageerror', (e) => console.error('[page error]', e.message));
    // The sync server comes from the query string here (the build has none built in).
    await page.goto(`http://127.0.0.1:${address.port}/?server=${encodeURIComponent(server!.url)}`);
    await waitReady(page);
    const a = device(page, 'A');
    const b = device(page, 'B');
    for (const dev of [a, b]) await setSwitch(dev, 'auto-sync', false);
    assert.equal(await a.locator('#server').innerText(), server!.url);
    assert.equal(await page.locator('#server-url').innerText(), server!.url);
    await addTask(a, 'Pack the tent');
    await click(a, 'sync');
    await click(b, 'pull');
    await task(b, 'Pack the tent').waitFor(STEP);

    await session!.context.setOffline(true);
    try {
      await page.reload();
      await waitReady(page);
      assert.deepEqual(await titles(device(page, 'A')), ['Pack the tent']);
      assert.deepEqual(await titles(device(page, 'B')), ['Pack the tent']);
    } finally {
      await session!.context.setOffline(false);
    }
  });
});
