/**
 * Start-up: the worker starts as soon as walsync is imported in a page, the first connect() adopts
 * it, and a page that never connects does not keep it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { TEST_PAGE, useLocalTestBrowser } from '../support/local-test-page.js';

const env = useLocalTestBrowser();

interface WorkerLog {
  started: number;
  terminated: number;
}

/** A page whose Worker constructor counts the workers started and terminated, from before its scripts run. */
async function countingPage(page = TEST_PAGE, readyFlag = 'walsyncReady'): Promise<Page> {
  const p = await env.openPage(page, readyFlag);
  await p.addInitScript(() => {
    const log = { started: 0, terminated: 0 };
    (window as unknown as { workerLog: WorkerLog }).workerLog = log;
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        log.started++;
      }
      override terminate(): void {
        log.terminated++;
        super.terminate();
      }
    };
  });
  await p.reload();
  await p.waitForFunction((flag) => (window as unknown as Record<string, unknown>)[flag] !== undefined, readyFlag);
  return p;
}

test('importing walsync starts a worker, and the first connect() uses it instead of starting another', async () => {
  const p = await countingPage();
  const r = await p.evaluate(async () => {
    const log = (window as unknown as { workerLog: WorkerLog }).workerLog;
    const beforeConnect = log.started;
    const db = await window.walsync.connect({ path: 'prewarmed.db' });
    await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (42)');
    const rows = await db.prepare('SELECT x FROM t').all();
    const startedWhileOpen = log.started;
    await db.close();
    return { beforeConnect, startedWhileOpen, rows };
  });
  assert.equal(r.beforeConnect, 1, 'a worker is started on import');
  assert.equal(r.startedWhileOpen, 1, 'connect() adopted it');
  assert.deepEqual(r.rows, [{ x: 42 }]);
  await p.close();
});

test('a page that imports walsync and never connects has its worker terminated; a later connect() starts one', async () => {
  const p = await countingPage();
  // The unused worker is stopped after a while (10 s); wait for it, generously on a loaded machine.
  await p.waitForFunction(() => (window as unknown as { workerLog: WorkerLog }).workerLog.terminated === 1, null, { timeout: 120_000 });
  const r = await p.evaluate(async () => {
    const log = (window as unknown as { workerLog: WorkerLog }).workerLog;
    const db = await window.walsync.connect({ path: 'late.db' });
    await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (7)');
    const rows = await db.prepare('SELECT x FROM t').all();
    await db.close();
    return { started: log.started, rows };
  });
  assert.equal(r.started, 2, 'the prewarmed worker, then a fresh one for connect()');
  assert.deepEqual(r.rows, [{ x: 7 }]);
  await p.close();
});

test('an app that connects as its module runs (before the prewarm) starts one worker, not two', async () => {
  const p = await countingPage('/test/browser/pages/connect-on-import.html', 'connectOnImport');
  const r = await p.evaluate(() => ({
    result: (window as unknown as { connectOnImport: unknown }).connectOnImport,
    started: (window as unknown as { workerLog: WorkerLog }).workerLog.started,
  }));
  assert.deepEqual(r.result, { rows: 1 });
  assert.equal(r.started, 1);
  await p.close();
});
