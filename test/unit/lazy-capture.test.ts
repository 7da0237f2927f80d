/**
 * Change capture enabled lazily (as at open, so the first query does not wait for the triggers):
 * every write is still captured, transaction ids still continue the log's, and triggers created
 * inside a transaction that rolls back are created again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '@sqlite.org/sqlite-wasm';
import { loadSqlite, registerMemoryFiles } from '../support/node-sqlite.js';
import { openWalConnection } from '../../worker/connection.js';
import { createChangeCapture } from '../../worker/cdc/change-capture-adapter.js';

type Capture = ReturnType<typeof createChangeCapture>;

/** Runs app SQL the way LocalDatabase does: prepared, then through around() with its read-only flag. */
function runApp(sqlite3: Awaited<ReturnType<typeof loadSqlite>>['sqlite3'], db: Database, capture: Capture, sql: string, bind: unknown[] = []): void {
  const stmt = db.prepare(sql);
  try {
    if (bind.length > 0) stmt.bind(bind as never);
    const readonly = sqlite3.capi.sqlite3_stmt_readonly(stmt.pointer!) !== 0;
    capture.around(db, sql, () => capture.guard(db, () => {
      while (stmt.step()) {
        /* drain */
      }
    }), readonly);
  } finally {
    stmt.finalize();
  }
}

function captureTriggers(db: Database): number {
  return Number(db.selectValue("SELECT count(*) FROM temp.sqlite_schema WHERE type = 'trigger' AND name LIKE 'walsync\\_cdc\\_%' ESCAPE '\\'"));
}

async function reopenedWithLog(): Promise<{ sqlite3: Awaited<ReturnType<typeof loadSqlite>>['sqlite3']; db: Database; capture: Capture }> {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  const first = openWalConnection(sqlite3, files.name, { synchronous: 'normal' });
  const eager = createChangeCapture(sqlite3, []);
  eager.enable(first);
  runApp(sqlite3, first, eager, 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
  for (let i = 1; i <= 3; i++) runApp(sqlite3, first, eager, 'INSERT INTO items VALUES (?, ?)', [i, `n${i}`]);
  first.close();
  const db = openWalConnection(sqlite3, files.name, { synchronous: 'normal' });
  const capture = createChangeCapture(sqlite3, []);
  capture.enable(db, true);
  return { sqlite3, db, capture };
}

test('after a lazy enable, reads create no triggers and the first write is captured with a new transaction id', async () => {
  const { sqlite3, db, capture } = await reopenedWithLog();
  try {
    runApp(sqlite3, db, capture, 'SELECT count(*) FROM items');
    assert.equal(captureTriggers(db), 0, 'a read does not wait for the triggers');
    const lastTxn = Number(db.selectValue('SELECT max(txn_id) FROM turso_cdc'));
    runApp(sqlite3, db, capture, 'INSERT INTO items VALUES (10, ?)', ['ten']);
    assert.ok(captureTriggers(db) > 0);
    const row = db.selectArray('SELECT id, txn_id FROM turso_cdc ORDER BY change_id DESC LIMIT 1') as number[];
    assert.equal(Number(row[0]), 10);
    assert.equal(Number(row[1]), lastTxn + 1, 'the transaction id continues the log');
  } finally {
    db.close();
  }
});

test('after a lazy enable, writes in a transaction are captured, and again after one rolled back', async () => {
  const { sqlite3, db, capture } = await reopenedWithLog();
  try {
    const before = Number(db.selectValue('SELECT count(*) FROM turso_cdc'));
    runApp(sqlite3, db, capture, 'BEGIN');
    runApp(sqlite3, db, capture, 'INSERT INTO items VALUES (20, ?)', ['x']);
    runApp(sqlite3, db, capture, 'ROLLBACK');
    runApp(sqlite3, db, capture, 'INSERT INTO items VALUES (21, ?)', ['y']);
    runApp(sqlite3, db, capture, 'SAVEPOINT s');
    runApp(sqlite3, db, capture, 'UPDATE items SET name = ? WHERE id = 1', ['z']);
    runApp(sqlite3, db, capture, 'RELEASE s');
    const logged = db.selectArrays(`SELECT id, change_type FROM turso_cdc ORDER BY change_id LIMIT -1 OFFSET ${before}`) as number[][];
    assert.deepEqual(logged.map((r) => [Number(r[0]), Number(r[1])]), [[21, 1], [1, 0]]);
  } finally {
    db.close();
  }
});

test('triggers a lazy enable created inside a transaction that rolled back are created again', async () => {
  const { sqlite3, db, capture } = await reopenedWithLog();
  try {
    // A transaction opened behind the capture's back (not through around()): its triggers roll back with it.
    db.exec('BEGIN');
    runApp(sqlite3, db, capture, 'INSERT INTO items VALUES (30, ?)', ['a']);
    db.exec('ROLLBACK');
    assert.equal(captureTriggers(db), 0);
    runApp(sqlite3, db, capture, 'INSERT INTO items VALUES (31, ?)', ['b']);
    assert.equal(Number(db.selectValue('SELECT count(*) FROM turso_cdc WHERE id = 31')), 1);
  } finally {
    db.close();
  }
});
