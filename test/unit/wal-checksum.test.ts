import assert from 'node:assert/strict';
import { test } from 'node:test';
import { walChecksum } from '../../worker/vfs/wal-format.js';

/** The checksum as SQLite defines it, word by word through a DataView (the reference). */
function reference(data: Uint8Array, seed: readonly [number, number], bigEndian: boolean): [number, number] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let [s1, s2] = seed;
  for (let i = 0; i < data.length; i += 8) {
    s1 = (s1 + view.getUint32(i, !bigEndian) + s2) >>> 0;
    s2 = (s2 + view.getUint32(i + 4, !bigEndian) + s1) >>> 0;
  }
  return [s1, s2];
}

test('the word-array checksum equals the reference, aligned or not, in both byte orders', () => {
  const bytes = new Uint8Array(4096 + 16);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  const seed: [number, number] = [0xfffffff0, 0x12345678];
  for (const offset of [0, 4, 8, 1, 3]) {
    const data = bytes.subarray(offset, offset + 4096);
    for (const bigEndian of [false, true]) {
      assert.deepEqual(walChecksum(data, seed, bigEndian), reference(data, seed, bigEndian), `offset ${offset}, bigEndian ${bigEndian}`);
    }
  }
});
