/** Change capture's pure parts: schema-change recognition and rewriting, the record codec, row-change SQL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  headerSettingOf,
  idempotentDdl,
  isLocalOnlySchemaChange,
  looksLikeSchemaChange,
  parseAddColumn,
  stripLeadingComments,
} from '../../worker/cdc/schema-change.js';
import { decodeRecord, encodeRecord } from '../../worker/cdc/record.js';
import { Real } from '../../contract/sql-value.js';
import { changedColumns, rowChangeSql } from '../../worker/cdc/row-change-sql.js';

test('schema changes are recognised behind comments, and only they', () => {
  assert.equal(looksLikeSchemaChange('  -- make it\n/* really */ create table t(x)'), true);
  assert.equal(looksLikeSchemaChange('ALTER TABLE t ADD COLUMN y'), true);
  assert.equal(looksLikeSchemaChange('drop index i'), true);
  assert.equal(looksLikeSchemaChange("INSERT INTO t VALUES ('CREATE TABLE x')"), false);
  assert.equal(looksLikeSchemaChange('SELECT 1 -- DROP TABLE t'), false);
  assert.equal(stripLeadingComments(' /* a */ -- b\n CREATE TABLE t(x) '), 'CREATE TABLE t(x)');
});

test('pushed and replayed DDL is idempotent', () => {
  assert.equal(idempotentDdl('CREATE TABLE t(x)'), 'CREATE TABLE IF NOT EXISTS t(x)');
  assert.equal(idempotentDdl('create unique index i on t(x)'), 'create unique index IF NOT EXISTS i on t(x)');
  assert.equal(idempotentDdl('CREATE TABLE IF NOT EXISTS t(x)'), 'CREATE TABLE IF NOT EXISTS t(x)');
  assert.equal(idempotentDdl('CREATE VIEW v AS SELECT 1'), 'CREATE VIEW IF NOT EXISTS v AS SELECT 1');
  assert.equal(idempotentDdl('DROP TABLE "a b"'), 'DROP TABLE IF EXISTS "a b"');
  assert.equal(idempotentDdl('DROP INDEX IF EXISTS i'), 'DROP INDEX IF EXISTS i');
  assert.equal(idempotentDdl('ALTER TABLE t RENAME TO u'), 'ALTER TABLE t RENAME TO u');
});

test('ADD COLUMN statements name their table and column, quoted or not', () => {
  assert.deepEqual(parseAddColumn('ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 7'), { table: 't', column: 'c' });
  assert.deepEqual(parseAddColumn('alter table main."my ""odd"" t" add "new col" TEXT'), { table: 'my "odd" t', column: 'new col' });
  assert.deepEqual(parseAddColumn('ALTER TABLE [t] ADD `c`'), { table: 't', column: 'c' });
  assert.equal(parseAddColumn('ALTER TABLE t RENAME COLUMN a TO b'), null);
});

test('header settings and triggers are the schema changes that stay local', () => {
  assert.equal(headerSettingOf('PRAGMA user_version = 3'), 'user_version');
  assert.equal(headerSettingOf('pragma main.application_id=5'), 'application_id');
  assert.equal(headerSettingOf('PRAGMA user_version'), null, 'reading it changes nothing');
  assert.equal(headerSettingOf('PRAGMA journal_mode = WAL'), null);
  assert.equal(isLocalOnlySchemaChange([{ type: 'trigger', name: 'tr', tblName: 't' }]), true);
  assert.equal(isLocalOnlySchemaChange([{ type: 'table', name: 't', tblName: 't' }]), false);
});

test('records round-trip every value type exactly, and REAL keeps its type', () => {
  const values = [null, 0, 1, -1, 127, -129, 70000, -(2 ** 40), 9007199254740993n, -(2n ** 63n), new Real(1.5), new Real(-0.25), 'ünïcode ✓', '', new Uint8Array([0, 255, 16]), new Uint8Array(0)];
  assert.deepEqual(decodeRecord(encodeRecord(values)), values);
  const real = encodeRecord([new Real(2)]);
  assert.notDeepEqual(real, encodeRecord([2]), 'REAL 2.0 and INTEGER 2 are different records');
  assert.equal(real[1], 7, 'serial type 7: a 64-bit float');
  assert.deepEqual(decodeRecord(real), [new Real(2)], 'and it decodes as a REAL, not the number 2');
});

test('records keep -0, doubles beyond the safe integers, and a leading byte-order mark', () => {
  const [negativeZero, big, huge, tiny, bom, onlyBom] = decodeRecord(encodeRecord([-0, 2 ** 63, 1e300, 5e-324, '\uFEFFlo', '\uFEFF']));
  assert.ok(negativeZero instanceof Real && Object.is(negativeZero.value, -0), 'the number -0 is a REAL -0.0');
  assert.deepEqual([big, huge, tiny], [new Real(2 ** 63), new Real(1e300), new Real(5e-324)], 'numbers beyond 2^53 are REALs, never wrapped');
  assert.equal(bom, '\uFEFFlo');
  assert.equal(onlyBom, '\uFEFF');
  const bytes = encodeRecord(['\uFEFFlo']);
  assert.deepEqual([...bytes.subarray(2)], [0xef, 0xbb, 0xbf, 0x6c, 0x6f], 'the mark is stored as its three bytes');
});

test('row changes become keyed upserts, updates of changed columns, and deletes; all quoted and bound', () => {
  const info = { name: 'we"ird', columns: ['id', 'a b', 'c'], primaryKey: ['id'], withoutRowid: false };
  const [insert] = rowChangeSql(info, { changeType: 'insert', id: 5, before: null, after: [5, 'x', null] });
  assert.equal(insert!.sql, 'INSERT INTO "we""ird"("id", "a b", "c") VALUES (?,?,?) ON CONFLICT("id") DO UPDATE SET "id" = excluded."id","a b" = excluded."a b","c" = excluded."c"');
  assert.deepEqual(insert!.args, [5, 'x', null]);
  const [update] = rowChangeSql(info, { changeType: 'update', id: 5, before: [5, 'x', null], after: [5, 'x', 9] });
  assert.equal(update!.sql, 'UPDATE "we""ird" SET "c" = ? WHERE "id" IS ?');
  assert.deepEqual(update!.args, [9, 5]);
  assert.deepEqual(rowChangeSql(info, { changeType: 'update', id: 5, before: [5, 'x', 1], after: [5, 'x', 1] }), [], 'nothing changed: nothing to send');
  const [del] = rowChangeSql(info, { changeType: 'delete', id: 5, before: [5, 'x', 9], after: null });
  assert.deepEqual([del!.sql, del!.args], ['DELETE FROM "we""ird" WHERE "id" IS ?', [5]]);
  const keyless = { name: 'log', columns: ['msg'], primaryKey: [], withoutRowid: false };
  const [kept] = rowChangeSql(keyless, { changeType: 'insert', id: 42, before: null, after: ['hi'] });
  assert.deepEqual([kept!.sql, kept!.args], ['INSERT OR REPLACE INTO "log"("rowid", "msg") VALUES (?,?)', [42, 'hi']]);
  const nullKey = rowChangeSql({ name: 'k', columns: ['a', 'b'], primaryKey: ['a', 'b'], withoutRowid: true }, { changeType: 'insert', id: null, before: null, after: [1, null] });
  assert.equal(nullKey[0]!.sql, 'DELETE FROM "k" WHERE "a" IS ? AND "b" IS ?', 'a key with NULL cannot match ON CONFLICT: clear it first');
  assert.deepEqual(changedColumns([1, new Uint8Array([1])], [1, new Uint8Array([1]), 'added']), [2]);
});
