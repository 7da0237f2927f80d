/** The changes file: batched writes and reads give back every page once, in arrival order, last version wins. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangesFileReader, ChangesFileWriter } from '../../worker/engine/changes-file.js';
import { MemoryFileStore } from '../../worker/vfs/file-store.js';

const PAGE = 4096;
const page = (tag: number) => new Uint8Array(PAGE).fill(tag % 251);

test('pages round-trip across batches; a page sent again keeps its place and its last version', () => {
  const file = new MemoryFileStore();
  const writer = new ChangesFileWriter(file, PAGE);
  const order: number[] = [];
  for (let i = 0; i < 600; i++) {
    const pgno = 1000 - i; // not sorted, as servers send them
    writer.add(pgno, page(pgno));
    order.push(pgno);
  }
  writer.add(1000, page(7)); // re-sent after its batch was written to the file
  writer.add(500, page(9)); // re-sent while still in the write buffer
  assert.equal(ChangesFileReader.open(file, PAGE), null, 'no complete download before finish()');
  const summary = writer.finish('rev-42', 1200);
  assert.deepEqual(summary, { revision: 'rev-42', dbSizePages: 1200, pageCount: 600 });

  const reader = ChangesFileReader.open(file, PAGE)!;
  assert.deepEqual(reader.summary, summary);
  assert.deepEqual(reader.pgnos(), order);
  const pages = [...reader.pages()];
  assert.deepEqual(pages.map((p) => p.pgno), order);
  for (const p of pages) {
    const expected = p.pgno === 1000 ? 7 : p.pgno === 500 ? 9 : p.pgno % 251;
    assert.ok(p.data.length === PAGE && p.data.every((b) => b === expected), `page ${p.pgno}`);
  }
});

test('a pull intent written with the changes reads back; a torn or missing one reads as none', () => {
  const file = new MemoryFileStore();
  const writer = new ChangesFileWriter(file, PAGE);
  writer.add(1, page(1));
  writer.finish('rev-7', 3);
  const reader = ChangesFileReader.open(file, PAGE)!;
  assert.equal(reader.intent(), null, 'a download alone carries no intent');
  const intent = { revision: 'rev-7', dbSizePages: 3, localEndFrame: 12, applyEndFrame: 20, salt1: 0xfedcba98, salt2: 7, localPullGen: 4 };
  reader.writeIntent(intent);
  assert.deepEqual(ChangesFileReader.open(file, PAGE)!.intent(), intent);
  assert.throws(() => reader.writeIntent({ ...intent, revision: 'rev-8' }), /other changes/);

  const torn = new Uint8Array(4);
  file.read(torn, 3072 + 8);
  torn[3] = torn[3]! ^ 1;
  file.write(torn, 3072 + 8);
  assert.equal(ChangesFileReader.open(file, PAGE)!.intent(), null, 'a block that fails its check is no intent');
  reader.clear();
  assert.equal(ChangesFileReader.open(file, PAGE), null);
});
