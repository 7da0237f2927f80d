/**
 * Opening a database whose change log does not exist yet (just bootstrapped): a lazy enable()
 * writes nothing, so the first query does not pay for a commit; reading the log finds it empty;
 * the first write creates it and is captured, also when the first write's transaction rolled back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSqlite, registerMemoryFiles } from '../support/node-sqlite.js';
import { openWalConnection } from '../../worker/connection.js';
import { createChangeCapture } from '../../worker/cdc/change-capture-adapter.js';

async function openedWithoutLog() {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  // A database as a bootstrap leaves it: the app's table, no change log, no WAL.
  const setup = openWalConnection(sqlite3, files.name, { synchronous: 'normal' });
  setup.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, \'one\')');
  setup.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  setup.close();
  const db = openWalConnection(sqlite3, files.name, { synchronous: 'normal' });
  const capture = createChangeCapture(sqlite3, []);
  capture.enable(db, true);
  const run = (sql: string, readonly = false) => capture.around(db, sql, () => capture.guard(db, () => db.exec(sql)), readonly);
  const logExists = () => Number(db.selectValue("SELECT count(*) FROM sqlite_schema WHERE name = 'turso_cdc'")) === 1;
  return { db, capture, run, logExists, walBytes: () => files.wal.size() };
}

test('a lazy enable on a database without a change log writes nothing; reads see an empty log', async () => {
  const { db, capture, run, logExists, walBytes } = await openedWithoutLog();
  try {
    run('SELECT count(*) FROM items', true);
    assert.equal(logExists(), false);
    assert.equal(walBytes(), 0, 'no commit before the first write');
    assert.deepEqual(capture.read(db, 0, 10), []);
    assert.equal(capture.countAfter(db, 0), 0);
    run("INSERT INTO items VALUES (2, 'two')");
    assert.equal(logExists(), true);
    assert.deepEqual(capture.read(db, 0, 10).map((c) => Number(c.row.id)), [2]);
  } finally {
    db.close();
  }
});

test('a first write whose transaction rolls back leaves the next write captured', async () => {
  const { db, capture, run, logExists } = await openedWithoutLog();
  try {
    run('BEGIN');
    run("INSERT INTO items VALUES (3, 'three')");
    run('ROLLBACK');
    run("INSERT INTO items VALUES (4, 'four')");
    assert.equal(logExists(), true);
    assert.deepEqual(capture.read(db, 0, 10).map((c) => Number(c.row.id)), [4]);
  } finally {
    db.close();
  }
});
