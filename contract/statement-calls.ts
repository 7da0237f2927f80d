/**
 * The wire of statement calls (run/get/all/exec/columns/batch/isAutocommit/watchQuery): the calls a
 * page makes per statement, too frequent for Comlink's per-call proxying. Two transports share it:
 *
 * - over a MessagePort-like endpoint (the page's own worker, or a port to another tab's worker):
 *   one postMessage each way, a request `[id, op, ...args]` and an answer `[id, status, value]`.
 *   Arrays never collide with the endpoint's other traffic: Comlink's messages and walsync's own
 *   notices (`{ type: 'walsync:…' }`) are plain objects.
 * - through a SharedArrayBuffer between a page and its own dedicated worker when the page is
 *   cross-origin isolated (see SharedCallLayout): requests and answers binary-encoded by
 *   `BinaryWriter`/`BinaryReader` below.
 */
import type { BatchMode, BatchRequest, BindArgs, WorkerApi } from './worker-api.js';
import { Real } from './sql-value.js';

/** What either side of a statement-call channel needs of its endpoint: a Worker, its global scope, or a MessagePort. */
export interface CallEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** The statement calls, by op code. */
export const StatementOp = {
  Exec: 0,
  All: 1,
  Get: 2,
  Run: 3,
  Columns: 4,
  Batch: 5,
  IsAutocommit: 6,
  WatchQuery: 7,
} as const;
export type StatementOp = (typeof StatementOp)[keyof typeof StatementOp];

/** The WorkerApi methods that travel as statement calls, and their op codes. */
export const STATEMENT_METHODS = {
  exec: StatementOp.Exec,
  all: StatementOp.All,
  get: StatementOp.Get,
  run: StatementOp.Run,
  columns: StatementOp.Columns,
  batch: StatementOp.Batch,
  isAutocommit: StatementOp.IsAutocommit,
  watchQuery: StatementOp.WatchQuery,
} as const satisfies Partial<Record<keyof WorkerApi, StatementOp>>;
export type StatementMethod = keyof typeof STATEMENT_METHODS;

/** The part of WorkerApi a statement-call server dispatches into. */
export type StatementApi = Pick<WorkerApi, StatementMethod>;

/** Request ids at or below zero are control messages of the transports, never calls. */
export const CONTROL = {
  /** `[KICK]`: a request waits in the shared buffer; the worker serves it (it was in its event loop). */
  Kick: -1,
  /** `[SHARED_SETUP, buffer]`: serve statement calls through this SharedArrayBuffer too. */
  SharedSetup: -2,
} as const;

/** Answer status. */
export const Status = { Ok: 0, Error: 1 } as const;

/** Runs statement call `op` on `api` with the arguments as they travelled. */
export function dispatchStatementCall(api: StatementApi, op: number, a: unknown, b: unknown): Promise<unknown> {
  switch (op) {
    case StatementOp.Exec:
      return api.exec(a as string);
    case StatementOp.All:
      return api.all(a as string, b as BindArgs);
    case StatementOp.Get:
      return api.get(a as string, b as BindArgs);
    case StatementOp.Run:
      return api.run(a as string, b as BindArgs);
    case StatementOp.Columns:
      return api.columns(a as string);
    case StatementOp.Batch:
      return api.batch(a as BatchRequest, b as BatchMode | null);
    case StatementOp.IsAutocommit:
      return api.isAutocommit();
    case StatementOp.WatchQuery:
      return api.watchQuery(a as string, b as BindArgs);
    default:
      return Promise.reject(new Error(`unknown statement call ${op}`));
  }
}

// ── the shared buffer ─────────────────────────────────────────────────────────────────────────────

/**
 * The SharedArrayBuffer's layout: a few Int32 control words, then the data area holding one request
 * or one answer at a time (the page writes a request only once it has read the previous answer).
 */
export const SharedCallLayout = {
  /** Who owns the data area: Idle/Answer → the page, Request → the worker. */
  State: 0,
  /** The page sets it to ask the worker to go back to its event loop (a message waits there). */
  Yield: 1,
  /** 1 while the worker is in its serving loop (it sees requests without a postMessage). */
  Listening: 2,
  /** Bytes of the request or answer in the data area; -1: the answer comes by postMessage (spilled). */
  Length: 3,
  /** The id of the request in the data area (a spilled answer carries it). */
  Id: 4,
  /** How long the worker took to serve the last request, in µs (the page sizes its spin by it). */
  ServiceMicros: 5,
  CONTROL_BYTES: 32,
  /** 256 KB: a page of rows fits; larger answers spill over postMessage. */
  DEFAULT_BYTES: 256 * 1024,
} as const;

export const SharedState = { Idle: 0, Request: 1, Answer: 2 } as const;

/** Thrown by the writer when a value has no binary form or does not fit: the call goes by postMessage instead. */
export class CannotEncode extends Error {}
const cannotEncode = new CannotEncode('cannot encode');

/** Value tags. */
const T = { Null: 0, Float: 1, Int32: 2, BigInt: 3, Text: 4, Blob: 5, True: 6, False: 7, Real: 8, Undefined: 9 } as const;

const textEncoder = new TextEncoder();
/** Keeps a leading U+FEFF, like every decoder of SQLite text in walsync. */
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Writes values into the shared data area; throws CannotEncode when something does not fit. */
export class BinaryWriter {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #end: number;
  pos: number;

  constructor(buffer: SharedArrayBuffer | ArrayBuffer, start: number) {
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#end = buffer.byteLength;
    this.pos = start;
  }

  #room(n: number): void {
    if (this.pos + n > this.#end) throw cannotEncode;
  }

  u8(v: number): void {
    this.#room(1);
    this.#bytes[this.pos++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  string(s: string): void {
    const n = s.length;
    if (n > 1024) {
      // Long text: the native encoder, then a copy (encodeInto refuses views of shared memory).
      const encoded = textEncoder.encode(s);
      this.bytes(encoded);
      return;
    }
    // Worst case 3 bytes per UTF-16 unit. Encoded by hand: cheaper than a native call for short text.
    this.#room(4 + n * 3);
    const bytes = this.#bytes;
    const lengthAt = this.pos;
    let p = lengthAt + 4;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        bytes[p++] = c;
      } else if (c < 0x800) {
        bytes[p++] = 0xc0 | (c >> 6);
        bytes[p++] = 0x80 | (c & 63);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            // A surrogate pair: one 4-byte sequence (its 4 bytes fit in the 6 reserved for the pair).
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            i++;
            bytes[p++] = 0xf0 | (c >> 18);
            bytes[p++] = 0x80 | ((c >> 12) & 63);
            bytes[p++] = 0x80 | ((c >> 6) & 63);
            bytes[p++] = 0x80 | (c & 63);
            continue;
          }
          c = 0xfffd; // a lone surrogate becomes U+FFFD, as TextEncoder (and SQLite's binding) make it
        }
        bytes[p++] = 0xe0 | (c >> 12);
        bytes[p++] = 0x80 | ((c >> 6) & 63);
        bytes[p++] = 0x80 | (c & 63);
      }
    }
    this.#view.setUint32(lengthAt, p - lengthAt - 4, true);
    this.pos = p;
  }

  bytes(b: Uint8Array): void {
    this.#room(4 + b.byteLength);
    this.#view.setUint32(this.pos, b.byteLength, true);
    this.#bytes.set(b, this.pos + 4);
    this.pos += 4 + b.byteLength;
  }

  /** A SqlValue, a bind value (booleans, binary views) or an engine Real. */
  value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.#room(5);
          this.#bytes[this.pos] = T.Int32;
          this.#view.setInt32(this.pos + 1, v, true);
          this.pos += 5;
        } else {
          this.u8(T.Float);
          this.f64(v);
        }
        return;
      case 'string':
        this.u8(T.Text);
        this.string(v);
        return;
      case 'bigint':
        // Out of range: the worker's binding reports it, with its own message.
        if (v < INT64_MIN || v > INT64_MAX) throw cannotEncode;
        this.#room(9);
        this.#bytes[this.pos] = T.BigInt;
        this.#view.setBigInt64(this.pos + 1, v, true);
        this.pos += 9;
        return;
      case 'boolean':
        this.u8(v ? T.True : T.False);
        return;
      case 'undefined':
        this.u8(T.Undefined);
        return;
      case 'object':
        if (v === null) return this.u8(T.Null);
        if (v instanceof Uint8Array) {
          this.u8(T.Blob);
          return this.bytes(v);
        }
        if (v instanceof Real) {
          this.u8(T.Real);
          return this.f64(v.value);
        }
        // Other binary views and plain objects keep their exact type by structured clone.
        throw cannotEncode;
      default:
        throw cannotEncode;
    }
  }

  /** Bind arguments: positional (0, count, values) or named (1, count, name/value pairs). */
  args(args: BindArgs): void {
    if (Array.isArray(args)) {
      this.u8(0);
      this.u32(args.length);
      for (let i = 0; i < args.length; i++) this.value(args[i]);
    } else {
      const named = args as Readonly<Record<string, unknown>>;
      this.u8(1);
      const countAt = this.pos;
      this.u32(0);
      let count = 0;
      for (const key in named) {
        this.string(key);
        this.value(named[key]);
        count++;
      }
      new DataView(this.#bytes.buffer).setUint32(countAt, count, true);
    }
  }

  strings(list: readonly string[]): void {
    this.u32(list.length);
    for (const s of list) this.string(s);
  }

  row(values: readonly unknown[]): void {
    this.u32(values.length);
    for (let i = 0; i < values.length; i++) this.value(values[i]);
  }
}

/** Reads what BinaryWriter wrote. */
export class BinaryReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  pos: number;

  constructor(buffer: SharedArrayBuffer | ArrayBuffer, start: number) {
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.pos = start;
  }

  u8(): number {
    return this.#bytes[this.pos++]!;
  }

  u32(): number {
    const v = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    const v = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  string(): string {
    const n = this.u32();
    const start = this.pos;
    this.pos += n;
    const bytes = this.#bytes;
    if (n <= 64) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) return textDecoder.decode(bytes.slice(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    // TextDecoder refuses views of shared memory: decode a copy.
    return textDecoder.decode(bytes.slice(start, start + n));
  }

  value(): unknown {
    const tag = this.u8();
    switch (tag) {
      case T.Null:
        return null;
      case T.Int32: {
        const v = this.#view.getInt32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case T.Float:
        return this.f64();
      case T.BigInt: {
        const v = this.#view.getBigInt64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case T.Text:
        return this.string();
      case T.Blob: {
        const n = this.u32();
        const b = this.#bytes.slice(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case T.True:
        return true;
      case T.False:
        return false;
      case T.Real:
        return new Real(this.f64());
      case T.Undefined:
        return undefined;
      default:
        throw new Error(`corrupt shared call: value tag ${tag}`);
    }
  }

  args(): BindArgs {
    const kind = this.u8();
    const count = this.u32();
    if (kind === 0) {
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = this.value();
      return out;
    }
    const named: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const key = this.string();
      named[key] = this.value();
    }
    return named;
  }

  strings(): string[] {
    const n = this.u32();
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.string();
    return out;
  }

  row(): unknown[] {
    const n = this.u32();
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value();
    return out;
  }
}

/**
 * Request in the data area: op, then per op: sql (exec, columns), sql + args (all, get, run,
 * watchQuery), nothing (isAutocommit). Batches always go by postMessage.
 */
export function writeRequest(w: BinaryWriter, op: number, a: unknown, b: unknown): void {
  w.u8(op);
  switch (op) {
    case StatementOp.Exec:
    case StatementOp.Columns:
      w.string(a as string);
      return;
    case StatementOp.All:
    case StatementOp.Get:
    case StatementOp.Run:
    case StatementOp.WatchQuery:
      w.string(a as string);
      w.args(b as BindArgs);
      return;
    case StatementOp.IsAutocommit:
      return;
    default:
      throw cannotEncode;
  }
}

export function readRequest(r: BinaryReader): { op: number; a: unknown; b: unknown } {
  const op = r.u8();
  switch (op) {
    case StatementOp.Exec:
    case StatementOp.Columns:
      return { op, a: r.string(), b: undefined };
    case StatementOp.IsAutocommit:
      return { op, a: undefined, b: undefined };
    default: {
      const a = r.string();
      return { op, a, b: r.args() };
    }
  }
}

/**
 * Answer in the data area: status, then for errors and the rare calls (columns) JSON, else per op:
 * exec → nothing; run → changes, lastInsertRowid; get → columns, has-row, row; all → columns,
 * rows; watchQuery → as all, then tables; isAutocommit → 0/1.
 */
export function writeAnswer(w: BinaryWriter, op: number, status: number, value: unknown): void {
  w.u8(status);
  if (status !== Status.Ok) {
    w.string(JSON.stringify(value));
    return;
  }
  switch (op) {
    case StatementOp.Exec:
      return;
    case StatementOp.Run: {
      const r = value as { changes: number; lastInsertRowid: number | bigint };
      w.f64(r.changes);
      w.value(r.lastInsertRowid);
      return;
    }
    case StatementOp.Get: {
      const r = value as { columns: string[]; row: unknown[] | undefined };
      w.strings(r.columns);
      w.u8(r.row ? 1 : 0);
      if (r.row) w.row(r.row);
      return;
    }
    case StatementOp.All:
    case StatementOp.WatchQuery: {
      const r = value as { columns: string[]; rows: unknown[][]; tables?: string[] };
      w.strings(r.columns);
      w.u32(r.rows.length);
      for (const row of r.rows) w.row(row);
      if (op === StatementOp.WatchQuery) w.strings(r.tables!);
      return;
    }
    case StatementOp.IsAutocommit:
      w.u8(value ? 1 : 0);
      return;
    default:
      w.string(JSON.stringify(value));
  }
}

export function readAnswer(r: BinaryReader, op: number): { status: number; value: unknown } {
  const status = r.u8();
  if (status !== Status.Ok) return { status, value: JSON.parse(r.string()) };
  switch (op) {
    case StatementOp.Exec:
      return { status, value: undefined };
    case StatementOp.Run: {
      const changes = r.f64();
      return { status, value: { changes, lastInsertRowid: r.value() } };
    }
    case StatementOp.Get: {
      const columns = r.strings();
      const row = r.u8() === 1 ? r.row() : undefined;
      return { status, value: { columns, row } };
    }
    case StatementOp.All:
    case StatementOp.WatchQuery: {
      const columns = r.strings();
      const n = r.u32();
      const rows = new Array<unknown[]>(n);
      for (let i = 0; i < n; i++) rows[i] = r.row();
      return { status, value: op === StatementOp.WatchQuery ? { columns, rows, tables: r.strings() } : { columns, rows } };
    }
    case StatementOp.IsAutocommit:
      return { status, value: r.u8() === 1 };
    default:
      return { status, value: JSON.parse(r.string()) };
  }
}
