/**
 * Live database against a real `tursodb --sync-server`: table change notices, live queries
 * (watch), sync status and the background sync loop.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

describe('table change notices and watch', () => {
  test('one notice per transaction and per batch, at COMMIT, none for a rollback; DDL and WITHOUT ROWID tables count', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'notice.db' });
      const notices: string[][] = [];
      const stop = db.onTablesChanged((tables, source) => notices.push([source, ...[...tables].sort()]));
      await db.exec('CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; CREATE TABLE c(x)');
      const afterDdl = notices.length;
      notices.length = 0;
      let insideTx = -1;
      await db.transaction(async (tx) => {
        await tx.exec("INSERT INTO a(v) VALUES ('1')");
        await tx.exec("INSERT INTO a(v) VALUES ('2')");
        await tx.exec("INSERT INTO b VALUES ('k', 'v')");
        await window.kit.sleep(50);
        insideTx = notices.length;
      })();
      const afterCommit = notices.slice();
      notices.length = 0;
      await db
        .transaction(async (tx) => {
          await tx.exec("INSERT INTO c VALUES ('rolled back')");
          throw new Error('no');
        })()
        .catch(() => undefined);
      await db.batch(["INSERT INTO a(v) VALUES ('x')", "INSERT INTO a(v) VALUES ('y')", "UPDATE b SET v = 'w'"]);
      await db.prepare('SELECT * FROM a').all();
      await db.exec("UPDATE a SET v = v WHERE id = -1");
      const afterBatch = notices.slice();
      stop();
      await db.exec("INSERT INTO a(v) VALUES ('after stop')");
      const afterStop = notices.length;
      await db.close();
      return { afterDdl, insideTx, afterCommit, afterBatch, afterStop };
    });
    assert.ok(r.afterDdl >= 1, 'a schema change is a change');
    assert.equal(r.insideTx, 0, 'nothing before COMMIT');
    assert.deepEqual(r.afterCommit, [['local', 'a', 'b']]);
    assert.deepEqual(r.afterBatch, [['local', 'a', 'b']], 'one notice for the batch, none for the rollback, reads or no-op writes');
    assert.equal(r.afterStop, 1);
  });

  test('a watch delivers at once, once per transaction, not when a write leaves its result alone; the iterable form', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'watch.db' });
      await db.exec('CREATE TABLE w(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE other(x)');
      const seen: unknown[] = [];
      const until = async (n: number) => {
        for (let i = 0; i < 400 && seen.length < n; i++) await window.kit.sleep(25);
      };
      const stop = db.watch('SELECT id, v FROM w WHERE id < ? ORDER BY id', [10], (rows) => seen.push(rows));
      await until(1);
      await db.transaction(async (tx) => {
        for (let i = 1; i <= 3; i++) await tx.prepare('INSERT INTO w VALUES (?, ?)').run(i, `v${i}`);
      })();
      await until(2);
      await db.exec("INSERT INTO w VALUES (100, 'outside the filter'); INSERT INTO other VALUES (1)");
      await db.exec("UPDATE w SET v = v WHERE id = 1");
      await db.exec("UPDATE w SET v = 'changed' WHERE id = 2");
      await until(3);
      await window.kit.sleep(200);
      stop();
      await db.exec("DELETE FROM w");
      await window.kit.sleep(200);

      const iterated: unknown[] = [];
      const iterate = (async () => {
        for await (const rows of db.watch('SELECT count(*) AS n FROM w')) {
          iterated.push(rows);
          if (iterated.length === 1) await db.exec("INSERT INTO w VALUES (1, 'again')");
          if (iterated.length === 2) break;
        }
      })();
      await iterate;
      await db.close();
      return { seen, iterated };
    });
    assert.deepEqual(r.seen, [
      [],
      [
        { id: 1, v: 'v1' },
        { id: 2, v: 'v2' },
        { id: 3, v: 'v3' },
      ],
      [
        { id: 1, v: 'v1' },
        { id: 2, v: 'changed' },
        { id: 3, v: 'v3' },
      ],
    ]);
    assert.deepEqual(r.iterated, [[{ n: 0 }], [{ n: 1 }]]);
  });

  test('a watch waits for an open transaction to end instead of joining it', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'watch-tx.db' });
      await db.exec('CREATE TABLE t(x)');
      const seen: unknown[] = [];
      let seenInside = -1;
      await db.transaction(async (tx) => {
        await tx.exec('INSERT INTO t VALUES (1)');
        db.watch('SELECT count(*) AS n FROM t', [], (rows) => seen.push(rows));
        await window.kit.sleep(300);
        seenInside = seen.length;
        await tx.exec('INSERT INTO t VALUES (2)');
      })();
      for (let i = 0; i < 400 && seen.length < 1; i++) await window.kit.sleep(25);
      await window.kit.sleep(100);
      await db.close();
      return { seen, seenInside };
    });
    assert.equal(r.seenInside, 0);
    assert.deepEqual(r.seen, [[{ n: 2 }]]);
  });

  test('a watch re-runs after a pull brings another client’s change; bad queries reach onError', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'watch-pull-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)');
      await a.push();
      const b = await window.walsync.connect({ path: 'watch-pull-b.db', url, clientName: 'b' });
      const seen: unknown[] = [];
      const sources: string[] = [];
      a.onTablesChanged((_t, source) => sources.push(source));
      a.watch('SELECT name FROM items ORDER BY id', [], (rows) => seen.push(rows));
      for (let i = 0; i < 400 && seen.length < 1; i++) await window.kit.sleep(25);
      await b.prepare('INSERT INTO items VALUES (?, ?)').run(1, 'from b');
      await b.push();
      const changed = await a.pull();
      for (let i = 0; i < 400 && seen.length < 2; i++) await window.kit.sleep(25);
      const errors: string[] = [];
      a.watch('SELECT * FROM missing', [], () => undefined, { onError: (e) => errors.push(e.code + ': ' + e.message) });
      const writing = await window.kit.errorOf(async () => a.watch('DELETE FROM items', [])[Symbol.asyncIterator]().next());
      for (let i = 0; i < 400 && errors.length < 1; i++) await window.kit.sleep(25);
      await a.close();
      await b.close();
      return { seen, changed, sources, errors, writing };
    }, env.server.url);
    assert.equal(r.changed, true);
    assert.deepEqual(r.seen, [[], [{ name: 'from b' }]]);
    assert.ok(r.sources.includes('pull'), r.sources.join());
    assert.match(r.errors[0] ?? '', /^SQLITE_ERROR: no such table: missing/);
    assert.equal(r.writing.code, 'INVALID_ARGUMENT');
  });
});
