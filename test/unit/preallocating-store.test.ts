import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryFileStore } from '../../worker/vfs/file-store.js';
import { PreallocatingStore } from '../../worker/vfs/preallocating-store.js';
import { WalLog } from '../../worker/vfs/wal-log.js';

const CHUNK = 64 * 1024;
const FRAME = 24 + 4096;
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

/** A MemoryFileStore that refuses to grow past `limit` bytes, as OPFS does at the storage quota. */
class QuotaStore extends MemoryFileStore {
  limit = Infinity;
  override write(src: Uint8Array, at: number): void {
    if (at + src.length > Math.max(this.size(), this.limit)) {
      throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
    }
    super.write(src, at);
  }
  override truncate(size: number): void {
    if (size > Math.max(this.size(), this.limit)) throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
    super.truncate(size);
  }
}

test('appends grow the file a chunk of zeros ahead; size() and reads see only what was written', () => {
  const inner = new MemoryFileStore();
  const store = new PreallocatingStore(inner, CHUNK);
  store.write(bytes(32 + FRAME, 1), 0);
  assert.equal(store.size(), 32 + FRAME);
  assert.equal(inner.size(), CHUNK);
  for (let i = 1; i < 20; i++) store.write(bytes(FRAME, 2), 32 + i * FRAME);
  assert.equal(store.size(), 32 + 20 * FRAME);
  assert.equal(inner.size(), 2 * CHUNK, 'one more chunk once the first is full');
  // A read at the logical end is short, as for a file of that size; past it nothing is read.
  const tail = new Uint8Array(100);
  assert.equal(store.read(tail, store.size() - 10), 10);
  assert.deepEqual([...tail.subarray(0, 10)], Array(10).fill(2));
  assert.equal(store.read(tail, store.size()), 0);
  assert.equal(store.read(tail, store.size() + 5000), 0);
  // Past the logical end, the file holds zeros.
  const zeros = new Uint8Array(2 * CHUNK - store.size());
  inner.read(zeros, store.size());
  assert.ok(zeros.every((b) => b === 0));
});

test('a large write (the sync engine appends 64 frames at once) grows the file exactly', () => {
  const inner = new MemoryFileStore();
  const store = new PreallocatingStore(inner, CHUNK);
  store.write(bytes(64 * FRAME, 1), 32);
  assert.equal(inner.size(), 32 + 64 * FRAME);
  assert.equal(store.size(), 32 + 64 * FRAME);
});

test('a shrink truncates the file itself to the exact size, so cut frames cannot be found again', () => {
  const inner = new MemoryFileStore();
  const store = new PreallocatingStore(inner, CHUNK);
  for (let i = 0; i < 5; i++) store.write(bytes(FRAME, 7), 32 + i * FRAME);
  store.truncate(32 + 2 * FRAME);
  assert.equal(store.size(), 32 + 2 * FRAME);
  assert.equal(inner.size(), 32 + 2 * FRAME);
  store.truncate(0);
  assert.equal(inner.size(), 0);
  // Growing again starts a new chunk from the new end.
  store.write(bytes(FRAME, 3), 0);
  assert.equal(inner.size(), CHUNK);
  assert.equal(store.size(), FRAME);
});

test('close trims the zeros; a reopen after a crash takes the whole file, zero tail included', () => {
  const inner = new MemoryFileStore();
  const store = new PreallocatingStore(inner, CHUNK);
  store.write(bytes(FRAME, 1), 0);
  store.close();
  assert.equal(inner.size(), FRAME);

  const crashed = new MemoryFileStore();
  new PreallocatingStore(crashed, CHUNK).write(bytes(FRAME, 1), 0); // never closed
  const reopened = new PreallocatingStore(crashed, CHUNK);
  assert.equal(reopened.size(), CHUNK);
});

test('near the quota a write that fits is never refused for its chunk; growth is exact until the file shrinks', () => {
  const inner = new QuotaStore();
  inner.limit = FRAME * 3;
  const store = new PreallocatingStore(inner, CHUNK);
  store.write(bytes(FRAME, 1), 0);
  store.write(bytes(FRAME, 2), FRAME);
  store.write(bytes(FRAME, 3), 2 * FRAME);
  assert.equal(inner.size(), 3 * FRAME, 'exactly what was written: the chunks were refused');
  assert.equal(store.size(), 3 * FRAME);
  assert.throws(() => store.write(bytes(FRAME, 4), 3 * FRAME), { name: 'QuotaExceededError' });
  assert.equal(store.size(), 3 * FRAME);
  // Room again, and the log emptied by a checkpoint: chunks are tried again.
  inner.limit = Infinity;
  store.truncate(0);
  store.write(bytes(FRAME, 5), 0);
  assert.equal(inner.size(), CHUNK);
});

test('WalLog over a log with a zero tail (a crash after growing ahead) finds exactly the committed frames', () => {
  const db = new MemoryFileStore();
  const pages = (n: number, fill: number) => Array.from({ length: n }, (_, i) => ({ pgno: i + 1, data: bytes(4096, fill) }));
  // Two transactions, made on a plain file...
  const made = new MemoryFileStore();
  const maker = new WalLog(db, made, 4096);
  maker.appendCommitGroup(pages(2, 1), 2);
  maker.appendCommitGroup(pages(3, 2), 3);
  const log = new Uint8Array(made.size());
  made.read(log, 0);
  // ...then written as SQLite writes them (log header, then frame by frame) through the store, and
  // never closed: the file keeps its chunk of zeros.
  const walFile = new MemoryFileStore();
  const wal = new PreallocatingStore(walFile, CHUNK);
  wal.write(log.subarray(0, 32), 0);
  for (let at = 32; at < log.length; at += FRAME) wal.write(log.subarray(at, at + FRAME), at);
  assert.equal(walFile.size(), CHUNK);
  const reader = new WalLog(db, new PreallocatingStore(walFile, CHUNK), 4096);
  const state = reader.state();
  assert.equal(state.frames, 5);
  assert.equal(state.dbSizePages, 3);
  assert.deepEqual([...reader.readPage(3, state.frames, state)!.subarray(0, 4)], [2, 2, 2, 2]);
});
