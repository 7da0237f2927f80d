/**
 * Reads result rows and column names straight from SQLite's C API. sqlite-wasm's own `stmt.get()`
 * decodes text with a default TextDecoder, which drops a leading U+FEFF (byte-order mark) from
 * every value: text that starts with one came back without it. This reader decodes the bytes
 * itself and keeps it; it is also the hot path of every query, so it calls the raw exports.
 */
import type { PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import type { SqlValue } from '../../contract/worker-api.js';
import { utf8Decoder } from '../../contract/sql-value.js';

/** The raw C functions (pointers are numbers in this 32-bit build; int64 results are bigint). */
interface ColumnExports {
  sqlite3_column_count(stmt: number): number;
  sqlite3_column_name(stmt: number, i: number): number;
  sqlite3_column_type(stmt: number, i: number): number;
  sqlite3_column_double(stmt: number, i: number): number;
  sqlite3_column_int64(stmt: number, i: number): bigint;
  sqlite3_column_text(stmt: number, i: number): number;
  sqlite3_column_blob(stmt: number, i: number): number;
  sqlite3_column_bytes(stmt: number, i: number): number;
}

const SQLITE_INTEGER = 1;
const SQLITE_FLOAT = 2;
const SQLITE_TEXT = 3;
const SQLITE_BLOB = 4;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export interface RowReader {
  /** The current row of `stmt` (after a step() that returned true). */
  row(stmt: PreparedStatement): SqlValue[];
  /** The statement's result column names. */
  columnNames(stmt: PreparedStatement): string[];
}

const readers = new WeakMap<Sqlite3Static, RowReader>();

export function rowReader(sqlite3: Sqlite3Static): RowReader {
  let reader = readers.get(sqlite3);
  if (!reader) readers.set(sqlite3, (reader = createRowReader(sqlite3)));
  return reader;
}

function createRowReader(sqlite3: Sqlite3Static): RowReader {
  const x = sqlite3.wasm.exports as unknown as ColumnExports;
  // The heap's view is taken after each call that may allocate: the memory may have grown.
  const heap = (): Uint8Array => sqlite3.wasm.heap8u();

  const decode = (at: number, n: number): string => {
    const bytes = heap();
    // ASCII is most text: build it directly, which beats TextDecoder's call overhead on short strings.
    if (n <= 16) {
      let s = '';
      for (let i = at, end = at + n; i < end; i++) {
        const b = bytes[i]!;
        if (b >= 0x80) return utf8Decoder.decode(bytes.subarray(at, at + n));
        s += String.fromCharCode(b);
      }
      return s;
    }
    return utf8Decoder.decode(bytes.subarray(at, at + n));
  };

  const cstring = (at: number): string => {
    const bytes = heap();
    let end = at;
    while (bytes[end] !== 0) end++;
    return decode(at, end - at);
  };

  return {
    row(stmt) {
      const p = stmt.pointer as unknown as number;
      const n = x.sqlite3_column_count(p);
      const out = new Array<SqlValue>(n);
      for (let i = 0; i < n; i++) {
        switch (x.sqlite3_column_type(p, i)) {
          case SQLITE_INTEGER: {
            // A double holds every integer up to 2^53 exactly, and rounding never brings a larger
            // one below it, so only big integers pay for a bigint.
            const d = x.sqlite3_column_double(p, i);
            if (d >= -MAX_SAFE && d <= MAX_SAFE) out[i] = d;
            else {
              const big = x.sqlite3_column_int64(p, i);
              out[i] = big >= -MAX_SAFE && big <= MAX_SAFE ? Number(big) : big;
            }
            break;
          }
          case SQLITE_FLOAT:
            out[i] = x.sqlite3_column_double(p, i);
            break;
          case SQLITE_TEXT: {
            // Text first, then its length (SQLite's documented order).
            const at = x.sqlite3_column_text(p, i);
            out[i] = decode(at, x.sqlite3_column_bytes(p, i));
            break;
          }
          case SQLITE_BLOB: {
            const at = x.sqlite3_column_blob(p, i);
            const size = x.sqlite3_column_bytes(p, i);
            out[i] = size === 0 ? new Uint8Array(0) : heap().slice(at, at + size);
            break;
          }
          default:
            out[i] = null;
        }
      }
      return out;
    },
    columnNames(stmt) {
      const p = stmt.pointer as unknown as number;
      const n = x.sqlite3_column_count(p);
      const names = new Array<string>(n);
      for (let i = 0; i < n; i++) names[i] = cstring(x.sqlite3_column_name(p, i));
      return names;
    },
  };
}
