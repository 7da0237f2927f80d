import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecord, encodeRecord } from '../../worker/cdc/record.js';

test('record text decodes to the same string on the ASCII path and the UTF-8 path', () => {
  const texts = ['', 'item-1', 'a\u0000b', 'x'.repeat(256), 'y'.repeat(257), 'café', '\uFEFFbom', '日本語'.repeat(100), 'ascii then é at the end', '😀'];
  const decoded = decodeRecord(encodeRecord(texts));
  assert.deepEqual(decoded, texts);
});
