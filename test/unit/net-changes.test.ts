/** The net effect of logged changes per row (what a push sends), checked against real SQLite. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowChangeSql } from '../../worker/cdc/row-change-sql.js';
import { type LoggedChange, addressOf, netChanges } from '../../worker/cdc/net-changes.js';
import type { EngineValue } from '../../contract/sql-value.js';
import { loadSqlite } from '../support/node-sqlite.js';

const u = { name: 'u', columns: ['id', 'email', 'n'], primaryKey: ['id'], withoutRowid: false };

type Row = [number, string | null, number];
const ins = (after: Row, tableName = 'u'): LoggedChange => ({ kind: 'row', tableName, changeType: 'insert', address: addressOf([after[0]]), before: null, after });
const upd = (before: Row, after: Row, tableName = 'u'): LoggedChange => ({
  kind: 'row',
  tableName,
  changeType: 'update',
  address: addressOf([before[0]]),
  movedTo: addressOf([after[0]]),
  before,
  after,
});
const del = (before: Row, tableName = 'u'): LoggedChange => ({ kind: 'row', tableName, changeType: 'delete', address: addressOf([before[0]]), before, after: null });
const ddl = (tableName: string, allTables = false): LoggedChange => ({ kind: 'schema', tableName, allTables });

test('insert then updates: one insert of the final row, in the place of the insert', () => {
  const entries = netChanges([ins([3, 'a@x', 0]), ins([4, 'b@x', 0]), upd([3, 'a@x', 0], [3, 'c@x', 0]), upd([3, 'c@x', 0], [3, 'c@x', 5])]);
  assert.deepEqual(entries, [
    { sources: [0, 2, 3], net: { changeType: 'insert', before: null, after: [3, 'c@x', 5] } },
    { sources: [1], net: null },
  ]);
});

test('insert then delete: nothing; update then delete: a delete of the row as it was', () => {
  assert.deepEqual(netChanges([ins([1, 'a', 0]), upd([1, 'a', 0], [1, 'b', 0]), del([1, 'b', 0])]), [{ sources: [0, 1, 2], net: 'nothing' }]);
  assert.deepEqual(netChanges([upd([1, 'a', 0], [1, 'b', 0]), del([1, 'b', 0])]), [
    { sources: [0, 1], net: { changeType: 'delete', before: [1, 'a', 0], after: null } },
  ]);
});

test('updates merge per column: every column one of them changed, with its final value (a column changed back too)', () => {
  const [entry] = netChanges([upd([1, 'a', 0], [1, 'b', 0]), upd([1, 'b', 0], [1, 'b', 7]), upd([1, 'b', 7], [1, 'a', 7])]);
  assert.deepEqual(entry, { sources: [0, 1, 2], net: { changeType: 'update', before: [1, 'a', 0], after: [1, 'a', 7], changed: [1, 2] } });
});

test('delete then insert of the same key: one insert of the new row (an upsert)', () => {
  assert.deepEqual(netChanges([del([1, 'a', 0]), ins([1, 'z', 9]), upd([1, 'z', 9], [1, 'z', 10])]), [
    { sources: [0, 1, 2], net: { changeType: 'insert', before: null, after: [1, 'z', 10] } },
  ]);
});

test('a schema change of a table is a barrier for its rows only; a rename is one for every table', () => {
  const changes = [ins([1, 'a', 0]), ins([1, 'a', 0], 'v'), ddl('u'), upd([1, 'a', 0], [1, 'b', 0]), upd([1, 'a', 0], [1, 'b', 0], 'v')];
  assert.deepEqual(
    netChanges(changes).map((e) => e.sources),
    [[0], [1, 4], [2], [3]],
  );
  assert.deepEqual(
    netChanges([ins([1, 'a', 0], 'v'), ddl('u', true), upd([1, 'a', 0], [1, 'b', 0], 'v')]).map((e) => e.sources),
    [[0], [1], [2]],
  );
});

test('a key move closes both keys; NULL keys and changes that do not follow from the row are not merged', () => {
  const moved = netChanges([ins([1, 'a', 0]), del([2, 'b', 0]), upd([1, 'a', 0], [2, 'a', 0]), upd([2, 'a', 0], [2, 'a', 1]), upd([2, 'a', 1], [2, 'a', 2])]);
  assert.deepEqual(moved.map((e) => e.sources), [[0], [1], [2], [3, 4]]);
  const nullKey: LoggedChange = { kind: 'row', tableName: 'u', changeType: 'insert', address: addressOf([null]), before: null, after: [null, 'x', 0] };
  assert.deepEqual(netChanges([nullKey, nullKey]).map((e) => e.net), [null, null]);
  assert.deepEqual(netChanges([ins([1, 'a', 0]), ins([1, 'b', 0])]).map((e) => e.sources), [[0], [1]]);
  assert.deepEqual(netChanges([{ kind: 'other' }, ins([1, 'a', 0]), { kind: 'other' }, del([1, 'a', 0])]).map((e) => e.sources), [[0], [1, 3], [2]]);
});

test('addressOf tells types apart and refuses NULL parts', () => {
  assert.notEqual(addressOf([1]), addressOf(['1']));
  assert.equal(addressOf([1]), addressOf([1n]));
  assert.equal(addressOf([new Uint8Array([1, 2])]), addressOf([new Uint8Array([1, 2])]));
  assert.equal(addressOf([1, null]), null);
});

test('net statements leave the same table as the logged ones, and get through where the logged ones are refused', async () => {
  const { sqlite3 } = await loadSqlite();
  // The story of a refused row: row 3 took an email the server already has, then was fixed locally.
  const story = [ins([3, 'a@x', 0]), ins([4, 'd@x', 0]), upd([3, 'a@x', 0], [3, 'c@x', 0]), del([1, 'one', 1]), ins([1, 'uno', 2]), upd([2, 'two', 2], [2, 'dos', 2]), upd([2, 'dos', 2], [2, 'dos', 3]), ins([5, 'e', 0]), del([5, 'e', 0])];
  const statementsOf = (changes: readonly LoggedChange[], merged: boolean) => {
    const out: { sql: string; args: readonly EngineValue[] }[] = [];
    const images = (c: LoggedChange) => {
      if (c.kind !== 'row') throw new Error('row changes only');
      return { changeType: c.changeType, id: null, before: c.before, after: c.after };
    };
    if (!merged) for (const c of changes) out.push(...rowChangeSql(u, images(c)));
    else
      for (const entry of netChanges(changes)) {
        if (entry.net === 'nothing') continue;
        out.push(...rowChangeSql(u, entry.net ? { id: null, ...entry.net } : images(changes[entry.sources[0]!]!)));
      }
    return out;
  };
  const apply = (statements: readonly { sql: string; args: readonly EngineValue[] }[], uniqueEmail: boolean) => {
    const db = new sqlite3.oo1.DB(':memory:');
    try {
      db.exec(`CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT, n INTEGER); INSERT INTO u VALUES (1, 'one', 1), (2, 'two', 2), (9, 'a@x', 0)`);
      if (uniqueEmail) db.exec('CREATE UNIQUE INDEX u_email ON u(email)');
      db.exec('BEGIN');
      for (const s of statements) db.exec({ sql: s.sql, bind: s.args as never });
      db.exec('COMMIT');
      return db.selectArrays('SELECT * FROM u ORDER BY id');
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    } finally {
      db.close();
    }
  };
  const expected = [
    [1, 'uno', 2],
    [2, 'dos', 3],
    [3, 'c@x', 0],
    [4, 'd@x', 0],
    [9, 'a@x', 0],
  ];
  assert.deepEqual(apply(statementsOf(story, false), false), expected);
  assert.deepEqual(apply(statementsOf(story, true), false), expected);
  assert.match(String(apply(statementsOf(story, false), true)), /UNIQUE constraint failed: u\.email/);
  assert.deepEqual(apply(statementsOf(story, true), true), expected);
  assert.ok(statementsOf(story, true).length < statementsOf(story, false).length);
});
