/** The /pull-updates stream reader: any chunking of the bytes gives the same messages; a cut-off stream is an error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePullPage, pagesSelector, readDelimitedMessages } from '../../worker/protocol/pull-updates.js';
import { isWalsyncError } from '../../contract/errors.js';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A PageData message: field 1 page_id (varint), field 2 encoded_page (bytes). */
function pageMessage(pageId: number, fill: number): Uint8Array {
  const data = new Uint8Array(4096).fill(fill);
  return Uint8Array.from([0x08, ...varint(pageId), 0x12, ...varint(data.length), ...data]);
}

function delimited(messages: Uint8Array[]): Uint8Array {
  const parts = messages.flatMap((m) => [Uint8Array.from(varint(m.length)), m]);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

async function* chunked(bytes: Uint8Array, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; ) {
    const n = Math.max(1, sizes());
    yield bytes.slice(at, at + n);
    at += n;
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const m of stream) out.push(m.slice());
  return out;
}

test('messages come out whole however the bytes are chunked', async () => {
  const messages = [Uint8Array.from([0x0a, 0x01, 0x35]), ...Array.from({ length: 9 }, (_, i) => pageMessage(i, i + 1))];
  const bytes = delimited(messages);
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), 1 + (seed % 9000));
  for (const sizes of [() => 1, () => 3, () => 4096, () => 4103, () => bytes.length, random]) {
    const got = await collect(readDelimitedMessages(chunked(bytes, sizes)));
    assert.equal(got.length, messages.length);
    got.forEach((m, i) => assert.deepEqual(m, messages[i]));
    const pages = got.slice(1).map(decodePullPage);
    assert.deepEqual(pages.map((p) => p.pgno), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(pages.every((p, i) => p.data.every((b) => b === i + 1)));
  }
});

test('a stream cut in the middle of a message is a PROTOCOL_ERROR', async () => {
  const bytes = delimited([pageMessage(0, 1), pageMessage(1, 2)]);
  for (const cut of [bytes.length - 1, bytes.length - 4000, 4102]) {
    await assert.rejects(
      collect(readDelimitedMessages(chunked(bytes.subarray(0, cut), () => 1000))),
      (e: unknown) => isWalsyncError(e, 'PROTOCOL_ERROR') && /cut off/.test((e as Error).message),
    );
  }
});

test('pagesSelector: a portable RoaringBitmap of the chosen page ids, one array container per block of 65536', () => {
  // The RoaringBitmap {0} of sync-protocol.md §2.7: the database's first page only.
  assert.deepEqual(pagesSelector([0]), Uint8Array.from([0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0]));
  // Unsorted and repeated ids; two containers (keys 0 and 1), offsets after the header.
  const bytes = pagesSelector([3, 0, 70000, 3]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint32(0, true), 12346);
  assert.equal(view.getUint32(4, true), 2);
  assert.deepEqual([view.getUint16(8, true), view.getUint16(10, true), view.getUint16(12, true), view.getUint16(14, true)], [0, 1, 1, 0]);
  assert.deepEqual([view.getUint32(16, true), view.getUint32(20, true)], [24, 28]);
  assert.deepEqual([view.getUint16(24, true), view.getUint16(26, true), view.getUint16(28, true)], [0, 3, 70000 - 65536]);
  assert.equal(bytes.length, 30);
});
