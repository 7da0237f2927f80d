import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryFileStore } from '../../worker/vfs/file-store.js';
import { ReadAheadStore } from '../../worker/vfs/read-ahead-store.js';

const PAGE = 4096;

/** A MemoryFileStore that records every read it receives (offset, length). */
class RecordingStore extends MemoryFileStore {
  readonly reads: [number, number][] = [];
  override read(dest: Uint8Array, at: number): number {
    this.reads.push([at, dest.length]);
    return super.read(dest, at);
  }
}

/** A file of `pages` pages, each filled with its page number (mod 256). */
function fileOf(pages: number): RecordingStore {
  const store = new RecordingStore();
  for (let p = 0; p < pages; p++) store.write(new Uint8Array(PAGE).fill(p % 256), p * PAGE);
  return store;
}

function readPage(store: ReadAheadStore, p: number): Uint8Array {
  const page = new Uint8Array(PAGE);
  assert.equal(store.read(page, p * PAGE), PAGE);
  return page;
}

test('a scan in file order reads a growing window per call, not a page per call, with the same bytes', () => {
  const inner = fileOf(1000);
  const store = new ReadAheadStore(inner);
  for (let p = 0; p < 1000; p++) assert.ok(readPage(store, p).every((b) => b === p % 256), `page ${p}`);
  // 64 KiB, 128, 256, 512, then 1 MiB windows: far fewer calls than 1,000 pages.
  assert.ok(inner.reads.length < 20, `${inner.reads.length} reads`);
});

test('point reads far apart read one page each', () => {
  const inner = fileOf(100);
  const store = new ReadAheadStore(inner);
  for (const p of [50, 3, 77, 20, 90, 1]) readPage(store, p);
  assert.deepEqual(
    inner.reads.map(([, n]) => n),
    [PAGE, PAGE, PAGE, PAGE, PAGE, PAGE],
  );
});

test('a write or truncate drops what was read ahead: later reads see the new bytes', () => {
  const inner = fileOf(64);
  const store = new ReadAheadStore(inner);
  readPage(store, 0);
  readPage(store, 1); // reads ahead pages 1…16
  store.write(new Uint8Array(PAGE).fill(200), 2 * PAGE);
  assert.ok(readPage(store, 2).every((b) => b === 200));
  readPage(store, 3);
  readPage(store, 4);
  store.truncate(5 * PAGE);
  const past = new Uint8Array(PAGE);
  assert.equal(store.read(past, 5 * PAGE), 0);
  assert.ok(readPage(store, 4).every((b) => b === 4));
});

test('a read ahead past the end of the file is short, as the file itself would be', () => {
  const inner = fileOf(3);
  const store = new ReadAheadStore(inner);
  readPage(store, 0);
  readPage(store, 1);
  readPage(store, 2);
  const past = new Uint8Array(PAGE);
  assert.equal(store.read(past, 3 * PAGE), 0);
  const straddling = new Uint8Array(2 * PAGE);
  assert.equal(store.read(straddling, 2 * PAGE), PAGE);
  // The file grows: the bytes appended after the short read-ahead are seen.
  store.write(new Uint8Array(PAGE).fill(9), 3 * PAGE);
  assert.ok(readPage(store, 3).every((b) => b === 9));
});

test('WAL-style reads (a page after each 24-byte frame header) count as sequential', () => {
  const inner = new RecordingStore();
  const frame = 24 + PAGE;
  for (let f = 0; f < 200; f++) inner.write(new Uint8Array(frame).fill(f % 256), 32 + f * frame);
  const store = new ReadAheadStore(inner);
  for (let f = 0; f < 200; f++) {
    const page = new Uint8Array(PAGE);
    assert.equal(store.read(page, 32 + f * frame + 24), PAGE);
    assert.ok(page.every((b) => b === f % 256), `frame ${f}`);
  }
  assert.ok(inner.reads.length < 15, `${inner.reads.length} reads`);
});
