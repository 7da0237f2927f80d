import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppendCoalescingStore } from '../../worker/vfs/append-coalescing-store.js';
import { MemoryFileStore } from '../../worker/vfs/file-store.js';

/** A MemoryFileStore that records every write it receives (offset, length). */
class RecordingStore extends MemoryFileStore {
  readonly writes: [number, number][] = [];
  override write(src: Uint8Array, at: number): void {
    this.writes.push([at, src.length]);
    super.write(src, at);
  }
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

test('a frame header and the page right after it reach the file as one write', () => {
  const inner = new RecordingStore();
  const store = new AppendCoalescingStore(inner);
  store.write(bytes(32, 1), 0); // log header
  store.write(bytes(24, 2), 32); // frame header
  store.write(bytes(4096, 3), 56); // page
  store.write(bytes(24, 4), 4152);
  store.write(bytes(4096, 5), 4176);
  assert.deepEqual(inner.writes, [[0, 4152], [4152, 4120]]);
  const all = new Uint8Array(8272);
  assert.equal(store.read(all, 0), 8272);
  assert.deepEqual([all[0], all[31], all[32], all[55], all[56], all[4151], all[4152], all[4176], all[8271]], [1, 1, 2, 2, 3, 3, 4, 5, 5]);
});

test('a held write is written before any other call can observe the file', () => {
  for (const observe of [
    (s: AppendCoalescingStore) => s.read(new Uint8Array(24), 0),
    (s: AppendCoalescingStore) => s.size(),
    (s: AppendCoalescingStore) => s.flush(),
    (s: AppendCoalescingStore) => s.truncate(100),
    (s: AppendCoalescingStore) => s.close(),
    (s: AppendCoalescingStore) => s.write(bytes(4096, 9), 8192), // not contiguous
  ]) {
    const inner = new RecordingStore();
    const store = new AppendCoalescingStore(inner);
    store.write(bytes(24, 7), 0);
    assert.equal(inner.writes.length, 0);
    observe(store);
    assert.deepEqual(inner.writes[0], [0, 24]);
    const header = new Uint8Array(24);
    inner.read(header, 0);
    assert.deepEqual(header, bytes(24, 7));
  }
});

test('a failing joined write is not retried later with stale bytes', () => {
  let fail = true;
  const inner = new RecordingStore();
  const flaky = Object.assign(Object.create(inner) as RecordingStore, {
    write(src: Uint8Array, at: number) {
      if (fail) throw new Error('quota');
      inner.write(src, at);
    },
  });
  const store = new AppendCoalescingStore(flaky);
  store.write(bytes(24, 1), 0);
  assert.throws(() => store.write(bytes(4096, 2), 24), /quota/);
  fail = false;
  store.flush();
  assert.deepEqual(inner.writes, []);
});
