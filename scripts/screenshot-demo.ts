/**
 * `npm run screenshot:demo`: starts the demo (sync server on a temporary database + dev server),
 * drives it in headless Chromium to a telling state — tasks synced to both devices, device B offline
 * with an edit not yet pushed — and saves docs/demo.png.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FrameLocator } from 'playwright-core';
import { launchBrowser } from './browser.js';
import { startDemo } from './start.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const out = resolve(repoRoot, 'docs/demo.png');
const STEP = { timeout: 20_000 };

const demo = await startDemo({ logLevel: 'error' });
const session = await launchBrowser().catch(async (e: unknown) => {
  await demo.stop();
  throw e;
});
try {
  const page = await session.context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(demo.url);
  const a = page.frameLocator('iframe[name="device-A"]');
  const b = page.frameLocator('iframe[name="device-B"]');
  for (const dev of [a, b]) await dev.locator('body[data-ready="true"]').waitFor(STEP);
  for (const dev of [a, b]) {
    const auto = dev.locator('#auto-sync');
    if (await auto.isChecked()) await auto.click();
  }

  const add = async (dev: FrameLocator, title: string) => {
    await dev.locator('#new-title').fill(title);
    await dev.locator('#new-title').press('Enter');
    await dev.locator('li.task .title', { hasText: title }).waitFor(STEP);
  };
  const press = async (dev: FrameLocator, id: 'push' | 'pull' | 'sync') => {
    await dev.locator(`#${id}:enabled`).click(STEP);
    await dev.locator('body:not(.busy) #sync:enabled').waitFor(STEP);
  };

  await add(a, 'Buy milk');
  await add(a, 'Book the train to Lyon');
  await add(a, 'Call the plumber');
  await press(a, 'sync');
  await press(b, 'pull');
  await b.locator('li.task .title', { hasText: 'Call the plumber' }).waitFor(STEP);
  await b.locator('li.task', { hasText: 'Book the train to Lyon' }).locator('input.done').check();
  await add(b, 'Water the plants');
  await press(b, 'sync');
  await press(a, 'pull');
  // B goes offline and edits: the edit waits as a pending change.
  await b.locator('#offline').check();
  await b.locator('li.task', { hasText: 'Buy milk' }).locator('button.edit').click();
  await b.locator('input.edit-title').fill('Buy oat milk');
  await b.locator('input.edit-title').press('Enter');
  await b.locator('li.task .title', { hasText: 'Buy oat milk' }).waitFor(STEP);
  await page.mouse.move(640, 20);
  // A's last pull is still highlighted (it fades after a few seconds): the picture shows what it brought.
  await page.waitForTimeout(300);
  await page.screenshot({ path: out });
  console.log(`saved ${out}`);
} finally {
  await session.close();
  await demo.stop();
}
