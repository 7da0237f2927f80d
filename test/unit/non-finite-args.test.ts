/**
 * ±Infinity and NaN in a pushed statement (worker/protocol/non-finite-args.ts): moved into the SQL
 * as constants at the right parameter, everything else still bound; parameters are found only
 * outside literals, quoted identifiers and comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WalsyncError } from '../../contract/errors.js';
import { Real } from '../../contract/sql-value.js';
import { inlineNonFinite, plainParameterPositions } from '../../worker/protocol/non-finite-args.js';
import { loadSqlite } from '../support/node-sqlite.js';

test('parameters are found outside strings, quoted identifiers and comments', () => {
  const sql = `INSERT INTO "a?""b"([c?], \`d?\`) VALUES ('?''?', ?) -- ?\n /* ? */ RETURNING ?`;
  const positions = plainParameterPositions(sql)!;
  assert.deepEqual(positions.map((p) => sql[p]), ['?', '?']);
  assert.deepEqual(positions, [sql.indexOf(', ?)') + 2, sql.lastIndexOf('?')]);
  assert.equal(plainParameterPositions('SELECT ?1'), null);
  assert.equal(plainParameterPositions('SELECT :a'), null);
  assert.equal(plainParameterPositions('SELECT @a, ?'), null);
  assert.equal(plainParameterPositions('SELECT $a'), null);
  assert.deepEqual(plainParameterPositions('SELECT a$b, ?'), [12], 'a $ inside a name is no parameter');
});

test('non-finite values become constants at their parameter; the other values stay bound, in order', async () => {
  const out = inlineNonFinite('INSERT INTO t VALUES (?, ?, ?, ?, ?)', [1, Infinity, 'x', new Real(-Infinity), NaN]);
  assert.equal(out.sql, 'INSERT INTO t VALUES (?, (9e999), ?, (-9e999), NULL)');
  assert.deepEqual(out.args, [1, 'x']);
  // The rewritten statement stores what binding the original values stores.
  const { sqlite3 } = await loadSqlite();
  const db = new sqlite3.oo1.DB(':memory:');
  try {
    db.exec('CREATE TABLE t(a, b, c, d, e)');
    db.exec({ sql: out.sql, bind: out.args as never });
    db.exec({ sql: 'INSERT INTO t VALUES (?, ?, ?, ?, ?)', bind: [1, Infinity, 'x', -Infinity, NaN] });
    const rows = db.exec({ sql: 'SELECT a, b, typeof(b), c, d, typeof(d), e FROM t', returnValue: 'resultRows' });
    assert.deepEqual(rows[0], [1, Infinity, 'real', 'x', -Infinity, 'real', null]);
    assert.deepEqual(rows[1], rows[0]);
  } finally {
    db.close();
  }
});

test('a statement with named or numbered parameters, or too few, is INVALID_ARGUMENT', () => {
  for (const [sql, args] of [
    ['INSERT INTO t VALUES (?1)', [Infinity]],
    ['INSERT INTO t VALUES (:x)', [Infinity]],
    ['INSERT INTO t VALUES (?)', [1, Infinity]],
  ] as const) {
    assert.throws(() => inlineNonFinite(sql, [...args]), (e: unknown) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT', sql);
  }
});
