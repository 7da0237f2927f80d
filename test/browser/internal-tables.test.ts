/**
 * walsync's own tables (`turso_cdc`, `turso_sync_last_change_id`) and capture triggers are out of
 * reach of app SQL: writes and DDL on them are refused with a clear error, so pending changes are
 * never lost and change ids never fall below the server's position; an app "reset" that drops
 * every table still syncs its drops and loses nothing afterwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

describe("walsync's own tables", () => {
  test('the guard stays on while live queries run (a watch learns its tables without replacing it)', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'guard-watch.db', url, clientName: 'guard-watch' });
      await a.exec('CREATE TABLE gw(id INTEGER PRIMARY KEY, v TEXT); CREATE VIEW gw_view AS SELECT v FROM gw');
      await a.sync();
      const seen: unknown[][] = [];
      const stop = a.watch('SELECT v FROM gw_view ORDER BY v', [], (rows) => seen.push(rows.map((row) => row.v)));
      for (let i = 0; i < 100 && seen.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      await a.prepare('INSERT INTO gw VALUES (?, ?)').run(1, 'pending');
      const refused = await window.kit.errorOf(() => a.exec('DELETE FROM turso_cdc'));
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      stop();
      const pending = (await a.stats()).cdcOperations;
      await a.close();
      return { refused, pending, seen };
    }, env.server.url);
    assert.equal(r.refused.code, 'INVALID_ARGUMENT', JSON.stringify(r.refused));
    assert.equal(r.pending, 1);
    assert.deepEqual(r.seen, [[], ['pending']], 'the watch read the table behind the view');
  });

  test('writes and DDL on the change log are refused with a clear error; the pending change still reaches the server', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'guard-a.db', url, clientName: 'guard-a' });
      await a.exec('CREATE TABLE g(id INTEGER PRIMARY KEY, v TEXT)');
      await a.sync();
      await a.prepare('INSERT INTO g VALUES (?, ?)').run(1, 'pending');
      const attempts = [
        'DELETE FROM turso_cdc',
        'UPDATE turso_cdc SET change_id = change_id + 1000',
        "INSERT INTO turso_cdc(change_time, change_type, table_name, txn_id) VALUES (0, 1, 'g', 1)",
        'DROP TABLE turso_cdc',
        'ALTER TABLE turso_cdc RENAME TO old_cdc',
        'CREATE INDEX cdc_by_table ON turso_cdc(table_name)',
        'CREATE TEMP TABLE turso_cdc(x)',
        'CREATE TEMP TABLE TURSO_CDC(x)',
        'DELETE FROM "Turso_Cdc"',
        'DELETE FROM turso_sync_last_change_id',
        'DROP TABLE turso_sync_last_change_id',
        'DROP TRIGGER walsync_cdc_insert_g',
        'CREATE TRIGGER walsync_cdc_mine AFTER INSERT ON g BEGIN SELECT 1; END',
      ];
      const errors: Record<string, { code: string; message: string; context: Record<string, unknown> }> = {};
      for (const sql of attempts) errors[sql] = await window.kit.errorOf(() => a.exec(sql));
      // Through prepare() (and its statement cache) and batch() too.
      const viaPrepare = await window.kit.errorOf(() => a.prepare('DELETE FROM turso_cdc WHERE change_id > ?').run(0));
      const viaBatch = await window.kit.errorOf(() => a.batch([{ sql: 'DELETE FROM turso_cdc' }], 'deferred'));
      const readable = await a.prepare('SELECT count(*) AS n FROM turso_cdc WHERE table_name = ?').get('g');
      const pending = (await a.stats()).cdcOperations;
      await a.push();
      const b = await window.walsync.connect({ path: 'guard-b.db', url, clientName: 'guard-b' });
      const server = await window.kit.dump(b, 'g');
      await a.close();
      await b.close();
      return { errors, viaPrepare, viaBatch, readable, pending, server };
    }, env.server.url);
    for (const [sql, e] of Object.entries(r.errors)) {
      assert.equal(e.code, 'INVALID_ARGUMENT', `${sql}: ${e.code} ${e.message}`);
    }
    assert.match(r.errors['DELETE FROM turso_cdc']!.message, /turso_cdc is walsync's log of local changes.*refused/);
    assert.equal(r.errors['DELETE FROM turso_cdc']!.context.table, 'turso_cdc');
    assert.match(r.errors['DROP TABLE turso_sync_last_change_id']!.message, /turso_sync_last_change_id is walsync's sync position/);
    assert.match(r.errors['DROP TRIGGER walsync_cdc_insert_g']!.message, /change-capture trigger for table g/);
    assert.match(r.errors['CREATE TRIGGER walsync_cdc_mine AFTER INSERT ON g BEGIN SELECT 1; END']!.message, /reserved/);
    assert.equal(r.viaPrepare.code, 'INVALID_ARGUMENT');
    assert.equal(r.viaBatch.code, 'INVALID_ARGUMENT');
    assert.deepEqual(r.readable, { n: 1 });
    assert.equal(r.pending, 1);
    assert.deepEqual(r.server, [[1, 'pending']]);
  });

  test("an app trigger that writes the log is refused when it would fire, also for a statement already in the cache", async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'guard-trg.db', url, clientName: 'guard-trg' });
      await a.exec('CREATE TABLE h(id INTEGER PRIMARY KEY, v TEXT)');
      const insert = a.prepare('INSERT INTO h(v) VALUES (?)');
      await insert.run('before the trigger');
      await a.exec('CREATE TRIGGER wipe AFTER INSERT ON h BEGIN DELETE FROM turso_cdc; END');
      // The cached statement is re-prepared under the new schema: with the trigger, it is refused.
      const cached = await window.kit.errorOf(() => insert.run('with the trigger'));
      await a.exec('DROP TRIGGER wipe');
      await insert.run('after the trigger');
      const rows = await window.kit.dump(a, 'h');
      const pending = (await a.stats()).cdcOperations;
      await a.close();
      return { cached, rows, pending };
    }, env.server.url);
    assert.equal(r.cached.code, 'INVALID_ARGUMENT');
    assert.match(r.cached.message, /turso_cdc.*trigger wipe/);
    assert.deepEqual(r.rows, [
      [1, 'before the trigger'],
      [2, 'after the trigger'],
    ]);
    // CREATE TABLE, 2 inserts, and the trigger's DDL (local-only, not counted).
    assert.equal(r.pending, 3);
  });

  test('an app that drops every table in sqlite_schema syncs its drops, and nothing is lost afterwards', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'reset-a.db', url, clientName: 'reset-a' });
      await a.exec('CREATE TABLE r1(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE r2(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)');
      await a.exec("INSERT INTO r1 VALUES (1, 'old'); INSERT INTO r2(v) VALUES ('old')");
      await a.sync();
      await a.prepare('INSERT INTO r1 VALUES (?, ?)').run(2, 'pending before the reset');
      // The app's "reset": every table listed, not skipping walsync's or SQLite's.
      const names = (await a.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all()).map((row) => String(row.name));
      const refused: Record<string, string> = {};
      for (const name of names) {
        const e = await window.kit.errorOf(() => a.exec(`DROP TABLE "${name}"`));
        if (e.code !== 'none') refused[name] = e.code;
      }
      // The app starts over: new tables work at once, no reopen needed.
      await a.exec('CREATE TABLE fresh(id INTEGER PRIMARY KEY, v TEXT)');
      await a.prepare('INSERT INTO fresh VALUES (?, ?)').run(1, 'after the reset');
      await a.sync();
      const pendingAfterSync = (await a.stats()).cdcOperations;
      const b = await window.walsync.connect({ path: 'reset-b.db', url, clientName: 'reset-b' });
      const serverTables = (await b.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('r1', 'r2', 'fresh') ORDER BY name").all()).map((row) => row.name);
      const serverFresh = await window.kit.dump(b, 'fresh');
      // Afterwards: more changes, a pull, and they are all still there, locally and on the server.
      await a.prepare('INSERT INTO fresh VALUES (?, ?)').run(2, 'later');
      await a.sync();
      await a.pull();
      const local = await window.kit.dump(a, 'fresh');
      await b.pull();
      const onB = await window.kit.dump(b, 'fresh');
      await a.close();
      await b.close();
      return { names, refused, pendingAfterSync, serverTables, serverFresh, local, onB };
    }, env.server.url);
    assert.ok(r.names.includes('turso_cdc'));
    assert.equal(r.refused.turso_cdc, 'INVALID_ARGUMENT');
    if (r.names.includes('turso_sync_last_change_id')) assert.equal(r.refused.turso_sync_last_change_id, 'INVALID_ARGUMENT');
    assert.equal(r.refused.r1, undefined, 'the app tables were dropped');
    assert.equal(r.refused.r2, undefined);
    assert.equal(r.pendingAfterSync, 0);
    assert.deepEqual(r.serverTables, ['fresh']);
    assert.deepEqual(r.serverFresh, [[1, 'after the reset']]);
    assert.deepEqual(r.local, [
      [1, 'after the reset'],
      [2, 'later'],
    ]);
    assert.deepEqual(r.onB, r.local);
  });

  test('VACUUM on a synced database is refused with a clear error and changes nothing', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'vacuum-sync.db', url, clientName: 'vacuum' });
      await a.exec('CREATE TABLE nokey(v TEXT)');
      await a.exec("INSERT INTO nokey VALUES ('a'), ('b'), ('c'); DELETE FROM nokey WHERE v = 'a'");
      const viaExec = await window.kit.errorOf(() => a.exec('VACUUM'));
      const viaPrepare = await window.kit.errorOf(() => a.prepare('/* tidy */ VACUUM').all());
      const rows = await a.prepare('SELECT rowid AS id, v FROM nokey ORDER BY rowid').all();
      await a.sync();
      const check = await a.prepare('PRAGMA integrity_check').get();
      await a.close();
      return { viaExec, viaPrepare, rows, check };
    }, env.server.url);
    assert.equal(r.viaExec.code, 'INVALID_ARGUMENT');
    assert.match(r.viaExec.message, /VACUUM is not available on a synced database/);
    assert.equal(r.viaPrepare.code, 'INVALID_ARGUMENT');
    assert.deepEqual(r.rows, [
      { id: 2, v: 'b' },
      { id: 3, v: 'c' },
    ]);
    assert.deepEqual(r.check, { integrity_check: 'ok' });
  });
});
