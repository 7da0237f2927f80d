/**
 * No client gets stuck (issues 10 and 12), against a real `tursodb --sync-server`: a row the
 * server refused goes through once fixed (pushes send the net effect per row), a change that
 * cannot be replayed does not block pulls (pendingChanges / discardChange), and a schema the
 * server refuses does not block every later push.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

describe('a refused row change', () => {
  test('a row refused by a server-only UNIQUE index, fixed locally, pushes; server and client end equal', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'st10-a.db', url, clientName: 'a' });
      await a.exec("CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT); INSERT INTO u VALUES (1, 'a@x')");
      await a.push();
      const b = await window.walsync.connect({ path: 'st10-b.db', url, clientName: 'b' });
      // The index reaches the server; b has not pulled it.
      await a.exec('CREATE UNIQUE INDEX u_email ON u(email)');
      await a.push();
      await b.exec("INSERT INTO u VALUES (2, 'b@x')");
      await b.exec("INSERT INTO u VALUES (3, 'a@x')");
      const refused = await window.kit.errorOf(() => b.push());
      const pending = await b.pendingChanges();
      await b.exec("UPDATE u SET email = 'c@x' WHERE id = 3");
      const fixedPush = await window.kit.errorOf(() => b.push());
      const pull = await window.kit.errorOf(() => b.pull());
      await a.pull();
      const result = {
        refused,
        pending,
        fixedPush,
        pull,
        onA: await window.kit.dump(a, 'u'),
        onB: await window.kit.dump(b, 'u'),
        left: (await b.stats()).cdcOperations,
        indexOnB: await b.prepare("SELECT name FROM sqlite_schema WHERE name = 'u_email'").get(),
      };
      await a.close();
      await b.close();
      return result;
    }, env.server.url);
    assert.equal(r.refused.code, 'PUSH_REJECTED');
    assert.match(r.refused.message, /UNIQUE constraint failed: u\.email/);
    const insert3 = r.pending.find((c) => c.changeType === 'insert' && c.after?.id === 3)!;
    assert.ok(insert3, JSON.stringify(r.pending));
    assert.deepEqual(r.refused.context.changeIds, [insert3.changeId]);
    assert.deepEqual(insert3.key, { id: 3 });
    assert.deepEqual(insert3.after, { id: 3, email: 'a@x' });
    assert.equal(insert3.isSchemaChange, false);
    assert.equal(r.fixedPush.code, 'none', `the fixed row goes as one insert of its final values: ${r.fixedPush.message}`);
    assert.equal(r.pull.code, 'none', r.pull.message);
    assert.deepEqual(r.onA, [
      [1, 'a@x'],
      [2, 'b@x'],
      [3, 'c@x'],
    ]);
    assert.deepEqual(r.onB, r.onA);
    assert.equal(r.left, 0);
    assert.deepEqual(r.indexOnB, { name: 'u_email' });
  });

  test('a change a pull cannot replay names itself; fixing it or discarding it lets the pull through', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'st10p-a.db', url, clientName: 'a' });
      await a.exec("CREATE TABLE v(id INTEGER PRIMARY KEY, email TEXT); INSERT INTO v VALUES (1, 'a@x')");
      await a.push();
      const b = await window.walsync.connect({ path: 'st10p-b.db', url, clientName: 'b' });
      const c = await window.walsync.connect({ path: 'st10p-c.db', url, clientName: 'c' });
      await a.exec('CREATE UNIQUE INDEX v_email ON v(email)');
      await a.push();
      // b fixes its row before pulling; c gives up on its row and discards it.
      await b.exec("INSERT INTO v VALUES (3, 'a@x')");
      const bFirst = await window.kit.errorOf(() => b.pull());
      await b.exec("UPDATE v SET email = 'b@x' WHERE id = 3");
      const bFixed = await window.kit.errorOf(() => b.pull());
      await b.push();
      await c.exec("INSERT INTO v VALUES (4, 'a@x'); INSERT INTO v VALUES (5, 'e@x')");
      const cFirst = await window.kit.errorOf(() => c.pull());
      const cPending = await c.pendingChanges();
      const discarded = await c.discardChange(cFirst.context.changeIds as number[]);
      const notPending = await window.kit.errorOf(() => c.discardChange(cFirst.context.changeIds as number[]));
      const cPendingAfter = await c.pendingChanges();
      const cPull = await window.kit.errorOf(() => c.pull());
      await c.push();
      await a.pull();
      await b.pull();
      const result = {
        bFirst,
        bFixed,
        cFirst,
        cPending,
        discarded,
        notPending,
        cPendingAfter,
        cPull,
        onA: await window.kit.dump(a, 'v'),
        onB: await window.kit.dump(b, 'v'),
        onC: await window.kit.dump(c, 'v'),
      };
      for (const db of [a, b, c]) await db.close();
      return result;
    }, env.server.url);
    assert.equal(r.bFirst.code, 'SQLITE_ERROR');
    assert.match(r.bFirst.message, /UNIQUE constraint failed: v\.email/);
    assert.equal(r.bFixed.code, 'none', `the fixed row replays as one insert: ${r.bFixed.message}`);
    assert.equal(r.cFirst.code, 'SQLITE_ERROR');
    assert.equal(r.cFirst.context.tableName, 'v');
    const insert4 = r.cPending.find((ch) => ch.after?.id === 4)!;
    assert.deepEqual(r.cFirst.context.changeIds, [insert4.changeId]);
    assert.equal(r.cPending.length, 2);
    assert.equal(r.discarded, 1);
    assert.equal(r.notPending.code, 'INVALID_ARGUMENT');
    assert.deepEqual(r.cPendingAfter.map((ch) => ch.after?.id), [5]);
    assert.equal(r.cPull.code, 'none', r.cPull.message);
    assert.deepEqual(r.onA, [
      [1, 'a@x'],
      [3, 'b@x'],
      [5, 'e@x'],
    ]);
    assert.deepEqual(r.onB, r.onA);
    assert.deepEqual(r.onC, r.onA, 'the discarded row is gone locally too');
  });

  test('a discarded change is undone locally by the next pull, even when the server has nothing new', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'st10d-a.db', url, clientName: 'a' });
      await a.exec("CREATE TABLE d(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO d VALUES (1, 'kept')");
      await a.sync();
      await a.exec("UPDATE d SET v = 'discarded' WHERE id = 1; INSERT INTO d VALUES (2, 'discarded too')");
      const ids = (await a.pendingChanges()).map((c) => c.changeId);
      await a.discardChange(ids);
      const beforePull = await window.kit.dump(a, 'd');
      const brought = await a.pull();
      const afterPull = await window.kit.dump(a, 'd');
      const again = await a.pull();
      const pending = (await a.stats()).cdcOperations;
      await a.close();
      return { beforePull, brought, afterPull, again, pending };
    }, env.server.url);
    assert.deepEqual(r.beforePull, [
      [1, 'discarded'],
      [2, 'discarded too'],
    ]);
    assert.equal(r.brought, true, 'the rollback and replay count as a pull that changed something');
    assert.deepEqual(r.afterPull, [[1, 'kept']]);
    assert.equal(r.again, false);
    assert.equal(r.pending, 0);
  });
});

describe('net changes and their fallback', () => {
  test('a swap through a third value under UNIQUE (the net form alone is refused) still replays and pushes, as logged', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'swap-a.db', url, clientName: 'a' });
      await a.exec("CREATE TABLE swap(id TEXT PRIMARY KEY, pos INTEGER UNIQUE); INSERT INTO swap VALUES ('A', 1), ('B', 2); CREATE TABLE other(id INTEGER PRIMARY KEY)");
      await a.push();
      const b = await window.walsync.connect({ path: 'swap-b.db', url, clientName: 'b' });
      await b.transaction(async (tx) => {
        await tx.exec("UPDATE swap SET pos = 0 WHERE id = 'A'");
        await tx.exec("UPDATE swap SET pos = 1 WHERE id = 'B'");
        await tx.exec("UPDATE swap SET pos = 2 WHERE id = 'A'");
      })();
      // The pull brings pages, so b replays its swap on them; then b pushes it.
      await a.exec('INSERT INTO other VALUES (1)');
      await a.push();
      const pull = await window.kit.errorOf(() => b.pull());
      const push = await window.kit.errorOf(() => b.push());
      await a.pull();
      const result = { pull, push, onA: await window.kit.dump(a, 'swap'), onB: await window.kit.dump(b, 'swap'), other: await window.kit.dump(b, 'other') };
      await a.close();
      await b.close();
      return result;
    }, env.server.url);
    assert.equal(r.pull.code, 'none', r.pull.message);
    assert.equal(r.push.code, 'none', r.push.message);
    assert.deepEqual(r.onB, [
      ['A', 2],
      ['B', 1],
    ]);
    assert.deepEqual(r.onA, r.onB);
    assert.deepEqual(r.other, [[1]]);
  });
});

describe('a schema the server refuses', () => {
  // tursodb --sync-server (as scripts/sync-server.ts starts it) refuses WITHOUT ROWID tables:
  // "WITHOUT ROWID tables are an experimental feature. Enable with --experimental-without-rowid flag".
  test('a refused WITHOUT ROWID table is named, discarded with its rows, and other tables push again', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'st12-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE fine(id INTEGER PRIMARY KEY, v TEXT)');
      await a.exec("CREATE TABLE w(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; INSERT INTO w VALUES ('x', 'one')");
      await a.exec("INSERT INTO fine VALUES (1, 'after the refused table')");
      const refused = await window.kit.errorOf(() => a.push());
      // Dropping the table locally is not enough: its CREATE is still queued before the DROP.
      await a.exec('DROP TABLE w');
      const again = await window.kit.errorOf(() => a.push());
      const pending = await a.pendingChanges();
      const ofW = pending.filter((c) => c.tableName === 'w').map((c) => c.changeId);
      const discarded = await a.discardChange(ofW);
      const pushed = await window.kit.errorOf(() => a.push());
      const pulled = await window.kit.errorOf(() => a.pull());
      const b = await window.walsync.connect({ path: 'st12-b.db', url, clientName: 'b' });
      const tables = async (db: typeof a) =>
        (await db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('w', 'fine') ORDER BY name").all()).map((t) => t.name);
      const result = {
        refused,
        again,
        pending,
        discarded,
        pushed,
        pulled,
        tablesA: await tables(a),
        tablesB: await tables(b),
        onA: await window.kit.dump(a, 'fine'),
        onB: await window.kit.dump(b, 'fine'),
        left: (await a.stats()).cdcOperations,
      };
      await a.close();
      await b.close();
      return result;
    }, env.server.url);
    assert.equal(r.refused.code, 'PUSH_REJECTED');
    assert.match(r.refused.message, /WITHOUT ROWID/);
    assert.equal(r.refused.context.isSchemaChange, true);
    assert.equal(r.refused.context.tableName, 'w');
    const create = r.pending.find((c) => c.isSchemaChange && c.tableName === 'w')!;
    assert.equal(create.changeType, 'schema');
    assert.match(String(create.sql), /^CREATE TABLE w\(.*\) WITHOUT ROWID;?$/);
    assert.equal(r.refused.context.changeId, create.changeId);
    assert.equal(r.again.code, 'PUSH_REJECTED', 'the refused CREATE still blocks the queue until it is discarded');
    assert.equal(r.discarded, 3, 'the CREATE, the insert and the DROP of w');
    assert.equal(r.pushed.code, 'none', r.pushed.message);
    assert.equal(r.pulled.code, 'none', r.pulled.message);
    assert.deepEqual(r.tablesA, ['fine'], 'the pull undid the discarded table locally');
    assert.deepEqual(r.tablesB, ['fine']);
    assert.deepEqual(r.onA, [[1, 'after the refused table']]);
    assert.deepEqual(r.onB, r.onA);
    assert.equal(r.left, 0);
  });

  test('transform sees schema changes and can skip a refused table with its rows', async () => {
    const r = await env.page.evaluate(async (url) => {
      const seen: { changeType: string; tableName: string; sql?: string }[] = [];
      const a = await window.walsync.connect({
        path: 'st12t-a.db',
        url,
        clientName: 'a',
        transform: (m) => {
          seen.push({ changeType: m.changeType, tableName: m.tableName, ...(m.sql ? { sql: m.sql } : {}) });
          return m.tableName === 'w2' ? { operation: 'skip' } : null;
        },
      });
      await a.exec("CREATE TABLE w2(k TEXT PRIMARY KEY) WITHOUT ROWID; INSERT INTO w2 VALUES ('x')");
      await a.exec('CREATE TABLE fine2(id INTEGER PRIMARY KEY); INSERT INTO fine2 VALUES (1)');
      const pushed = await window.kit.errorOf(() => a.push());
      const b = await window.walsync.connect({ path: 'st12t-b.db', url, clientName: 'b' });
      const onB = await b.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('w2', 'fine2') ORDER BY name").all();
      const rowsB = await window.kit.dump(b, 'fine2');
      await a.close();
      await b.close();
      return { seen: seen.map((m) => (m.sql ? { ...m, sql: m.sql.replace(/;$/, '') } : m)), pushed, onB, rowsB };
    }, env.server.url);
    assert.equal(r.pushed.code, 'none', r.pushed.message);
    assert.deepEqual(r.seen.find((m) => m.tableName === 'w2' && m.changeType === 'schema'), {
      changeType: 'schema',
      tableName: 'w2',
      sql: 'CREATE TABLE w2(k TEXT PRIMARY KEY) WITHOUT ROWID',
    });
    assert.deepEqual(r.onB, [{ name: 'fine2' }]);
    assert.deepEqual(r.rowsB, [[1]]);
  });
});
