/**
 * Binding (worker/sql/bind-args.ts) against sqlite-wasm in Node: each value keeps its type and
 * exact value in SQLite, counts and names are checked before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import type { BindArgs } from '../../contract/worker-api.js';
import { bindArgs } from '../../worker/sql/bind-args.js';
import { Real } from '../../contract/sql-value.js';
import { loadSqlite } from '../support/node-sqlite.js';

/** `SELECT typeof(?), quote(?)` style: what SQLite stored for each bound value. */
function stored(sqlite3: Sqlite3Static, db: Database, sql: string, args: BindArgs): unknown[][] {
  const stmt = db.prepare(sql);
  try {
    bindArgs(sqlite3, stmt, args, sql);
    const rows: unknown[][] = [];
    while (stmt.step()) rows.push(stmt.get([]) as unknown[]);
    return rows;
  } finally {
    stmt.finalize();
  }
}

function invalid(e: unknown, pattern: RegExp): boolean {
  return e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message);
}

test('each value is stored with its own type and exact value', async () => {
  const { sqlite3 } = await loadSqlite();
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  const row = (v: unknown) => stored(sqlite3, db, 'SELECT typeof(?1), quote(?1)', [v])[0];
  assert.deepEqual(row(1), ['integer', '1']);
  assert.deepEqual(row(2 ** 40), ['integer', String(2 ** 40)]);
  assert.deepEqual(row(2n ** 62n), ['integer', String(2n ** 62n)]);
  assert.deepEqual(row(1.5), ['real', '1.5']);
  assert.deepEqual(row(1e300), ['real', '1.0e+300'], 'a double beyond 2^53 stays a double');
  assert.deepEqual(row(-0), ['real', '0.0'], '-0 is a double, not the integer 0');
  assert.deepEqual(row(new Real(2)), ['real', '2.0'], 'a Real keeps its type');
  assert.deepEqual(row(true), ['integer', '1']);
  assert.deepEqual(row(null), ['null', 'NULL']);
  assert.deepEqual(row('\uFEFFé'), ['text', "'\uFEFFé'"]);
  assert.deepEqual(row(new Uint8Array([1, 2])), ['blob', "X'0102'"]);
  assert.deepEqual(row(new Uint8Array(0)), ['blob', "X''"], 'an empty blob is not NULL');
  db.close();
});

test('counts and names are checked before the statement runs', async () => {
  const { sqlite3 } = await loadSqlite();
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  assert.throws(() => stored(sqlite3, db, 'SELECT ?, ?', [1]), (e) => invalid(e, /2 parameters but 1 value was given/));
  assert.throws(() => stored(sqlite3, db, 'SELECT ?', { a: 1 }), (e) => invalid(e, /positional; pass an array/));
  assert.throws(() => stored(sqlite3, db, 'SELECT :a, :b', { a: 1 }), (e) => invalid(e, /missing a value for named parameter :b/));
  assert.deepEqual(stored(sqlite3, db, 'SELECT :a, $b', { a: 1, b: 'x' }), [[1, 'x']]);
  assert.throws(() => stored(sqlite3, db, 'SELECT ?', [undefined]), (e) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => stored(sqlite3, db, 'SELECT ?', [2n ** 64n]), (e) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT');
  db.close();
});
