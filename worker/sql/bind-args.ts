/**
 * Binds values to a prepared statement, checking counts and types up front. Binding goes straight
 * to SQLite's C API rather than through sqlite-wasm's `stmt.bind()`, which binds every integral
 * number as a 64-bit integer: 1e300 and -0 became 0, and 2^63 wrapped to −2^63. Here a number is a
 * double unless it is a safe integer (sql-value.ts decides), and a `Real` is always a double.
 */
import type { Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import type { BindArgs } from '../../contract/worker-api.js';
import { sqliteError } from './sqlite-error.js';
import { type Real, ValueKind, blobBytes, floatOf, unbindableError, valueKind } from '../../contract/sql-value.js';

export function bindArgs(sqlite3: Sqlite3Static, stmt: PreparedStatement, args: BindArgs, sql: string): void {
  const expected = stmt.parameterCount;
  if (Array.isArray(args)) {
    if (args.length !== expected) {
      throw new WalsyncError(
        'INVALID_ARGUMENT',
        `the statement has ${expected} parameter${expected === 1 ? '' : 's'} but ${args.length} value${args.length === 1 ? ' was' : 's were'} given`,
        { context: { sql, expected, given: args.length } },
      );
    }
    const pointer = stmt.pointer!;
    for (let i = 0; i < expected; i++) bindValue(sqlite3, pointer, i + 1, args[i], i + 1, sql);
    return;
  }
  const named = args as Readonly<Record<string, unknown>>;
  const pointer = stmt.pointer!;
  for (let i = 1; i <= expected; i++) {
    const name = sqlite3.capi.sqlite3_bind_parameter_name(pointer, i);
    if (!name) {
      throw new WalsyncError('INVALID_ARGUMENT', `parameter ${i} is positional; pass an array of values, not an object`, {
        context: { sql },
      });
    }
    const key = name.slice(1);
    if (!Object.prototype.hasOwnProperty.call(named, key)) {
      throw new WalsyncError('INVALID_ARGUMENT', `missing a value for named parameter ${name}`, { context: { sql, parameter: name } });
    }
    bindValue(sqlite3, pointer, i, named[key], name, sql);
  }
}

/** Runs one statement with positional values (engine SQL: replay), keeping every value's type. */
export function runWithValues(sqlite3: Sqlite3Static, db: Database, sql: string, values: readonly unknown[]): void {
  const stmt = db.prepare(sql);
  try {
    bindArgs(sqlite3, stmt, values, sql);
    while (stmt.step()) {
      /* drain */
    }
  } finally {
    stmt.finalize();
  }
}

/** The raw C functions binding uses (sqlite-wasm's exports; pointers are numbers in this build). */
interface BindExports {
  sqlite3_bind_null(stmt: number, index: number): number;
  sqlite3_bind_int(stmt: number, index: number, value: number): number;
  sqlite3_bind_int64(stmt: number, index: number, value: bigint): number;
  sqlite3_bind_double(stmt: number, index: number, value: number): number;
  sqlite3_bind_zeroblob(stmt: number, index: number, size: number): number;
  sqlite3_bind_text(stmt: number, index: number, text: number, bytes: number, destructor: number): number;
  sqlite3_bind_blob(stmt: number, index: number, data: number, bytes: number, destructor: number): number;
}

interface HeapAllocation {
  allocCString(text: string, withLength: true): [number, number];
  allocFromTypedArray(bytes: Uint8Array): number;
}

/** Binds one value at `index` (1-based); `parameter` names it in errors (its position or name). */
export function bindValue(sqlite3: Sqlite3Static, pointer: number, index: number, v: unknown, parameter: number | string, sql: string): void {
  const x = sqlite3.wasm.exports as unknown as BindExports;
  let rc: number;
  switch (valueKind(v)) {
    case ValueKind.Null:
      rc = x.sqlite3_bind_null(pointer, index);
      break;
    case ValueKind.Integer:
      rc = (v as number) === ((v as number) | 0) ? x.sqlite3_bind_int(pointer, index, v as number) : x.sqlite3_bind_int64(pointer, index, BigInt(v as number));
      break;
    case ValueKind.BigInteger:
      rc = x.sqlite3_bind_int64(pointer, index, v as bigint);
      break;
    case ValueKind.Float:
      rc = x.sqlite3_bind_double(pointer, index, floatOf(v as number | Real));
      break;
    case ValueKind.Boolean:
      rc = x.sqlite3_bind_int(pointer, index, v ? 1 : 0);
      break;
    case ValueKind.Text: {
      // UTF-8 in the heap (TextEncoder keeps a leading U+FEFF), freed by SQLite through the destructor,
      // even if the bind fails.
      const [text, bytes] = (sqlite3.wasm as unknown as HeapAllocation).allocCString(v as string, true);
      rc = x.sqlite3_bind_text(pointer, index, text, bytes, dealloc(sqlite3));
      break;
    }
    case ValueKind.Blob: {
      const bytes = blobBytes(v as ArrayBufferView | ArrayBuffer);
      // An empty blob is a zero-length blob, not NULL (a null data pointer would bind NULL).
      rc =
        bytes.length === 0
          ? x.sqlite3_bind_zeroblob(pointer, index, 0)
          : x.sqlite3_bind_blob(pointer, index, (sqlite3.wasm as unknown as HeapAllocation).allocFromTypedArray(bytes), bytes.length, dealloc(sqlite3));
      break;
    }
    default:
      throw unbindableError(v, parameter, sql);
  }
  if (rc !== 0) throw sqliteError(sqlite3, null, rc, sql);
}

/** The destructor that frees heap memory sqlite-wasm allocated (`sqlite3.capi.SQLITE_WASM_DEALLOC`). */
function dealloc(sqlite3: Sqlite3Static): number {
  return Number(sqlite3.capi.SQLITE_WASM_DEALLOC);
}
