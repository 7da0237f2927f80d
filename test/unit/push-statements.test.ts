/** Merging one-row upserts into multi-row statements for a push, checked against real SQLite. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowChangeSql } from '../../worker/cdc/row-change-sql.js';
import { mergeUpserts } from '../../worker/engine/push-statements.js';
import type { PushStatement } from '../../worker/protocol/remote.js';
import { loadSqlite } from '../support/node-sqlite.js';

const items = { name: 'it"ems', columns: ['id', 'name'], primaryKey: ['id'], withoutRowid: false };
const other = { name: 'other', columns: ['k', 'v'], primaryKey: ['k'], withoutRowid: false };
const insert = (info: typeof items, after: unknown[]): PushStatement[] =>
  rowChangeSql(info, { changeType: 'insert', id: null, before: null, after: after as never });

test('consecutive upserts of one shape merge; others keep their place and order', () => {
  const statements = [
    ...insert(items, [1, 'a']),
    ...insert(items, [2, 'b']),
    ...rowChangeSql(items, { changeType: 'delete', id: null, before: [2, 'b'], after: null }),
    ...insert(items, [3, 'c']),
    ...insert(other, ['x', 1]),
    ...insert(other, ['y', 2]),
    ...insert(other, ['z', 3]),
  ];
  const merged = mergeUpserts(statements);
  assert.deepEqual(merged.sources, [[0, 1], [2], [3], [4, 5, 6]]);
  assert.equal(merged.statements[0]!.sql, 'INSERT INTO "it""ems"("id", "name") VALUES (?,?),(?,?) ON CONFLICT("id") DO UPDATE SET "id" = excluded."id","name" = excluded."name"');
  assert.deepEqual(merged.statements[0]!.args, [1, 'a', 2, 'b']);
  assert.equal(merged.statements[2], statements[3], 'a lone upsert is sent as it was');
  assert.deepEqual(merged.statements[3]!.args, ['x', 1, 'y', 2, 'z', 3]);
});

test('merged statements are bounded in rows and bound values', () => {
  const wide = { name: 'wide', columns: Array.from({ length: 300 }, (_, i) => `c${i}`), primaryKey: ['c0'], withoutRowid: false };
  const many = Array.from({ length: 250 }, (_, i) => insert(items, [i, `r${i}`])[0]!);
  assert.deepEqual(mergeUpserts(many).sources.map((s) => s.length), [100, 100, 50]);
  const wideRows = Array.from({ length: 5 }, (_, i) => insert(wide, Array.from({ length: 300 }, (_, c) => i * 1000 + c))[0]!);
  assert.deepEqual(mergeUpserts(wideRows).sources.map((s) => s.length), [3, 2], 'at most 999 values per statement');
});

test('a merged push leaves the same table as the statements one by one', async () => {
  const statements = [
    ...insert(items, [1, 'a']),
    ...insert(items, [2, 'b']),
    ...insert(items, [1, 'a again']), // the same key twice in one statement: the later row wins
    ...insert(items, [3, 'c']),
  ];
  const results: unknown[] = [];
  for (const list of [statements, mergeUpserts(statements).statements]) {
    const { sqlite3 } = await loadSqlite();
    const db = new sqlite3.oo1.DB(':memory:');
    db.exec('CREATE TABLE "it""ems"(id INTEGER PRIMARY KEY, name TEXT)');
    for (const s of list) db.exec({ sql: s.sql, bind: s.args as never });
    results.push(db.selectArrays('SELECT * FROM "it""ems" ORDER BY id'));
    db.close();
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[0], [
    [1, 'a again'],
    [2, 'b'],
    [3, 'c'],
  ]);
});
