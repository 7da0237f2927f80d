/**
 * What a JavaScript value becomes in SQLite, decided in one place for the facade (which checks
 * arguments before they cross to the worker), the worker's binding, the change log's record codec
 * and the Hrana encoding of pushes, so that every side stores the same type and value.
 *
 * JavaScript has one number type, so the engine carries REALs it read from SQLite as `Real`: the
 * REAL 2.0 must stay REAL on its way to the server, while the JavaScript number 2 is an INTEGER.
 */
import { WalsyncError } from './errors.js';
import type { SqlValue } from './worker-api.js';

/** A REAL as SQLite stored it, inside the engine (never handed to the app). */
export class Real {
  constructor(readonly value: number) {}
}

/** A value inside the engine: a SqlValue, or a REAL read from SQLite, tagged so that it keeps its type. */
export type EngineValue = SqlValue | Real;

/** How a value is stored. */
export const ValueKind = {
  Null: 0,
  /** A JS number that is an integer SQLite can hold exactly (a safe integer, not -0). */
  Integer: 1,
  /** A bigint within SQLite's 64-bit integer range. */
  BigInteger: 2,
  /** A double: any other number (fractions, -0, beyond ±(2^53−1), ±Infinity), or a `Real`. */
  Float: 3,
  Text: 4,
  /** Uint8Array, other typed arrays and DataView (their bytes), ArrayBuffer. */
  Blob: 5,
  /** true / false, stored as 1 / 0. */
  Boolean: 6,
  /** A bigint outside −2^63 … 2^63−1. */
  OutOfRange: 7,
  /** Anything else (undefined, functions, symbols, plain objects...): not bindable. */
  Unsupported: 8,
} as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Classifies a value for binding. Numbers that are not safe integers are doubles: a JS number is
 * a double, so storing 1e300 or 2^63 as an integer would truncate or wrap it.
 */
export function valueKind(v: unknown): ValueKind {
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? ValueKind.Integer : ValueKind.Float;
    case 'string':
      return ValueKind.Text;
    case 'bigint':
      return v >= INT64_MIN && v <= INT64_MAX ? ValueKind.BigInteger : ValueKind.OutOfRange;
    case 'boolean':
      return ValueKind.Boolean;
    case 'object':
      if (v === null) return ValueKind.Null;
      if (v instanceof Uint8Array || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return ValueKind.Blob;
      if (v instanceof Real) return ValueKind.Float;
      return ValueKind.Unsupported;
    default:
      return ValueKind.Unsupported;
  }
}

/** Why `v` (of kind OutOfRange or Unsupported) cannot be bound, for an INVALID_ARGUMENT message. */
export function unbindableReason(v: unknown): string {
  if (typeof v === 'bigint') return `the bigint ${v} is outside SQLite's 64-bit integer range (−2^63 … 2^63−1)`;
  const kind =
    v === undefined ? 'undefined' : typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
  return `cannot bind a value of type ${kind} (use null, number, bigint, string, boolean or Uint8Array)`;
}

/** INVALID_ARGUMENT for a value that cannot be bound, naming the parameter (its position or name). */
export function unbindableError(v: unknown, parameter: number | string, sql?: string): WalsyncError {
  return new WalsyncError('INVALID_ARGUMENT', `parameter ${parameter}: ${unbindableReason(v)}`, {
    context: sql === undefined ? { parameter } : { sql, parameter },
  });
}

/** The bytes of a Blob-kind value. */
export function blobBytes(v: ArrayBufferView | ArrayBuffer): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The app's view of an engine value: a REAL is a plain number. */
export function toSqlValue(v: EngineValue): SqlValue {
  return v instanceof Real ? v.value : v;
}

/** The double a Float-kind value holds. */
export function floatOf(v: number | Real): number {
  return typeof v === 'number' ? v : v.value;
}

/** One decoder for all text walsync reads: UTF-8 that keeps a leading U+FEFF (the default strips it). */
export const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

const MIN_SAFE_BIG = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** A 64-bit integer as the app gets it: a number when it is safe (exact), else the bigint. */
export function narrowInteger(big: bigint): number | bigint {
  return big >= MIN_SAFE_BIG && big <= MAX_SAFE_BIG ? Number(big) : big;
}
