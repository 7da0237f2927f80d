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
  // The raw export: oo1's parameterCount goes through sqlite-wasm's checked wrapper on every call.
  const expected = (sqlite3.wasm.exports as unknown as BindExports).sqlite3_bind_parameter_count(stmt.pointer!);
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
  sqlite3_bind_parameter_count(stmt: number): number;
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
      if ((v as string).length <= SCRATCH_TEXT_MAX) {
        rc = bindShortText(sqlite3, x, pointer, index, v as string);
        break;
      }
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

/** Text up to this many UTF-16 units is bound from a scratch area of the heap (3 bytes per unit at most). */
const SCRATCH_TEXT_MAX = 16 * 1024;
/** SQLITE_TRANSIENT: SQLite copies the text before sqlite3_bind_text returns, so the scratch is free again. */
const SQLITE_TRANSIENT = -1;
const textEncoder = new TextEncoder();

interface Scratch {
  at: number;
  bytes: number;
}
const scratches = new WeakMap<Sqlite3Static, Scratch>();

/**
 * Binds text by writing its UTF-8 into a reused scratch area of the heap (by hand for ASCII, else
 * TextEncoder.encodeInto, which keeps a leading U+FEFF and turns a lone surrogate into U+FFFD as
 * TextEncoder.encode does) and letting SQLite copy it: sqlite-wasm's allocCString encodes into a
 * new array, allocates, copies and frees on every bind, which was most of a short insert's cost.
 */
function bindShortText(sqlite3: Sqlite3Static, x: BindExports, pointer: number, index: number, text: string): number {
  const n = text.length;
  const need = n * 3 + 1;
  let scratch = scratches.get(sqlite3);
  if (!scratch || scratch.bytes < need) {
    const bytes = Math.max(need, 256);
    const wasm = sqlite3.wasm as unknown as { alloc(n: number): number; dealloc(p: number): void };
    if (scratch) wasm.dealloc(scratch.at);
    scratch = { at: wasm.alloc(bytes), bytes };
    scratches.set(sqlite3, scratch);
  }
  const at = scratch.at;
  const heap = sqlite3.wasm.heap8u();
  let written = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      written = textEncoder.encodeInto(text, heap.subarray(at, at + need)).written;
      break;
    }
    heap[at + i] = c;
  }
  return x.sqlite3_bind_text(pointer, index, at, written, SQLITE_TRANSIENT);
}

/** The destructor that frees heap memory sqlite-wasm allocated (`sqlite3.capi.SQLITE_WASM_DEALLOC`). */
function dealloc(sqlite3: Sqlite3Static): number {
  return Number(sqlite3.capi.SQLITE_WASM_DEALLOC);
}
