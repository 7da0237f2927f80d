/**
 * A log of inserts only (a bulk load) is its own net form: coalesce() hands each insert back as
 * logged, in order, with its decoded values, including an INSERT OR REPLACE over a row inserted
 * earlier (which never merges with it); a log with an update still merges per row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '@sqlite.org/sqlite-wasm';
import { loadSqlite, registerMemoryFiles } from '../support/node-sqlite.js';
import { openWalConnection } from '../../worker/connection.js';
import { createChangeCapture } from '../../worker/cdc/change-capture-adapter.js';

async function capturing(): Promise<{ db: Database; capture: ReturnType<typeof createChangeCapture>; run: (sql: string, bind?: unknown[]) => void }> {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  const db = openWalConnection(sqlite3, files.name, { synchronous: 'normal' });
  const capture = createChangeCapture(sqlite3, []);
  capture.enable(db);
  const run = (sql: string, bind: unknown[] = []) =>
    capture.around(db, sql, () => capture.guard(db, () => db.exec({ sql, bind: bind as never })), false);
  run('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
  return { db, capture, run };
}

test('inserts only: every insert comes back as logged, in order, with its values', async () => {
  const { db, capture, run } = await capturing();
  try {
    run('BEGIN');
    for (let i = 1; i <= 5; i++) run('INSERT INTO items VALUES (?, ?)', [i, `n${i}`]);
    run('INSERT OR REPLACE INTO items VALUES (?, ?)', [2, 'again']);
    run('COMMIT');
    const logged = capture.read(db, 0, 100);
    const net = capture.coalesce(db, logged);
    assert.deepEqual(net.map((c) => c.changeId), logged.map((c) => c.changeId));
    assert.deepEqual(net.map((c) => c.changeIds), logged.map((c) => [c.changeId]));
    const rows = net.filter((c) => !c.isSchemaChange).map((c) => c.net);
    assert.deepEqual(
      rows.map((n) => [n?.changeType, n?.before, n?.after]),
      [[1, 'n1'], [2, 'n2'], [3, 'n3'], [4, 'n4'], [5, 'n5'], [2, 'again']].map((after) => ['insert', null, after]),
    );
  } finally {
    db.close();
  }
});

test('an insert then an update of the same row still merge into one insert', async () => {
  const { db, capture, run } = await capturing();
  try {
    run('INSERT INTO items VALUES (?, ?)', [1, 'a']);
    run('UPDATE items SET name = ? WHERE id = 1', ['b']);
    const logged = capture.read(db, 0, 100).filter((c) => !c.isSchemaChange);
    const net = capture.coalesce(db, logged);
    assert.equal(net.length, 1);
    assert.deepEqual(net[0]!.changeIds, logged.map((c) => c.changeId));
    assert.deepEqual([net[0]!.net?.changeType, net[0]!.net?.after], ['insert', [1, 'b']]);
  } finally {
    db.close();
  }
});
