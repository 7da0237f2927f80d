/**
 * Values in the worker, on sqlite-wasm in Node: how a JS value is classified and bound, how rows
 * and change-log records are read back (REAL stays REAL, a leading U+FEFF stays), and how values
 * are written for Hrana (a REAL is a float, -0 is -0.0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { loadSqlite } from '../support/node-sqlite.js';
import { bindArgs } from '../../worker/sql/bind-args.js';
import { rowReader } from '../../worker/sql/read-row.js';
import { Real, ValueKind, valueKind } from '../../contract/sql-value.js';
import { registerCaptureFunctions } from '../../worker/cdc/capture-functions.js';
import { decodeRecord } from '../../worker/cdc/record.js';
import { toHranaValue, toRequestJson } from '../../worker/protocol/pipeline.js';
import { fastRead, floatText } from '../../worker/protocol/float-text.js';
import { WalsyncError } from '../../contract/errors.js';

test('a number is an INTEGER only if it is a safe integer other than -0; bigints must fit 64 bits', () => {
  const cases: [unknown, ValueKind][] = [
    [0, ValueKind.Integer],
    [2 ** 53 - 1, ValueKind.Integer],
    [-(2 ** 53 - 1), ValueKind.Integer],
    [2 ** 53, ValueKind.Float],
    [-(2 ** 53), ValueKind.Float],
    [2 ** 63, ValueKind.Float],
    [1e300, ValueKind.Float],
    [-0, ValueKind.Float],
    [1.5, ValueKind.Float],
    [Infinity, ValueKind.Float],
    [new Real(2), ValueKind.Float],
    [2n ** 63n - 1n, ValueKind.BigInteger],
    [-(2n ** 63n), ValueKind.BigInteger],
    [2n ** 63n, ValueKind.OutOfRange],
    [-(2n ** 63n) - 1n, ValueKind.OutOfRange],
    ['', ValueKind.Text],
    [null, ValueKind.Null],
    [true, ValueKind.Boolean],
    [new Uint8Array(1), ValueKind.Blob],
    [new ArrayBuffer(1), ValueKind.Blob],
    [new Int16Array(1), ValueKind.Blob],
    [undefined, ValueKind.Unsupported],
    [() => 1, ValueKind.Unsupported],
    [Symbol('s'), ValueKind.Unsupported],
    [{}, ValueKind.Unsupported],
    [new Date(0), ValueKind.Unsupported],
  ];
  for (const [value, kind] of cases) assert.equal(valueKind(value), kind, String(value));
});

async function memoryDb(): Promise<{ sqlite3: Sqlite3Static; db: Database }> {
  const { sqlite3 } = await loadSqlite();
  return { sqlite3, db: new sqlite3.oo1.DB(':memory:') };
}

/** Binds `values` to `sql` and returns its first row as walsync reads it. */
function bindAndRead(sqlite3: Sqlite3Static, db: Database, sql: string, values: readonly unknown[] | Record<string, unknown>): unknown[] {
  const stmt = db.prepare(sql);
  try {
    bindArgs(sqlite3, stmt, values, sql);
    assert.ok(stmt.step());
    return rowReader(sqlite3).row(stmt);
  } finally {
    stmt.finalize();
  }
}

test('binding stores each number as SQLite would hold it: doubles stay doubles, never truncated or wrapped', async () => {
  const { sqlite3, db } = await memoryDb();
  const read = (v: unknown) => bindAndRead(sqlite3, db, 'SELECT typeof(?1), ?1', [v]);
  assert.deepEqual(read(1e300), ['real', 1e300]);
  assert.deepEqual(read(-1e300), ['real', -1e300]);
  assert.deepEqual(read(1.7976931348623157e308), ['real', 1.7976931348623157e308]);
  assert.deepEqual(read(5e-324), ['real', 5e-324]);
  assert.deepEqual(read(2 ** 63), ['real', 2 ** 63]);
  assert.deepEqual(read(2 ** 53), ['real', 2 ** 53]);
  const [type, negativeZero] = read(-0);
  assert.equal(type, 'real');
  assert.ok(Object.is(negativeZero, -0), '-0 stays -0');
  assert.deepEqual(read(2 ** 53 - 1), ['integer', 2 ** 53 - 1]);
  assert.deepEqual(read(2 ** 31), ['integer', 2 ** 31]);
  assert.deepEqual(read(2n ** 63n - 1n), ['integer', 2n ** 63n - 1n]);
  assert.deepEqual(read(-(2n ** 63n)), ['integer', -(2n ** 63n)]);
  assert.deepEqual(read(5n), ['integer', 5], 'small integers come back as numbers');
  assert.deepEqual(read(new Real(2)), ['real', 2]);
  assert.deepEqual(read(true), ['integer', 1]);
  assert.deepEqual(read(new Uint8Array(0)), ['blob', new Uint8Array(0)], 'an empty blob is a blob, not NULL');
  assert.deepEqual(read(new Uint16Array([0x0201])), ['blob', new Uint8Array([1, 2])]);
  assert.deepEqual(read(''), ['text', '']);
  assert.deepEqual(read(null), ['null', null]);
  db.close();
});

test('text keeps a leading byte-order mark when bound and read back, at any length, and in column names', async () => {
  const { sqlite3, db } = await memoryDb();
  for (const text of ['\uFEFF', '\uFEFFlo', `\uFEFF${'é'.repeat(40)}`, `\uFEFF${'x'.repeat(5000)}`, 'a\uFEFF']) {
    const [value, hex] = bindAndRead(sqlite3, db, 'SELECT ?1, hex(?1)', [text]);
    assert.equal(value, text);
    assert.equal((hex as string).slice(0, 6), text.startsWith('\uFEFF') ? 'EFBBBF' : '61EFBB');
  }
  const stmt = db.prepare('SELECT 1 AS "\uFEFFname", 2 AS "ünï"');
  assert.deepEqual(rowReader(sqlite3).columnNames(stmt), ['\uFEFFname', 'ünï']);
  stmt.finalize();
  db.close();
});

test('values that cannot be bound are INVALID_ARGUMENT naming the parameter', async () => {
  const { sqlite3, db } = await memoryDb();
  const errorOf = (values: readonly unknown[] | Record<string, unknown>, sql = 'SELECT ?, ?') => {
    try {
      bindAndRead(sqlite3, db, sql, values);
    } catch (e) {
      assert.ok(e instanceof WalsyncError);
      return { code: e.code, message: e.message, parameter: e.context['parameter'] };
    }
    assert.fail('no error');
  };
  assert.deepEqual(errorOf([1, 2n ** 63n]), {
    code: 'INVALID_ARGUMENT',
    message: "parameter 2: the bigint 9223372036854775808 is outside SQLite's 64-bit integer range (−2^63 … 2^63−1)",
    parameter: 2,
  });
  assert.match(errorOf([() => 1, 1]).message, /^parameter 1: cannot bind a value of type function/);
  assert.match(errorOf([1, Symbol('s')]).message, /^parameter 2: cannot bind a value of type symbol/);
  assert.deepEqual(errorOf({ a: 1, b: -(2n ** 64n) }, 'SELECT :a, :b').parameter, ':b');
  db.close();
});

test('change-log images keep REAL 2.0 a REAL and a leading byte-order mark', async () => {
  const { sqlite3, db } = await memoryDb();
  registerCaptureFunctions(sqlite3, db, () => 1);
  const stmt = db.prepare("SELECT walsync_record(2.0, 2, -0.0, ?1, ?2, X'', 1e300)");
  bindArgs(sqlite3, stmt, ['\uFEFFlo', '\uFEFF'], '');
  assert.ok(stmt.step());
  const [record] = rowReader(sqlite3).row(stmt);
  stmt.finalize();
  const values = decodeRecord(record as Uint8Array);
  assert.deepEqual(values, [new Real(2), 2, new Real(-0), '\uFEFFlo', '\uFEFF', new Uint8Array(0), new Real(1e300)]);
  assert.ok(Object.is((values[2] as Real).value, -0));
  db.close();
});

test('Hrana values: a REAL is a float whatever its value, -0 is written -0.0, other numbers as they would bind', () => {
  assert.deepEqual(toHranaValue(new Real(2)), { type: 'float', value: 2 });
  assert.deepEqual(toHranaValue(2), { type: 'integer', value: '2' });
  assert.deepEqual(toHranaValue(2 ** 53), { type: 'float', value: 2 ** 53 });
  assert.deepEqual(toHranaValue(9223372036854775807n), { type: 'integer', value: '9223372036854775807' });
  assert.deepEqual(toHranaValue(-0), { type: 'float', value: -0 });
  assert.deepEqual(toHranaValue('\uFEFFlo'), { type: 'text', value: '\uFEFFlo' });
  assert.throws(() => toHranaValue(Infinity), /not a finite number/);
  const marker = '\u0000walsync:0\u0000';
  const request = { args: [toHranaValue(new Real(-0)), toHranaValue(-0), toHranaValue(0), toHranaValue(marker), { type: 'text', value: -0 }, toHranaValue(new Real(211.25322001787606)), toHranaValue(1.5)] };
  const json = toRequestJson(request, true);
  assert.equal(
    json,
    `{"args":[{"type":"float","value":-0.0},{"type":"float","value":-0.0},{"type":"integer","value":"0"},{"type":"text","value":${JSON.stringify(marker)}},{"type":"text","value":0},{"type":"float","value":211253220017876064e-15},{"type":"float","value":1.5}]}`,
    'only float values are rewritten, and a text that looks like a mark is left alone',
  );
  assert.equal(JSON.parse(json).args[5].value, 211.25322001787606);
  assert.equal(toRequestJson({ v: { type: 'float', value: -0 } }, false), '{"v":{"type":"float","value":0}}', 'without floats JSON is plain');
});

test("float texts name the same double and survive the server's fast number reading", () => {
  // What tursodb stored for these shortest texts (observed): one unit in the last place off.
  assert.equal(fastRead('211', '25322001787606', 0), 211.2532200178761);
  assert.equal(fastRead('943', '7222614789445', 0), 943.7222614789443);
  assert.equal(fastRead('5', '883040221108433', 75), 5.8830402211084326e75);
  // Doubles it reads right in their shortest form keep it; -0 is spelled out.
  for (const d of [1.5, 0.1 + 0.2, 1e300, 5e-324, 1.7976931348623157e308, 2 ** 63, 123.45]) assert.equal(floatText(d), null, String(d));
  assert.equal(floatText(-0), '-0.0');
  // Deterministic pseudo-random doubles of every magnitude and sign.
  let seed = 42;
  const random32 = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed);
  const view = new DataView(new ArrayBuffer(8));
  let rewritten = 0;
  let exact = 0;
  let total = 0;
  for (let i = 0; i < 3000; i++) {
    view.setUint32(0, random32());
    view.setUint32(4, random32());
    const d = i % 2 ? view.getFloat64(0) : (random32() / 2 ** 32) * 1000;
    if (!Number.isFinite(d) || d === 0) continue;
    total++;
    const text = floatText(d);
    if (text !== null) rewritten++;
    const written = text ?? String(d);
    assert.equal(Number(written), d, `${written} names ${d} for a correct reader`);
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(written)!;
    const read = fastRead(m[2]!, m[3] ?? '', Number(m[4] ?? 0)) * (m[1] ? -1 : 1);
    if (read === d) exact++;
  }
  assert.ok(rewritten > total / 10, `many shortest texts are misread (${rewritten} of ${total})`);
  assert.ok(exact >= total * 0.99, `nearly every double arrives exactly (${exact} of ${total})`);
});
