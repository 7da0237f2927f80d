/**
 * The physical half of a pull, against sqlite-wasm in Node: roll local changes back to the synced
 * base and lay remote pages over it, with and without checkpoints (revert store) in between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '@sqlite.org/sqlite-wasm';
import { loadSqlite, registerMemoryFiles, type MemoryDatabaseFiles } from '../support/node-sqlite.js';
import { openWalConnection, PAGE_SIZE } from '../../worker/connection.js';
import { WalLog } from '../../worker/vfs/wal-log.js';
import { MemoryFileStore } from '../../worker/vfs/file-store.js';
import { RevertStore } from '../../worker/engine/revert-store.js';
import { ChangesFileReader, ChangesFileWriter } from '../../worker/engine/changes-file.js';
import { SyncedBase, effectiveWatermark } from '../../worker/engine/synced-base.js';
import { applyPullPlan, planPullApply, pullGroupInWal } from '../../worker/engine/pull-apply.js';
import { checkpointSyncedDatabase } from '../../worker/engine/checkpoint.js';
import type { PullIntent, WalWatermark } from '../../worker/engine/metadata.js';

const settings = { synchronous: 'full' } as const;

function pagesOf(db: Database): { pgno: number; data: Uint8Array }[] {
  return db.selectArrays('SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno').map(([pgno, data]) => ({
    pgno: pgno as number,
    data: data as Uint8Array,
  }));
}

function dump(db: Database): unknown {
  const tables = db.selectValues("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") as string[];
  return Object.fromEntries(tables.map((t) => [t, db.selectArrays(`SELECT * FROM "${t}" ORDER BY rowid`)]));
}

interface Local {
  files: MemoryDatabaseFiles;
  db: Database;
  log: WalLog;
  revert: RevertStore;
  watermark: WalWatermark;
  basePages: number;
}

async function bootstrapFrom(remote: Database): Promise<Local> {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  const pages = pagesOf(remote);
  for (const p of pages) files.db.write(p.data, (p.pgno - 1) * PAGE_SIZE);
  const db = openWalConnection(sqlite3, files.name, settings);
  return {
    files,
    db,
    log: new WalLog(files.db, files.wal, PAGE_SIZE),
    revert: new RevertStore(new MemoryFileStore(), PAGE_SIZE),
    watermark: { frame: 0, salt1: 0, salt2: 0 },
    basePages: pages.length,
  };
}

/** Pulls every page of `remote` (a superset of "pages changed since", which the server sends). */
async function pull(local: Local, remote: Database): Promise<void> {
  const { sqlite3 } = await loadSqlite();
  const changesFile = new MemoryFileStore();
  const writer = new ChangesFileWriter(changesFile, PAGE_SIZE);
  const pages = pagesOf(remote);
  // The server's order is unspecified; page 1 in the middle must work.
  for (const p of [...pages.slice(1), pages[0]!]) writer.add(p.pgno, p.data);
  writer.finish('rev', pages.length);
  const changes = ChangesFileReader.open(changesFile, PAGE_SIZE)!;
  local.db.close();
  const state = local.log.state();
  const w = effectiveWatermark(local.watermark, state);
  const base = new SyncedBase(local.log, state, local.revert, w, local.basePages);
  const plan = planPullApply({ log: local.log, state, base, revert: local.revert, changes });
  const after = applyPullPlan(local.log, state, plan);
  assert.equal(after.frames, state.frames + plan.frameCount);
  local.watermark = { frame: after.frames, salt1: after.header!.salt1, salt2: after.header!.salt2 };
  local.basePages = plan.dbSizePages;
  local.revert.clear();
  local.db = openWalConnection(sqlite3, local.files.name, settings);
}

async function newRemote(): Promise<Database> {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  const db = openWalConnection(sqlite3, files.name, settings);
  db.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)');
  for (let i = 1; i <= 200; i++) db.exec({ sql: 'INSERT INTO items VALUES (?, ?, ?)', bind: [i, `item ${i} ${'z'.repeat(i % 40)}`, i] });
  return db;
}

test('a pull rolls back local changes and leaves exactly the remote state', async () => {
  const remote = await newRemote();
  const local = await bootstrapFrom(remote);
  assert.deepEqual(dump(local.db), dump(remote));

  local.db.exec("INSERT INTO items VALUES (1000, 'local only', 1); CREATE TABLE mine(x); INSERT INTO mine VALUES (1)");
  local.db.exec('DELETE FROM items WHERE id < 50');
  remote.exec("UPDATE items SET qty = qty * 10 WHERE id % 3 = 0; CREATE TABLE remote_new(a TEXT); INSERT INTO remote_new VALUES ('r')");
  const cookieBefore = local.db.selectValue('PRAGMA schema_version') as number;

  await pull(local, remote);
  assert.deepEqual(dump(local.db), dump(remote));
  assert.equal(local.db.selectValue('PRAGMA integrity_check'), 'ok');
  assert.ok((local.db.selectValue('PRAGMA schema_version') as number) > cookieBefore, 'schema cookie bumped');
  // Local writes after the pull build on the new base.
  local.db.exec("INSERT INTO items VALUES (2000, 'after pull', 2)");
  assert.equal(local.db.selectValue('SELECT count(*) FROM items'), 201);
});

test('a pull after checkpoints restores base pages from the revert store', async () => {
  const remote = await newRemote();
  const local = await bootstrapFrom(remote);
  local.db.exec("UPDATE items SET name = 'changed locally' WHERE id <= 100");
  let ck = checkpointSyncedDatabase({ connection: local.db, log: local.log, revert: local.revert, watermark: local.watermark, basePages: local.basePages });
  local.watermark = ck.watermark;
  assert.ok(ck.pagesSaved > 0);
  assert.equal(local.files.wal.size(), 0);
  local.db.exec('DELETE FROM items WHERE id > 150; CREATE TABLE extra(v); INSERT INTO extra VALUES (1)');
  ck = checkpointSyncedDatabase({ connection: local.db, log: local.log, revert: local.revert, watermark: local.watermark, basePages: local.basePages });
  local.watermark = ck.watermark;
  local.db.exec("INSERT INTO items VALUES (5000, 'in WAL', 5)");
  remote.exec("INSERT INTO items VALUES (300, 'remote row', 3)");

  await pull(local, remote);
  assert.deepEqual(dump(local.db), dump(remote));
  assert.equal(local.db.selectValue('PRAGMA integrity_check'), 'ok');
});

test('a second pull uses the watermark of the first', async () => {
  const remote = await newRemote();
  const local = await bootstrapFrom(remote);
  local.db.exec("INSERT INTO items VALUES (900, 'x', 1)");
  remote.exec('DELETE FROM items WHERE id > 100');
  await pull(local, remote);
  assert.ok(local.watermark.frame > 0);
  local.db.exec("INSERT INTO items VALUES (901, 'y', 1); UPDATE items SET qty = -1");
  remote.exec("INSERT INTO items VALUES (777, 'r2', 7)");
  await pull(local, remote);
  assert.deepEqual(dump(local.db), dump(remote));
});

test('a checkpoint that crashed after saving revert pages still reconstructs the base', async () => {
  const remote = await newRemote();
  const local = await bootstrapFrom(remote);
  local.db.exec("UPDATE items SET name = 'local' WHERE id % 2 = 0");
  assert.throws(() =>
    checkpointSyncedDatabase({
      connection: local.db,
      log: local.log,
      revert: local.revert,
      watermark: local.watermark,
      basePages: local.basePages,
      step: (name) => {
        if (name === 'revert-saved') throw new Error('simulated crash');
      },
    }),
  );
  // The WAL was not folded; the watermark is unchanged; a pull still lands on the remote state.
  assert.ok(local.log.state().frames > 0);
  remote.exec("UPDATE items SET qty = 0 WHERE id = 7");
  await pull(local, remote);
  assert.deepEqual(dump(local.db), dump(remote));
});

test('an answer that grows the database but misses a new page is refused before anything is written', async () => {
  const { sqlite3 } = await loadSqlite();
  const remote = new sqlite3.oo1.DB(':memory:');
  remote.exec('PRAGMA page_size=4096; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const local = await bootstrapFrom(remote);
  remote.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) INSERT INTO t SELECT i, printf('%.3000c', 'r') FROM n");
  const pages = pagesOf(remote);
  assert.ok(pages.length > local.basePages + 2, 'the remote grew by several pages');
  const changesFile = new MemoryFileStore();
  const writer = new ChangesFileWriter(changesFile, PAGE_SIZE);
  for (const p of pages) if (p.pgno !== pages.length - 1) writer.add(p.pgno, p.data);
  writer.finish('rev', pages.length);
  local.db.close();
  const walBefore = local.files.wal.size();
  const state = local.log.state();
  const base = new SyncedBase(local.log, state, local.revert, 0, local.basePages);
  assert.throws(
    () => planPullApply({ log: local.log, state, base, revert: local.revert, changes: ChangesFileReader.open(changesFile, PAGE_SIZE)! }),
    (e: unknown) => (e as { code?: string }).code === 'PROTOCOL_ERROR' && new RegExp(`misses page ${pages.length - 1}`).test(String((e as Error).message)),
  );
  assert.equal(local.files.wal.size(), walBefore);
});

test('an intent matches its commit group in the WAL, not local commits written after the pull was undone', async () => {
  const { sqlite3 } = await loadSqlite();
  const remote = await newRemote();
  const local = await bootstrapFrom(remote);
  local.db.exec("INSERT INTO items VALUES (1000, 'local', 1)");
  remote.exec('UPDATE items SET qty = 0 WHERE id < 20');
  const changesFile = new MemoryFileStore();
  const writer = new ChangesFileWriter(changesFile, PAGE_SIZE);
  for (const p of pagesOf(remote)) writer.add(p.pgno, p.data);
  writer.finish('rev', pagesOf(remote).length);
  const changes = ChangesFileReader.open(changesFile, PAGE_SIZE)!;
  local.db.close();
  const state = local.log.state();
  const base = new SyncedBase(local.log, state, local.revert, effectiveWatermark(local.watermark, state), local.basePages);
  const plan = planPullApply({ log: local.log, state, base, revert: local.revert, changes });
  const intent: PullIntent = {
    revision: 'rev',
    dbSizePages: plan.dbSizePages,
    localEndFrame: state.frames,
    applyEndFrame: state.frames + plan.frameCount,
    salt1: state.header!.salt1,
    salt2: state.header!.salt2,
    localPullGen: 0,
  };
  assert.equal(pullGroupInWal(state, intent), false, 'not applied yet');
  const applied = applyPullPlan(local.log, state, plan);
  assert.equal(pullGroupInWal(applied, intent), true, 'applied');
  assert.equal(pullGroupInWal(applied, { ...intent, salt2: (intent.salt2 + 1) >>> 0 }), false, 'another WAL');

  // The pull is undone (the WAL cut back to the local end) and local writes follow with the same
  // salts, past the group's end: the old intent must not take them for the group.
  local.log.truncateAt(intent.localEndFrame);
  local.db = openWalConnection(sqlite3, local.files.name, settings);
  for (let i = 0; local.log.state().frames < intent.applyEndFrame + 2; i++) {
    local.db.exec({ sql: 'INSERT INTO items VALUES (?, ?, ?)', bind: [5000 + i, 'x'.repeat(3000), i] });
  }
  const after = local.log.state();
  assert.equal(after.header!.salt1, intent.salt1);
  assert.ok(after.frames >= intent.applyEndFrame);
  assert.equal(pullGroupInWal(after, intent), false, 'local commits are not the pull');
});
