/**
 * SQL functions the capture triggers call, registered on every connection that captures changes:
 * - `walsync_record(v1, v2, …)`: the row image as an SQLite record blob. It reads the raw
 *   `sqlite3_value`s itself, because sqlite-wasm's argument conversion turns REAL 2.0 into the
 *   JavaScript number 2 (the type would be lost) and drops a leading U+FEFF from text.
 * - `walsync_txn()`: the id of the transaction the change belongs to (pushes split only between
 *   transactions); the capture decides when a new one starts.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { type EngineValue, Real, narrowInteger, utf8Decoder } from '../../contract/sql-value.js';
import { encodeRecord } from './record.js';

const SQLITE_UTF8 = 1;
const SQLITE_DETERMINISTIC = 0x800;
const SQLITE_INNOCUOUS = 0x200000;

interface RawWasm {
  installFunction(signature: string, fn: (...args: number[]) => void): number;
  allocCString(text: string): number;
  peekPtr(address: number): number;
  heap8u(): Uint8Array;
  ptr: { size: number; add(a: number, b: number): number };
  exports: Record<string, (...args: number[]) => number>;
}

interface RawCapi {
  sqlite3_value_type(value: number): number;
  sqlite3_value_int64(value: number): bigint | number;
  sqlite3_value_double(value: number): number;
  sqlite3_value_blob(value: number): number;
  sqlite3_value_bytes(value: number): number;
  sqlite3_result_js(context: number, value: unknown): void;
  sqlite3_result_error_js(context: number, error: unknown): void;
}


/** One installed JS function per runtime; each connection registers it under its SQL name. */
const recordFunctions = new WeakMap<Sqlite3Static, { fn: number; name: number }>();

function recordFunction(sqlite3: Sqlite3Static): { fn: number; name: number } {
  const known = recordFunctions.get(sqlite3);
  if (known) return known;
  const wasm = sqlite3.wasm as unknown as RawWasm;
  const capi = sqlite3.capi as unknown as RawCapi;
  const fn = wasm.installFunction('v(pip)', (context: number, argc: number, argv: number) => {
    try {
      const values: EngineValue[] = new Array(argc);
      for (let i = 0; i < argc; i++) {
        const value = wasm.peekPtr(wasm.ptr.add(argv, wasm.ptr.size * i));
        switch (capi.sqlite3_value_type(value)) {
          case 1: {
            values[i] = narrowInteger(BigInt(capi.sqlite3_value_int64(value)));
            break;
          }
          case 2:
            values[i] = new Real(capi.sqlite3_value_double(value));
            break;
          case 3: {
            // Text first, then its length (SQLite's documented order); decoded keeping a U+FEFF.
            const at = wasm.exports.sqlite3_value_text!(value);
            const size = capi.sqlite3_value_bytes(value);
            values[i] = size === 0 ? '' : utf8Decoder.decode(wasm.heap8u().subarray(at, at + size));
            break;
          }
          case 4: {
            const size = capi.sqlite3_value_bytes(value);
            const at = capi.sqlite3_value_blob(value);
            values[i] = size === 0 ? new Uint8Array(0) : wasm.heap8u().slice(at, at + size);
            break;
          }
          default:
            values[i] = null;
        }
      }
      capi.sqlite3_result_js(context, encodeRecord(values));
    } catch (e) {
      capi.sqlite3_result_error_js(context, e);
    }
  });
  const entry = { fn, name: wasm.allocCString('walsync_record') };
  recordFunctions.set(sqlite3, entry);
  return entry;
}

/** Registers both functions on `db`; `txnId` answers `walsync_txn()`. */
export function registerCaptureFunctions(sqlite3: Sqlite3Static, db: Database, txnId: () => number): void {
  const { fn, name } = recordFunction(sqlite3);
  const wasm = sqlite3.wasm as unknown as RawWasm;
  const rc = wasm.exports.sqlite3_create_function_v2!(
    db.pointer as unknown as number,
    name,
    -1,
    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
    0,
    fn,
    0,
    0,
    0,
  );
  if (rc !== 0) throw new Error(`could not register walsync_record (SQLite result ${rc})`);
  db.createFunction('walsync_txn', () => txnId(), { arity: 0, innocuous: true });
}
