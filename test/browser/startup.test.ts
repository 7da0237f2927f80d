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

// Cold start: an open replays the whole WAL, so a database leaves it empty when it can.
for (const synced of [false, true]) {
  const kind = synced ? 'a synced database (sync deferred)' : 'a local database';
  test(`closing ${kind} checkpoints its WAL, and the next open sees every row and pending change`, async () => {
    const p = await env.openPage();
    const r = await p.evaluate(async (synced) => {
      const path = synced ? 'close-ckpt-synced.db' : 'close-ckpt-local.db';
      const open = () => window.walsync.connect(synced ? { path, url: () => null } : { path });
      const db = await open();
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      await db.batch(Array.from({ length: 500 }, (_, i) => ({ sql: 'INSERT INTO t VALUES (?, ?)', args: [i, `row ${i}`] })), 'immediate');
      const before = await db.stats();
      await db.close();
      const again = await open();
      const after = await again.stats();
      const rows = await again.prepare('SELECT count(*) AS n, sum(id) AS s FROM t').get();
      const check = await again.prepare('PRAGMA integrity_check').get();
      await again.close();
      return { walBefore: before.mainWalSize, walAfter: after.mainWalSize, pendingBefore: before.cdcOperations, pendingAfter: after.cdcOperations, rows, check };
    }, synced);
    assert.ok(r.walBefore > 0, 'the writes went to the WAL');
    assert.equal(r.walAfter, 0, 'close() folded the WAL into the database file');
    assert.deepEqual(r.rows, { n: 500, s: (499 * 500) / 2 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    assert.equal(r.pendingAfter, r.pendingBefore, 'every change still waits for its push');
    if (synced) assert.ok(r.pendingAfter > 0);
    await p.close();
  });
}

test('a database left idle after a write checkpoints its WAL; with autoCheckpointBytes 0 it never does', async () => {
  const p = await env.openPage();
  // Waits for the idle checkpoint (about a second after the last call), generously on a loaded machine.
  const idle = await p.evaluate(async () => {
    const db = await window.walsync.connect({ path: 'idle-ckpt.db' });
    await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)');
    const written = (await db.stats()).mainWalSize;
    const deadline = Date.now() + 60_000;
    let wal = written;
    while (wal > 0 && Date.now() < deadline) {
      // Every call (stats() too) counts as activity: look less often than the idle time.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      wal = (await db.stats()).mainWalSize;
    }
    const rows = await db.prepare('SELECT count(*) AS n FROM t').get();
    await db.close();
    return { written, wal, rows };
  });
  assert.ok(idle.written > 0);
  assert.equal(idle.wal, 0, 'the idle database checkpointed');
  assert.deepEqual(idle.rows, { n: 3 });
  const never = await p.evaluate(async () => {
    const path = 'never-ckpt.db';
    const db = await window.walsync.connect({ path, autoCheckpointBytes: 0 });
    await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idleWal = (await db.stats()).mainWalSize;
    await db.close();
    const again = await window.walsync.connect({ path, autoCheckpointBytes: 0 });
    const reopenedWal = (await again.stats()).mainWalSize;
    await again.close();
    return { idleWal, reopenedWal };
  });
  assert.ok(never.idleWal > 0, 'autoCheckpointBytes 0: no idle checkpoint');
  assert.ok(never.reopenedWal > 0, 'autoCheckpointBytes 0: close keeps the WAL');
  await p.close();
});

test('the worker fetches SQLite\'s wasm once: the prefetch started with its script is what SQLite loads', async () => {
  const p = await env.openPage();
  const wasmRequests: string[] = [];
  p.on('request', (request) => {
    if (/sqlite3[^/]*\.wasm(\?|$)/.test(request.url())) wasmRequests.push(request.url());
  });
  const failed: string[] = [];
  // (The reload cancels the first load's module requests: only the wasm's matter here.)
  p.on('requestfailed', (request) => {
    if (/\.wasm(\?|$)/.test(request.url())) failed.push(request.url());
  });
  await p.reload();
  await p.waitForFunction(() => (window as unknown as { walsyncReady?: unknown }).walsyncReady !== undefined);
  const rows = await p.evaluate(async () => {
    const db = await window.walsync.connect({ path: 'prefetch.db' });
    const result = await db.prepare('SELECT 40 + 2 AS x').all();
    await db.close();
    return result;
  });
  assert.deepEqual(rows, [{ x: 42 }]);
  assert.equal(wasmRequests.length, 1, `one request for sqlite3.wasm, got: ${wasmRequests.join(', ')}`);
  assert.deepEqual(failed, []);
  await p.close();
});
