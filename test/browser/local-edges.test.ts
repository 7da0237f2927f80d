/**
 * Local databases at their edges, in real Chromium on OPFS: a failing exec() script does not leave
 * its own transaction open, VACUUM works through every statement call, the log is checkpointed
 * automatically, and a checkpoint near the storage quota fails cleanly or succeeds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { useLocalTestBrowser } from '../support/local-test-page.js';

const env = useLocalTestBrowser();
const openPage = (): Promise<Page> => env.openPage();

describe('exec() scripts', () => {
  test('a failing statement rolls back the transaction the script opened, and says so', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'exec-tx.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      const error = await window.kit.errorOf(() =>
        db.exec("BEGIN; INSERT INTO t VALUES (1, 'in the script'); INSERT INTO missing VALUES (2); INSERT INTO t VALUES (3, 'never'); COMMIT"),
      );
      const autocommit = await window.kit.channel(db).call((api) => api.isAutocommit());
      // A later statement is its own transaction, not part of the script's.
      await db.prepare('INSERT INTO t VALUES (?, ?)').run(4, 'later');
      const rows = await window.kit.dump(db, 't');
      await db.close();
      return { error, autocommit, rows };
    });
    assert.equal(r.error.code, 'SQLITE_ERROR');
    assert.match(r.error.message, /no such table: missing.*rolled back/);
    assert.equal(r.error.context.rolledBack, true);
    assert.equal(r.autocommit, true);
    assert.deepEqual(r.rows, [[4, 'later']]);
    await page.close();
  });

  test("a transaction open before exec() stays open for the caller", async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'exec-caller-tx.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      await db.exec('BEGIN');
      const error = await window.kit.errorOf(() => db.exec("INSERT INTO t VALUES (1, 'kept'); INSERT INTO missing VALUES (2)"));
      const autocommit = await window.kit.channel(db).call((api) => api.isAutocommit());
      await db.exec('COMMIT');
      const rows = await window.kit.dump(db, 't');
      await db.close();
      return { error, autocommit, rows };
    });
    assert.equal(r.error.code, 'SQLITE_ERROR');
    assert.doesNotMatch(r.error.message, /rolled back/);
    assert.equal(r.autocommit, false);
    assert.deepEqual(r.rows, [[1, 'kept']]);
    await page.close();
  });
});

describe('VACUUM', () => {
  test('runs through all(), get(), run() and exec() and keeps the data', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'vacuum.db' });
      await db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT printf('%.500c', 'x') FROM n");
      await db.exec('DELETE FROM t WHERE id > 10');
      const all = await db.prepare('VACUUM').all();
      const get = await db.prepare('VACUUM').get();
      const run = await db.prepare('VACUUM').run();
      await db.exec('VACUUM');
      // Statements without result columns in general.
      const insertAll = await db.prepare("INSERT INTO t(v) VALUES ('all')").all();
      const count = await db.prepare('SELECT count(*) AS n FROM t').get();
      const check = await db.prepare('PRAGMA integrity_check').get();
      await db.close();
      const again = await window.walsync.connect({ path: 'vacuum.db' });
      const reopened = await again.prepare('SELECT count(*) AS n FROM t').get();
      await again.close();
      return { all, get: get === undefined, run, insertAll, count, check, reopened };
    });
    assert.deepEqual(r.all, []);
    assert.equal(r.get, true);
    assert.equal(r.run.changes, 0);
    assert.deepEqual(r.insertAll, []);
    assert.deepEqual(r.count, { n: 11 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    assert.deepEqual(r.reopened, { n: 11 });
    await page.close();
  });
});

describe('checkpoints of local databases', () => {
  test('the log is checkpointed automatically past autoCheckpointBytes', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'auto-local.db', autoCheckpointBytes: 256 * 1024 });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)');
      await db.exec('INSERT INTO t(b) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) SELECT randomblob(10000) FROM n');
      let largestWal = 0;
      // About 4 MB written into a table that stays around 200 kB.
      const update = db.prepare('UPDATE t SET b = randomblob(10000) WHERE id = ?');
      for (let i = 0; i < 400; i++) {
        await update.run((i % 20) + 1);
        if (i % 20 === 0) largestWal = Math.max(largestWal, (await db.stats()).mainWalSize);
      }
      const count = await db.prepare('SELECT count(*) AS n FROM t').get();
      const check = await db.prepare('PRAGMA integrity_check').get();
      await db.close();
      return { largestWal, count, check };
    });
    assert.ok(r.largestWal < 1024 * 1024, `the log stayed bounded (${r.largestWal} bytes)`);
    assert.deepEqual(r.count, { n: 20 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    await page.close();
  });

  test('a checkpoint still runs near the storage quota, and loses nothing', async () => {
    const page = await openPage();
    const cdp = await env.session.context.newCDPSession(page);
    const origin = new URL(env.baseUrl).origin;
    try {
      const setup = await page.evaluate(async () => {
        // No automatic checkpoint (which also runs on close and when idle): the one below is the test.
        const db = await window.walsync.connect({ path: 'quota-ckpt.db', autoCheckpointBytes: 0 });
        await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)');
        // ~2 MB, all of it in the log.
        await db.exec('INSERT INTO t(b) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT randomblob(10000) FROM n');
        const stats = await db.stats();
        await db.close();
        return { usage: (await navigator.storage.estimate()).usage ?? 0, wal: stats.mainWalSize };
      });
      assert.ok(setup.wal > 2_000_000);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: setup.usage + 64 * 1024 });
      const r = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: 'quota-ckpt.db', autoCheckpointBytes: 0 });
        const wal = (await db.stats()).mainWalSize;
        const checkpoint = await window.kit.errorOf(() => db.checkpoint());
        const count = await db.prepare('SELECT count(*) AS n, sum(length(b)) AS bytes FROM t').get();
        const check = await db.prepare('PRAGMA integrity_check').get();
        await db.close();
        return { wal, checkpoint, count, check };
      });
      assert.ok(r.wal > 2_000_000, 'the checkpoint had the whole log to fold');
      // The database file grew while writing, so the checkpoint needs no new space.
      assert.equal(r.checkpoint.code, 'none', r.checkpoint.message);
      assert.deepEqual(r.count, { n: 200, bytes: 2_000_000 });
      assert.deepEqual(r.check, { integrity_check: 'ok' });
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
      const after = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: 'quota-ckpt.db' });
        await db.exec('INSERT INTO t(b) VALUES (randomblob(10))');
        await db.checkpoint();
        const wal = (await db.stats()).mainWalSize;
        const count = await db.prepare('SELECT count(*) AS n FROM t').get();
        const check = await db.prepare('PRAGMA integrity_check').get();
        await db.close();
        return { wal, count, check };
      });
      assert.equal(after.wal, 0);
      assert.deepEqual(after.count, { n: 201 });
      assert.deepEqual(after.check, { integrity_check: 'ok' });
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
      await page.close();
    }
  });
});
