/**
 * The local database layer in real Chromium on OPFS: persistence across reloads, the API's results
 * and errors, shared workers per path, quota errors, and crash safety (a terminated worker).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { TEST_PAGE, useLocalTestBrowser } from '../support/local-test-page.js';

const env = useLocalTestBrowser();
const openPage = (): Promise<Page> => env.openPage();

describe('a database in OPFS', () => {
  test('rows written before a reload are read back after it', async () => {
    const page = await openPage();
    await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'persist.db' });
      await db.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, n REAL, b BLOB)');
      const insert = db.prepare('INSERT INTO notes(body, n, b) VALUES (?, ?, ?)');
      await insert.run('first', 1.5, new Uint8Array([1, 2, 3]));
      await insert.run('second', null, null);
      await db.close();
    });
    await page.reload();
    await page.waitForFunction(() => window.walsyncReady === true);
    const rows = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'persist.db' });
      const rows = await db.prepare('SELECT id, body, n, b FROM notes ORDER BY id').all();
      const check = await db.prepare('PRAGMA integrity_check').get();
      const pageSize = await db.prepare('PRAGMA page_size').get();
      const journal = await db.prepare('PRAGMA journal_mode').get();
      await db.close();
      return { rows: rows.map((r) => ({ ...r, b: r.b instanceof Uint8Array ? [...r.b] : r.b })), check, pageSize, journal };
    });
    assert.deepEqual(rows.rows, [
      { id: 1, body: 'first', n: 1.5, b: [1, 2, 3] },
      { id: 2, body: 'second', n: null, b: null },
    ]);
    assert.deepEqual(rows.check, { integrity_check: 'ok' });
    assert.deepEqual(rows.pageSize, { page_size: 4096 });
    assert.deepEqual(rows.journal, { journal_mode: 'wal' });
    await page.close();
  });

  test('run() reports changes and lastInsertRowid; get() returns the first row or undefined', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'api.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE big(x INTEGER)');
      const ins = await db.prepare('INSERT INTO t(v) VALUES (?), (?)').run('a', 'b');
      const upd = await db.prepare('UPDATE t SET v = upper(v)').run();
      const sel = await db.prepare('SELECT count(*) AS c FROM t').run();
      const named = await db.prepare('SELECT v FROM t WHERE id = :id').get({ id: 2 });
      const arr = await db.prepare('SELECT v FROM t WHERE id = ?').get([1]);
      const none = await db.prepare('SELECT v FROM t WHERE id = ?').get(99);
      await db.prepare('INSERT INTO big VALUES (?)').run(2n ** 62n);
      const big = await db.prepare('SELECT x, typeof(x) AS t FROM big').get();
      const bool = await db.prepare('SELECT ? AS yes, ? AS no').get(true, false);
      await db.close();
      return { ins, upd, sel, named, arr, none: none === undefined, big: { x: String(big?.x), t: big?.t, isBig: typeof big?.x === 'bigint' }, bool };
    });
    assert.deepEqual(r.ins, { changes: 2, lastInsertRowid: 2 });
    assert.equal(r.upd.changes, 2);
    assert.equal(r.sel.changes, 0);
    assert.deepEqual(r.named, { v: 'B' });
    assert.deepEqual(r.arr, { v: 'A' });
    assert.equal(r.none, true);
    assert.deepEqual(r.big, { x: String(2n ** 62n), t: 'integer', isBig: true });
    assert.deepEqual(r.bool, { yes: 1, no: 0 });
    await page.close();
  });

  test(':memory: databases work and are private to each connect()', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const a = await window.walsync.connect({ path: ':memory:' });
      const b = await window.walsync.connect({ path: ':memory:' });
      await a.exec('CREATE TABLE t(x); INSERT INTO t VALUES (42)');
      const fromA = await a.prepare('SELECT x FROM t').get();
      let bError = '';
      try {
        await b.prepare('SELECT x FROM t').get();
      } catch (e) {
        bError = (e as Error).message;
      }
      await a.close();
      await b.close();
      return { fromA, bError };
    });
    assert.deepEqual(r.fromA, { x: 42 });
    assert.equal(r.bError, 'no such table: t');
    await page.close();
  });

  test('two connect() calls for one path share one worker and one database', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const a = await window.walsync.connect({ path: 'shared.db' });
      const b = await window.walsync.connect({ path: 'shared.db' });
      const sameChannel = window.kit.channel(a) === window.kit.channel(b);
      await a.exec('CREATE TABLE t(x)');
      // While a's transaction is open, b's statement waits instead of slipping into it.
      const order: string[] = [];
      const tx = a.transaction(async (t) => {
        await t.prepare('INSERT INTO t VALUES (1)').run();
        order.push('tx-insert');
        await new Promise((r) => setTimeout(r, 50));
        await t.prepare('INSERT INTO t VALUES (2)').run();
        order.push('tx-commit');
      });
      const txDone = tx();
      await new Promise((r) => setTimeout(r, 10));
      const count = b.prepare('SELECT count(*) AS c FROM t').get().then((row) => {
        order.push(`b-read:${row?.c}`);
      });
      await Promise.all([txDone, count]);
      await a.close();
      // b still works after a closed: the worker stays while a handle remains.
      const still = await b.prepare('SELECT count(*) AS c FROM t').get();
      await b.close();
      return { sameChannel, order, still };
    });
    assert.equal(r.sameChannel, true);
    assert.deepEqual(r.order, ['tx-insert', 'tx-commit', 'b-read:2']);
    assert.deepEqual(r.still, { c: 2 });
    await page.close();
  });

  test('batch() runs many statements in one call; with a mode it is all-or-nothing', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'batch.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
      const results = await db.batch(
        [
          { sql: 'INSERT INTO t(v) VALUES (?)', args: ['a'] },
          { sql: 'INSERT INTO t(v) VALUES (:v)', args: { v: 'b' } },
          'SELECT v FROM t ORDER BY id',
        ],
        'immediate',
      );
      let atomicError = { code: '', message: '', index: -1 };
      try {
        await db.batch([{ sql: 'INSERT INTO t(v) VALUES (?)', args: ['c'] }, { sql: 'INSERT INTO t(v) VALUES (?)', args: ['a'] }], 'deferred');
      } catch (e) {
        const err = e as { code: string; message: string; context: { batchIndex: number } };
        atomicError = { code: err.code, message: err.message, index: err.context.batchIndex };
      }
      const afterAtomic = await db.prepare('SELECT v FROM t ORDER BY id').all();
      let plainError = '';
      try {
        await db.batch(["INSERT INTO t(v) VALUES ('d')", "INSERT INTO t(v) VALUES ('a')", "INSERT INTO t(v) VALUES ('e')"]);
      } catch (e) {
        plainError = (e as Error).message;
      }
      const afterPlain = await db.prepare('SELECT v FROM t ORDER BY id').all();
      await db.close();
      return {
        first: results.map((x) => ({ rows: x.rows, rowsAffected: x.rowsAffected, lastInsertRowid: x.lastInsertRowid })),
        atomicError,
        afterAtomic: afterAtomic.map((x) => x.v),
        plainError,
        afterPlain: afterPlain.map((x) => x.v),
      };
    });
    assert.deepEqual(r.first, [
      { rows: [], rowsAffected: 1, lastInsertRowid: 1 },
      { rows: [], rowsAffected: 1, lastInsertRowid: 2 },
      { rows: [{ v: 'a' }, { v: 'b' }], rowsAffected: 0, lastInsertRowid: 2 },
    ]);
    assert.deepEqual(r.atomicError, { code: 'SQLITE_ERROR', message: 'UNIQUE constraint failed: t.v', index: 1 });
    assert.deepEqual(r.afterAtomic, ['a', 'b']);
    assert.equal(r.plainError, 'UNIQUE constraint failed: t.v');
    assert.deepEqual(r.afterPlain, ['a', 'b', 'd']);
    await page.close();
  });

  test('a transaction that throws is rolled back and its error rethrown', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'tx.db' });
      await db.exec('CREATE TABLE t(x UNIQUE)');
      await db.prepare('INSERT INTO t VALUES (?)').run(1);
      // fn gets the call's arguments; calls on db inside it belong to the transaction.
      const move = db.transaction(async (value: number) => {
        await db.prepare('INSERT INTO t VALUES (?)').run(value + 100);
        await db.prepare('INSERT INTO t VALUES (?)').run(value); // violates UNIQUE when value = 1
        return 'ok';
      });
      let error: { code?: string | undefined; message?: string } = {};
      try {
        await move(1);
      } catch (e) {
        error = { code: (e as { code?: string }).code, message: (e as Error).message };
      }
      const ok = await move(5);
      const rows = await db.prepare('SELECT x FROM t ORDER BY x').all();
      await db.close();
      return { error, ok, rows };
    });
    assert.equal(r.error.code, 'SQLITE_ERROR');
    assert.equal(r.error.message, 'UNIQUE constraint failed: t.x');
    assert.equal(r.ok, 'ok');
    assert.deepEqual(r.rows, [{ x: 1 }, { x: 5 }, { x: 105 }]);
    await page.close();
  });
});

describe('bad input gets a clear error and changes nothing', () => {
  test('SQL errors, bind counts, bad values and bad options', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const { connect, isWalsyncError } = window.walsync;
      const errors: Record<string, { code?: string | undefined; message: string; walsync: boolean }> = {};
      const capture = async (name: string, f: () => Promise<unknown>) => {
        try {
          await f();
          errors[name] = { message: 'no error', walsync: false };
        } catch (e) {
          errors[name] = { code: (e as { code?: string }).code, message: (e as Error).message, walsync: isWalsyncError(e) };
        }
      };
      const db = await connect({ path: 'errors.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
      await db.prepare('INSERT INTO t(v) VALUES (?)').run('keep');
      await capture('syntax', () => db.exec('SELEC 1'));
      await capture('noTable', () => db.prepare('SELECT * FROM x').all());
      await capture('tooFew', () => db.prepare('INSERT INTO t(id, v) VALUES (?, ?)').run(1));
      await capture('tooMany', () => db.prepare('INSERT INTO t(v) VALUES (?)').run('a', 'b'));
      await capture('missingNamed', () => db.prepare('INSERT INTO t(v) VALUES (:v)').run({ w: 1 }));
      await capture('badValue', () => db.prepare('INSERT INTO t(v) VALUES (?)').run([{ nested: true }] as never)); // plain JS callers can still pass it
      await capture('objectForPositional', () => db.prepare('INSERT INTO t(v) VALUES (?)').run({ v: 1 }));
      await capture('undefinedValue', () => db.prepare('INSERT INTO t(v) VALUES (?)').run(undefined as never));
      await capture('notNull', () => db.prepare('INSERT INTO t(v) VALUES (?)').run(null));
      await capture('twoStatements', () => db.prepare('SELECT 1; SELECT 2').all());
      // A failing statement in the middle of a script stops it there; earlier statements stand.
      await capture('scriptStops', () => db.exec("INSERT INTO t(v) VALUES ('s1'); INSERT INTO nowhere VALUES (1); INSERT INTO t(v) VALUES ('s3')"));
      await capture('noPath', () => connect({} as never));
      await capture('emptyPath', () => connect({ path: '' }));
      await capture('dotdot', () => connect({ path: '../x.db' }));
      await capture('unknownOption', () => connect({ path: 'a.db', bogus: 1 } as never));
      await capture('badDurability', () => connect({ path: 'a.db', durability: 'fast' } as never));
      const rows = await db.prepare('SELECT v FROM t ORDER BY id').all();
      await db.close();
      await capture('afterClose', () => db.prepare('SELECT 1').all());
      return { errors, rows };
    });
    const e = r.errors;
    assert.deepEqual(e.syntax, { code: 'SQLITE_ERROR', message: 'near "SELEC": syntax error', walsync: true });
    assert.deepEqual(e.noTable, { code: 'SQLITE_ERROR', message: 'no such table: x', walsync: true });
    assert.equal(e.tooFew!.code, 'INVALID_ARGUMENT');
    assert.match(e.tooFew!.message, /2 parameters but 1 value was given/);
    assert.match(e.tooMany!.message, /1 parameter but 2 values were given/);
    assert.match(e.missingNamed!.message, /missing a value for named parameter :v/);
    assert.match(e.badValue!.message, /cannot bind a value of type Object/);
    assert.match(e.objectForPositional!.message, /parameter 1 is positional/);
    assert.match(e.undefinedValue!.message, /cannot bind a value of type undefined/);
    assert.deepEqual(e.notNull, { code: 'SQLITE_ERROR', message: 'NOT NULL constraint failed: t.v', walsync: true });
    assert.match(e.twoStatements!.message, /one statement/);
    assert.equal(e.scriptStops!.message, 'no such table: nowhere');
    for (const name of ['noPath', 'emptyPath', 'dotdot', 'unknownOption', 'badDurability']) {
      assert.equal(e[name]!.code, 'INVALID_ARGUMENT', name);
    }
    assert.equal(e.afterClose!.code, 'DATABASE_CLOSED');
    assert.deepEqual(r.rows, [{ v: 'keep' }, { v: 's1' }]);
    await page.close();
  });

  test('a page that is not a secure context gets OPFS_UNAVAILABLE with a message saying why', async () => {
    const port = new URL(env.baseUrl).port;
    const page = await env.session.newPage(`http://insecure.walsync.test:${port}${TEST_PAGE}`);
    const r = await page.evaluate(async () => {
      try {
        await window.walsync.connect({ path: 'x.db' });
        return { code: 'none', message: '' };
      } catch (e) {
        return { code: (e as { code?: string }).code, message: (e as Error).message };
      }
    });
    assert.equal(r.code, 'OPFS_UNAVAILABLE');
    assert.match(r.message, /secure context/);
    await page.close();
  });

  test('running out of storage quota fails the write with QUOTA_EXCEEDED and keeps committed data', async () => {
    const page = await openPage();
    const cdp = await env.session.context.newCDPSession(page);
    const origin = new URL(env.baseUrl).origin;
    await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'quota.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)');
      await db.prepare('INSERT INTO t(b) VALUES (zeroblob(1000))').run();
      await db.close();
    });
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 3 * 1024 * 1024 });
    try {
      const r = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: 'quota.db' });
        let error = { code: '', message: '' };
        try {
          // ~8 MB in one transaction: more than the quota allows.
          await db.exec('INSERT INTO t(b) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80) SELECT randomblob(100000) FROM n');
        } catch (e) {
          error = { code: (e as { code: string }).code, message: (e as Error).message };
        }
        const count = await db.prepare('SELECT count(*) AS c FROM t').get();
        const check = await db.prepare('PRAGMA integrity_check').get();
        await db.close();
        return { error, count, check };
      });
      assert.equal(r.error.code, 'QUOTA_EXCEEDED');
      assert.match(r.error.message, /quota/);
      assert.deepEqual(r.count, { c: 1 });
      assert.deepEqual(r.check, { integrity_check: 'ok' });
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
      await page.close();
    }
  });
});

describe('a crash loses nothing committed', () => {
  test('terminating the worker in the middle of a large write transaction keeps the last commit', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'crash-tx.db' });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)');
      await db.exec("INSERT INTO t(payload) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT printf('committed %d', i) FROM n");
      const committedWal = (await window.kit.channel(db).call((api) => api.localStats())).mainWalSize;
      // A large transaction: ~100 MB of rows, far more than can finish before the kill.
      const big = db.exec("INSERT INTO t(payload) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) SELECT printf('%.1000c', 'x') FROM n");
      await new Promise((r) => setTimeout(r, 100));
      window.kit.channel(db).terminate();
      const bigOutcome = await big.then(
        () => 'finished',
        (e) => (e as { code?: string }).code,
      );
      const reopened = await window.walsync.connect({ path: 'crash-tx.db' });
      // SQLite's recovery ignores, but does not cut, frames of the unfinished transaction.
      const walAtReopen = (await window.kit.channel(reopened).call((api) => api.localStats())).mainWalSize;
      const count = await reopened.prepare('SELECT count(*) AS c FROM t').get();
      const check = await reopened.prepare('PRAGMA integrity_check').get();
      // The database keeps working after recovery.
      await reopened.prepare('INSERT INTO t(payload) VALUES (?)').run('after');
      const after = await reopened.prepare('SELECT count(*) AS c FROM t').get();
      await reopened.close();
      return { bigOutcome, count, check, after, uncommittedTail: walAtReopen > committedWal };
    });
    assert.equal(r.bigOutcome, 'DATABASE_CLOSED', 'the kill landed while the transaction was running');
    assert.equal(r.uncommittedTail, true, 'the transaction had written frames before the kill');
    assert.deepEqual(r.count, { c: 1000 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    assert.deepEqual(r.after, { c: 1001 });
    await page.close();
  });

  test('terminating the worker during a checkpoint keeps every commit', async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      // No automatic checkpoints: the one killed must have the whole log to fold.
      const db = await window.walsync.connect({ path: 'crash-ckpt.db', autoCheckpointBytes: 0 });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)');
      for (let i = 0; i < 20; i++) {
        await db.exec(`INSERT INTO t(payload) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) SELECT printf('%.500c', 'y') FROM n`);
      }
      const ckpt = db.checkpoint();
      await new Promise((r) => setTimeout(r, 30));
      window.kit.channel(db).terminate();
      const outcome = await ckpt.then(
        () => 'finished',
        (e) => (e as { code?: string }).code,
      );
      const reopened = await window.walsync.connect({ path: 'crash-ckpt.db' });
      const count = await reopened.prepare('SELECT count(*) AS c FROM t').get();
      const check = await reopened.prepare('PRAGMA integrity_check').get();
      await reopened.checkpoint();
      const afterCheckpoint = await reopened.prepare('SELECT count(*) AS c FROM t').get();
      await reopened.close();
      return { outcome, count, check, afterCheckpoint };
    });
    assert.equal(r.outcome, 'DATABASE_CLOSED', 'the kill landed while the checkpoint was running');
    assert.deepEqual(r.count, { c: 80000 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    assert.deepEqual(r.afterCheckpoint, { c: 80000 });
    await page.close();
  });
});
