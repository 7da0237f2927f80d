/**
 * `walsync/drizzle` and `walsync/kysely` on a synced database against a real tursodb: schema,
 * inserts, a join (with same-named columns), transactions that commit and roll back (as walsync
 * transactions: atomic, push refused inside), a batch, push, and a second client that pulls the
 * rows. The scenarios run in the page (test/browser/pages/orm.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage('/test/browser/pages/orm.html');

const PUSH_INSIDE = /push\(\) cannot run inside a transaction/;

test('Drizzle (sqlite-proxy): schema, insert, join, transactions, batch, push, pull into a second client', async () => {
  const r = (await env.page.evaluate((url) => window.ormScenarios.drizzle(url), env.server.url)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(r.join, [
    { posts: { id: 10, userId: 1, title: 'first' }, users: { id: 1, name: 'Ann' } },
    { posts: { id: 11, userId: 2, title: 'second' }, users: { id: 2, name: 'Bo' } },
  ]);
  assert.deepEqual(r.picked, { postId: 11, userId: 2, name: 'Bo' });
  assert.equal(r.commit.inTransaction, true, 'the Drizzle transaction is a walsync transaction');
  assert.match(r.commit.pushInside, PUSH_INSIDE);
  assert.equal(r.afterCommit, false);
  assert.equal(r.rollbackByThrow, 'changed my mind');
  assert.match(r.rollbackByCall, /Rollback/i);
  assert.match(r.rollbackBySqlError, /SQLITE_CONSTRAINT|UNIQUE constraint failed/);
  assert.equal(r.nested, 'inner only');
  assert.deepEqual(r.batch, [{ rows: [] }, [{ n: 9 }]]);
  assert.match(r.batchRollback, /SQLITE_CONSTRAINT|UNIQUE constraint failed/);
  assert.deepEqual(r.concurrent, ['first fails', 'ok']);
  // 4, 5, 6 rolled back; 8 rolled back to its savepoint; 20 with its failed batch; 30 with its transaction.
  assert.deepEqual(
    r.users.map((u: { id: number }) => u.id),
    [1, 2, 3, 7, 9, 31],
  );
  assert.deepEqual(r.relational, { id: 3, name: 'Cy' });
  assert.equal(r.pendingAfterPush, 0);
  assert.deepEqual(r.pulled, [
    { name: 'Ann', title: 'first' },
    { name: 'Bo', title: 'second' },
    { name: 'Cy', title: 'third' },
  ]);
  assert.deepEqual(r.pulledUsers, [1, 2, 3, 7, 9, 31]);
});

test('Kysely (WalsyncDialect): schema, insert, join, transactions, savepoints, stream, push, pull into a second client', async () => {
  const r = (await env.page.evaluate((url) => window.ormScenarios.kysely(url), env.server.url)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(r.insertUsers, { insertId: '2', numInsertedOrUpdatedRows: '2' });
  assert.deepEqual(r.returning, [
    { id: 1, title: 'first' },
    { id: 2, title: 'second' },
  ]);
  assert.deepEqual(r.join, [
    { postId: 1, name: 'Ann', title: 'first' },
    { postId: 2, name: 'Bo', title: 'second' },
  ]);
  assert.deepEqual(r.update, { numUpdatedRows: '1' });
  assert.deepEqual(r.raw, [{ n: 2 }]);
  assert.deepEqual(r.rawWrite.rows, []);
  assert.equal(r.rawWrite.numAffectedRows, '2');
  assert.equal(r.commit.inTransaction, true, 'the Kysely transaction is a walsync transaction');
  assert.match(r.commit.pushInside, PUSH_INSIDE);
  assert.equal(r.afterCommit, false);
  assert.equal(r.rollbackByThrow, 'changed my mind');
  assert.match(r.rollbackBySqlError, /SQLITE_CONSTRAINT|UNIQUE constraint failed/);
  assert.deepEqual(r.streamed, ['Ann', 'Bo', 'Cy', 'Gus']);
  assert.deepEqual(r.users, [
    { id: 1, name: 'Ann' },
    { id: 2, name: 'Bo' },
    { id: 3, name: 'Cy' },
    { id: 7, name: 'Gus' },
  ]);
  assert.equal(r.pendingAfterPush, 0);
  assert.equal(r.openAfterDestroy, false);
  assert.deepEqual(r.pulled, [
    { name: 'Ann', title: 'first!' },
    { name: 'Bo', title: 'second' },
    { name: 'Cy', title: 'third' },
  ]);
});
