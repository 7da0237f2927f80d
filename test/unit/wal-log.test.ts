import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSqlite, registerMemoryFiles } from '../support/node-sqlite.js';
import { openSnapshotConnection, openWalConnection, PAGE_SIZE } from '../../worker/connection.js';
import { WalLog } from '../../worker/vfs/wal-log.js';
import {
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  decodeWalHeader,
  encodeWalHeader,
  walChecksum,
} from '../../worker/vfs/wal-format.js';

const settings = { synchronous: 'full' } as const;

test('the WAL header codec round-trips and rejects a bad checksum', () => {
  const bytes = encodeWalHeader({ bigEndianChecksum: false, pageSize: 4096, checkpointSeq: 7, salt1: 0xdeadbeef, salt2: 42 });
  const h = decodeWalHeader(bytes);
  assert.ok(h);
  assert.equal(h.pageSize, 4096);
  assert.equal(h.checkpointSeq, 7);
  assert.equal(h.salt1, 0xdeadbeef);
  bytes[30] = (bytes[30]! + 1) & 0xff;
  assert.equal(decodeWalHeader(bytes), null);
});

test('the checksum is the Fletcher-like sum SQLite documents', () => {
  const data = new Uint8Array(16);
  const v = new DataView(data.buffer);
  [1, 2, 3, 4].forEach((x, i) => v.setUint32(i * 4, x, true));
  // s1 = 0+1+0 = 1, s2 = 0+2+1 = 3; s1 = 1+3+3 = 7, s2 = 3+4+7 = 14
  assert.deepEqual(walChecksum(data, [0, 0], false), [7, 14]);
  assert.throws(() => walChecksum(new Uint8Array(4), [0, 0], false), RangeError);
});

test('SQLite writes frames our scanner accepts, with pages equal to sqlite_dbpage', async () => {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  const db = openWalConnection(sqlite3, files.name, settings);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  for (let i = 0; i < 20; i++) db.exec({ sql: 'INSERT INTO t(v) VALUES (?)', bind: ['x'.repeat(300) + i] });
  assert.equal(db.selectValue('PRAGMA page_size'), PAGE_SIZE);
  const log = new WalLog(files.db, files.wal, PAGE_SIZE);
  const state = log.state();
  const framesInFile = (files.wal.size() - WAL_HEADER_SIZE) / (WAL_FRAME_HEADER_SIZE + PAGE_SIZE);
  assert.ok(state.header, 'SQLite wrote a valid WAL header');
  assert.equal(state.frames, framesInFile, 'every frame SQLite wrote passes our checksum chain');
  assert.equal(state.dbSizePages, db.selectValue('PRAGMA page_count'));
  for (let pgno = 1; pgno <= state.dbSizePages; pgno++) {
    const expected = db.selectValue('SELECT data FROM sqlite_dbpage WHERE pgno = ?', [pgno]) as Uint8Array;
    assert.deepEqual(log.readPage(pgno, state.frames, state), expected, `page ${pgno}`);
  }
  assert.equal(log.readPage(state.dbSizePages + 1, state.frames, state), null);
  db.close();
});

test('truncating at an earlier commit frame brings back exactly that state', async () => {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  let db = openWalConnection(sqlite3, files.name, settings);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  db.exec("INSERT INTO t(v) VALUES ('a'), ('b')");
  const log = new WalLog(files.db, files.wal, PAGE_SIZE);
  const cut = log.state().frames;
  db.exec("INSERT INTO t(v) VALUES ('c')");
  db.exec('DELETE FROM t WHERE v = \'a\'');
  assert.ok(log.state().frames > cut);
  assert.deepEqual(log.changedPagesAfter(cut).sort(), [2]);
  db.close();
  log.truncateAt(cut);
  db = openWalConnection(sqlite3, files.name, settings);
  assert.deepEqual(db.selectValues('SELECT v FROM t ORDER BY id'), ['a', 'b']);
  assert.equal(db.selectValue('PRAGMA integrity_check'), 'ok');
  assert.throws(() => log.truncateAt(cut + 5));
  db.close();
});

test('an appended commit group of another database\'s pages becomes that database on reopen', async () => {
  const { sqlite3, vfs } = await loadSqlite();
  const a = registerMemoryFiles(vfs);
  const b = registerMemoryFiles(vfs);
  let dbA = openWalConnection(sqlite3, a.name, settings);
  dbA.exec('CREATE TABLE mine(x); INSERT INTO mine VALUES (1)');
  const dbB = openWalConnection(sqlite3, b.name, settings);
  dbB.exec('CREATE TABLE other(id INTEGER PRIMARY KEY, s TEXT); CREATE INDEX other_s ON other(s)');
  for (let i = 0; i < 500; i++) dbB.exec({ sql: 'INSERT INTO other(s) VALUES (?)', bind: [`row ${i} ${'y'.repeat(i % 50)}`] });
  const pageCount = dbB.selectValue('PRAGMA page_count') as number;
  const pages = dbB.selectArrays('SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno').map(([pgno, data]) => ({
    pgno: pgno as number,
    data: data as Uint8Array,
  }));
  dbA.close();
  const log = new WalLog(a.db, a.wal, PAGE_SIZE);
  const before = log.state().frames;
  const after = log.appendCommitGroup(pages, pageCount);
  assert.equal(after.frames, before + pages.length);
  // The state it returns (built from what it wrote) is what a fresh scan of the file reads.
  assert.deepEqual(after, new WalLog(a.db, a.wal, PAGE_SIZE).state());
  // A second group onto a fresh log (a new header), and one continuing it, read back the same too.
  const c = registerMemoryFiles(vfs);
  const logC = new WalLog(c.db, c.wal, PAGE_SIZE);
  const first = logC.appendCommitGroup(pages.slice(0, 3), 3);
  assert.deepEqual(first, new WalLog(c.db, c.wal, PAGE_SIZE).state());
  const second = logC.appendCommitGroup(pages, pageCount, first);
  assert.deepEqual(second, new WalLog(c.db, c.wal, PAGE_SIZE).state());
  assert.equal(second.frames, 3 + pages.length);
  dbA = openWalConnection(sqlite3, a.name, settings);
  assert.equal(dbA.selectValue('SELECT count(*) FROM other'), 500);
  assert.equal(dbA.selectValue("SELECT count(*) FROM sqlite_schema WHERE name = 'mine'"), 0);
  assert.equal(dbA.selectValue('PRAGMA integrity_check'), 'ok');
  // SQLite keeps appending to the chain we continued.
  dbA.exec("INSERT INTO other(s) VALUES ('after')");
  dbA.close();
  dbA = openWalConnection(sqlite3, a.name, settings);
  assert.equal(dbA.selectValue('SELECT count(*) FROM other'), 501);
  dbA.close();
  dbB.close();
});

test('a snapshot connection sees the database as of a frame while the main connection moves on', async () => {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  const db = openWalConnection(sqlite3, files.name, settings);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  db.exec("INSERT INTO t(v) VALUES ('old')");
  const log = new WalLog(files.db, files.wal, PAGE_SIZE);
  const frame = log.state().frames;
  db.exec("UPDATE t SET v = 'new'; INSERT INTO t(v) SELECT 'more' FROM t");
  const snapName = `${files.name}-snapshot`;
  vfs.registerFile(snapName, log.snapshotAt(frame));
  const snap = openSnapshotConnection(sqlite3, snapName);
  assert.deepEqual(snap.selectValues('SELECT v FROM t ORDER BY id'), ['old']);
  assert.deepEqual(db.selectValues('SELECT v FROM t ORDER BY id'), ['new', 'more']);
  assert.equal(snap.selectValue('PRAGMA integrity_check'), 'ok');
  assert.throws(() => snap.exec("INSERT INTO t(v) VALUES ('x')"));
  snap.close();
  vfs.unregisterFile(snapName);
  db.close();
});

test('a checkpoint folds the WAL into the database file and the scanner sees an empty log', async () => {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  let db = openWalConnection(sqlite3, files.name, settings);
  db.exec('CREATE TABLE t(v); INSERT INTO t VALUES (1), (2), (3)');
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const log = new WalLog(files.db, files.wal, PAGE_SIZE);
  assert.equal(log.state().frames, 0);
  assert.equal(files.wal.size(), 0);
  assert.equal(files.db.size(), 2 * PAGE_SIZE);
  db.close();
  // The database file alone (bytes 18/19 = 2, i.e. WAL) reopens in our mode.
  db = openWalConnection(sqlite3, files.name, settings);
  assert.equal(db.selectValue('SELECT sum(v) FROM t'), 6);
  db.close();
});

test('a remembered state is extended by later frames, and forgotten by a truncation or a restarted log', async () => {
  const { sqlite3, vfs } = await loadSqlite();
  const files = registerMemoryFiles(vfs);
  let db = openWalConnection(sqlite3, files.name, settings);
  const log = new WalLog(files.db, files.wal, PAGE_SIZE);
  const fresh = () => new WalLog(files.db, files.wal, PAGE_SIZE).state();
  const same = (label: string) => {
    const a = log.state();
    const b = fresh();
    assert.equal(a.frames, b.frames, label);
    assert.deepEqual(a.checksum, b.checksum, label);
    assert.deepEqual([...a.framePgnos], [...b.framePgnos], label);
    assert.deepEqual([...a.frameCommitSizes], [...b.frameCommitSizes], label);
  };
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  same('first read');
  for (let i = 0; i < 30; i++) db.exec({ sql: 'INSERT INTO t(v) VALUES (?)', bind: ['y'.repeat(500)] });
  same('after SQLite appended');
  const cut = log.state().frames;
  db.exec('INSERT INTO t(v) VALUES (1); INSERT INTO t(v) VALUES (2)');
  same('before the truncation');
  db.close();
  log.truncateAt(cut);
  db = openWalConnection(sqlite3, files.name, settings);
  // More frames than were cut, so the old frame numbers are reused by other pages.
  db.exec("UPDATE t SET v = v || 'z'");
  same('after a truncation and new frames at the same places');
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.exec("INSERT INTO t(v) VALUES ('after restart')");
  same('after a checkpoint restarted the log');
  db.close();
});
