/**
 * Interop with Turso's own client through one real tursodb: what `@tursodatabase/sync-wasm` pushes,
 * walsync pulls, and the reverse — inserts, updates, deletes, every value type, schema changes.
 * (Turso's native Node client, `@tursodatabase/sync`, cannot be installed from our registry: its
 * platform packages are missing there. sync-wasm runs the same Rust engine, compiled to wasm.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage('/test/browser/pages/turso.html');

/** Turso's client as the page sees it (its types are not needed by the test). */
interface TursoDb {
  exec(sql: string): Promise<void>;
  prepare(sql: string): { all(...args: unknown[]): Promise<Record<string, unknown>[]>; run(...args: unknown[]): Promise<unknown> };
  push(): Promise<void>;
  pull(): Promise<boolean>;
  close(): Promise<void>;
}

test('rows, updates and deletes pushed by Turso’s client are pulled by walsync, and the reverse', async () => {
  const r = await env.page.evaluate(async (url) => {
    const connectTurso = (window as unknown as { turso: { connect(o: object): Promise<TursoDb> } }).turso.connect;
    const turso = await connectTurso({ path: ':memory:', url, clientName: 'turso' });
    await turso.exec('CREATE TABLE kinds(id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n TEXT)');
    await turso.exec("INSERT INTO kinds VALUES (1, 9007199254740993, 2.5, 'ünïcode ✓', x'00ff10', NULL)");
    await turso.exec("INSERT INTO kinds VALUES (2, -7, 1e-3, 'two', x'', 'not null')");
    await turso.exec("INSERT INTO kinds VALUES (3, 3, 3.0, 'three', NULL, NULL)");
    await turso.exec("UPDATE kinds SET t = 'two, edited' WHERE id = 2");
    await turso.exec('DELETE FROM kinds WHERE id = 3');
    await turso.push();

    const w = await window.walsync.connect({ path: 'interop-w.db', url, clientName: 'walsync' });
    // Integers as text: Turso's client reads beyond 2^53 as lossy numbers, which says nothing about sync.
    const q = 'SELECT id, CAST(i AS TEXT) AS i, typeof(i) AS ti, r, typeof(r) AS tr, t, hex(b) AS b, typeof(b) AS tb, n FROM kinds ORDER BY id';
    const pulledByWalsync = await w.prepare(q).all();

    await w.exec("INSERT INTO kinds VALUES (4, 4, 4.25, 'from walsync', x'cafe', NULL)");
    await w.exec("UPDATE kinds SET r = 0.5, n = 'set by walsync' WHERE id = 1");
    await w.exec('DELETE FROM kinds WHERE id = 2');
    await w.exec('ALTER TABLE kinds ADD COLUMN extra TEXT DEFAULT \'d\'');
    await w.exec("CREATE TABLE notes(id TEXT PRIMARY KEY, body TEXT)");
    await w.exec("INSERT INTO notes VALUES ('n1', 'hello from walsync')");
    await w.push();

    await turso.pull();
    const pulledByTurso = await turso.prepare(q.replace('n FROM', 'n, extra FROM')).all();
    const notes = await turso.prepare('SELECT * FROM notes').all();

    // And once more the other way, on the schema walsync changed.
    await turso.exec("UPDATE kinds SET extra = 'from turso' WHERE id = 4");
    await turso.push();
    await w.pull();
    const back = await w.prepare('SELECT id, extra FROM kinds ORDER BY id').all();
    const check = await w.prepare('PRAGMA integrity_check').get();
    await w.close();
    await turso.close();
    const plain = (rows: Record<string, unknown>[]) => rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? String(v) : v])));
    return { pulledByWalsync: plain(pulledByWalsync), pulledByTurso: plain(pulledByTurso), notes, back, check };
  }, env.server.url);

  assert.deepEqual(r.pulledByWalsync, [
    { id: 1, i: '9007199254740993', ti: 'integer', r: 2.5, tr: 'real', t: 'ünïcode ✓', b: '00FF10', tb: 'blob', n: null },
    { id: 2, i: '-7', ti: 'integer', r: 0.001, tr: 'real', t: 'two, edited', b: '', tb: 'blob', n: 'not null' },
  ]);
  assert.deepEqual(r.pulledByTurso, [
    { id: 1, i: '9007199254740993', ti: 'integer', r: 0.5, tr: 'real', t: 'ünïcode ✓', b: '00FF10', tb: 'blob', n: 'set by walsync', extra: 'd' },
    { id: 4, i: '4', ti: 'integer', r: 4.25, tr: 'real', t: 'from walsync', b: 'CAFE', tb: 'blob', n: null, extra: 'd' },
  ]);
  assert.deepEqual(r.notes, [{ id: 'n1', body: 'hello from walsync' }]);
  assert.deepEqual(r.back, [
    { id: 1, extra: 'd' },
    { id: 4, extra: 'from turso' },
  ]);
  assert.deepEqual(r.check, { integrity_check: 'ok' });
});
