/** The binary encoding of statement calls through shared memory: every value kind round-trips exactly. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryReader, BinaryWriter, CannotEncode, StatementOp, Status, readAnswer, readRequest, writeAnswer, writeRequest } from '../../contract/statement-calls.js';
import { Real } from '../../contract/sql-value.js';
import { spinBudgetMs } from '../../src/statement-calls.js';

function roundTrip(values: unknown[]): unknown[] {
  const buffer = new SharedArrayBuffer(1 << 16);
  const w = new BinaryWriter(buffer, 32);
  w.row(values);
  return new BinaryReader(buffer, 32).row();
}

describe('shared-memory call encoding', () => {
  test('values keep their type and value (numbers, -0, bigints, text of every plane, blobs, Real, booleans)', () => {
    const values = [null, 0, -1, 2 ** 31, -(2 ** 31), 2 ** 53 + 2, -0, 0.1, Infinity, NaN, 2n ** 63n - 1n, -(2n ** 63n), '', 'abc', '\uFEFFbom', 'é中🎉', 'x'.repeat(2000) + '🎉', new Uint8Array([0, 255]), true, false, new Real(2), undefined];
    const back = roundTrip(values);
    assert.equal(back.length, values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v instanceof Real) assert.ok(back[i] instanceof Real && (back[i] as Real).value === 2);
      else if (v instanceof Uint8Array) assert.deepEqual([...(back[i] as Uint8Array)], [...v]);
      else assert.ok(Object.is(back[i], v), `value ${i}: ${String(back[i])} is ${String(v)}`);
    }
  });

  test('a lone surrogate becomes U+FFFD, as TextEncoder makes it', () => {
    assert.deepEqual(roundTrip(['a\uD800b', '\uDC00']), [new TextDecoder().decode(new TextEncoder().encode('a\uD800b')), '\uFFFD']);
  });

  test('requests and answers of each call round-trip; what does not fit throws CannotEncode', () => {
    const buffer = new SharedArrayBuffer(256);
    writeRequest(new BinaryWriter(buffer, 32), StatementOp.Get, 'SELECT :a', { a: 1n, b: 'x' });
    assert.deepEqual(readRequest(new BinaryReader(buffer, 32)), { op: StatementOp.Get, a: 'SELECT :a', b: { a: 1n, b: 'x' } });
    writeAnswer(new BinaryWriter(buffer, 32), StatementOp.All, Status.Ok, { columns: ['a'], rows: [[1], ['é']] });
    assert.deepEqual(readAnswer(new BinaryReader(buffer, 32), StatementOp.All), { status: Status.Ok, value: { columns: ['a'], rows: [[1], ['é']] } });
    writeAnswer(new BinaryWriter(buffer, 32), StatementOp.Run, Status.Error, { code: 'SQLITE_ERROR', message: 'no' });
    assert.deepEqual(readAnswer(new BinaryReader(buffer, 32), StatementOp.Run), { status: Status.Error, value: { code: 'SQLITE_ERROR', message: 'no' } });
    assert.throws(() => writeRequest(new BinaryWriter(buffer, 32), StatementOp.Run, 'x'.repeat(300), []), CannotEncode);
    assert.throws(() => writeRequest(new BinaryWriter(buffer, 32), StatementOp.Run, 'SELECT ?', [2n ** 64n]), CannotEncode);
    assert.throws(() => writeRequest(new BinaryWriter(buffer, 32), StatementOp.Run, 'SELECT ?', [new Int16Array(1)]), CannotEncode);
  });
});

describe("the page's spin before it parks", () => {
  test('fast calls get the floor; slower ones twice their service time up to the cap; slower still (spinning would not catch them) the floor', () => {
    assert.equal(spinBudgetMs(0), 0.1);
    assert.equal(spinBudgetMs(0.02), 0.1);
    assert.ok(Math.abs(spinBudgetMs(0.12) - 0.27) < 1e-9);
    assert.ok(Math.abs(spinBudgetMs(0.235) - 0.5) < 1e-9);
    assert.equal(spinBudgetMs(0.3), 0.1);
    assert.equal(spinBudgetMs(5), 0.1);
  });
});
