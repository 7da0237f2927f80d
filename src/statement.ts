/** Prepared statements on the main thread (`Statement`), and the checks a call's arguments pass before they cross to the worker. */
import type { Remote } from 'comlink';
import { WalsyncError } from '../contract/errors.js';
import type { BindArgs, ColumnInfo, QueryResult, RunResult, SqlValue, WorkerApi } from '../contract/worker-api.js';
import { ValueKind, unbindableError, valueKind } from '../contract/sql-value.js';
import { StatementOp } from '../contract/statement-calls.js';
import { type Row, toRow, toRows } from './rows.js';

/** @internal Runs one worker call, under whatever exclusion the caller needs. */
export interface Executor {
  call<T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T>;
  /**
   * A statement call by op code (contract/statement-calls.ts), straight to the link's statement
   * transport: the hot path of run/get/all, with no closure or Comlink method lookup per call.
   */
  statement(op: StatementOp, a?: unknown, b?: unknown): Promise<unknown>;
}

/** A value walsync binds: what SQLite stores, plus booleans (bound as 1/0) and binary views (bound as blobs). */
export type BindValue = SqlValue | boolean | ArrayBuffer | ArrayBufferView;

/** Named arguments: `{ id: 1 }` for `:id`, `@id` or `$id`. */
export type NamedBindArgs = Readonly<Record<string, BindValue>>;

/**
 * The arguments a statement call takes: positional values (`run(1, 'a')`), one array of them
 * (`run([1, 'a'])`), or one object of named values (`run({ id: 1 })`). Anything else (a `Date`, an
 * object with methods) does not compile: convert it first (`date.toISOString()`, `date.getTime()`).
 */
export type BindParameters = readonly BindValue[] | [readonly BindValue[]] | [NamedBindArgs];

/**
 * A prepared statement. Preparation happens in the worker on first use and is cached there, so
 * running the same statement many times parses it once.
 *
 * Rows come as objects keyed by column name (a name that appears twice keeps its last value, and
 * numeric-looking names come first, as JavaScript orders object keys: sync-wasm does the same);
 * `raw()` gives them as arrays in SELECT order, `pluck()` gives the first column's value.
 * The row type is a type parameter: `stmt.all<{ id: number; name: string }>()`.
 */
export class Statement {
  /** The SQL text, as given to prepare(). */
  readonly sql: string;
  readonly #executor: Executor;
  #mode: 'object' | 'raw' | 'pluck' = 'object';
  #bound: BindArgs | null = null;
  #closed = false;

  /** @internal */
  constructor(executor: Executor, sql: string) {
    this.#executor = executor;
    this.sql = sql;
  }

  /** The SQL text (better-sqlite3's and sync-wasm's name for `sql`). */
  get source(): string {
    return this.sql;
  }

  /** Rows as arrays of values in SELECT order (`raw(false)` turns it off). Turns pluck() off. */
  raw(toggle = true): this {
    this.#mode = toggle ? 'raw' : this.#mode === 'raw' ? 'object' : this.#mode;
    return this;
  }

  /** Rows as their first column's value alone (`pluck(false)` turns it off). Turns raw() off. */
  pluck(toggle = true): this {
    this.#mode = toggle ? 'pluck' : this.#mode === 'pluck' ? 'object' : this.#mode;
    return this;
  }

  /**
   * Binds arguments to the statement for good: later calls take none (passing some is an
   * `INVALID_ARGUMENT` error, as is binding twice).
   */
  bind(...args: BindParameters): this {
    this.#assertOpen();
    if (this.#bound) throw new WalsyncError('INVALID_ARGUMENT', 'bind(): the statement already has bound arguments', { context: { sql: this.sql } });
    this.#bound = normalizeArgs(args as readonly unknown[]);
    return this;
  }

  /**
   * Describes the result columns without running the statement: name, source column, table,
   * schema and declared type (null for expressions). A promise, unlike sync-wasm's (the statement
   * lives in the worker).
   */
  columns(): Promise<ColumnInfo[]> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#executor.statement(StatementOp.Columns, this.sql) as Promise<ColumnInfo[]>;
  }

  /** Runs the statement and returns every row (objects, or arrays after raw(), or values after pluck()). */
  async all<T = Row>(...args: BindParameters): Promise<T[]> {
    const bound = this.#args(args);
    const result = (await this.#executor.statement(StatementOp.All, this.sql, bound)) as QueryResult;
    return this.#shape(result.columns, result.rows) as T[];
  }

  /** Runs the statement and returns its first row, or undefined if it returned none. */
  async get<T = Row>(...args: BindParameters): Promise<T | undefined> {
    const bound = this.#args(args);
    const result = (await this.#executor.statement(StatementOp.Get, this.sql, bound)) as { columns: string[]; row: SqlValue[] | undefined };
    if (!result.row) return undefined;
    return (this.#mode === 'object' ? toRow(result.columns, result.row) : this.#mode === 'raw' ? result.row : result.row[0]) as T;
  }

  /**
   * Runs the statement and yields its rows. The rows are read in one call to the worker before the
   * first is yielded, so the loop body may query the database (in sync-wasm it would wait forever).
   */
  async *iterate<T = Row>(...args: BindParameters): AsyncGenerator<T, void, unknown> {
    for (const row of await this.all<T>(...args)) yield row;
  }

  /** Runs the statement for its effect: `{ changes, lastInsertRowid }`. */
  run(...args: BindParameters): Promise<RunResult> {
    let bound: BindArgs;
    try {
      bound = this.#args(args);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#executor.statement(StatementOp.Run, this.sql, bound) as Promise<RunResult>;
  }

  /** Ends this statement: later calls on it reject with `INVALID_ARGUMENT`. */
  close(): void {
    this.#closed = true;
  }

  #args(args: readonly unknown[]): BindArgs {
    this.#assertOpen();
    if (this.#bound === null) return normalizeArgs(args);
    if (args.length > 0) {
      throw new WalsyncError('INVALID_ARGUMENT', 'the statement has bound arguments (bind()); call it without arguments', { context: { sql: this.sql } });
    }
    return this.#bound;
  }

  #shape(columns: readonly string[], rows: SqlValue[][]): unknown[] {
    switch (this.#mode) {
      case 'raw':
        return rows;
      case 'pluck':
        return rows.map((r) => r[0]);
      case 'object':
        return toRows(columns, rows);
    }
  }

  #closedError(): WalsyncError {
    return new WalsyncError('INVALID_ARGUMENT', 'the statement is closed', { context: { sql: this.sql } });
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closedError();
  }
}

/** @internal */
export function normalizeArgs(args: readonly unknown[]): BindArgs {
  if (args.length === 1) {
    const only = args[0];
    if (Array.isArray(only)) return checkArgs(only);
    if (isNamedArgs(only)) return checkArgs(only);
  }
  return checkArgs(args);
}

/**
 * @internal Refuses values that cannot be bound before they cross to the worker: a function or a Symbol
 * would otherwise fail inside postMessage with a bare DataCloneError that names no parameter.
 * Positional values are all bound, so each is checked here; an object of named values may carry
 * keys the statement does not use, so only what cannot cross is refused here, and the worker
 * checks the values it binds. A typeof or two per value: this runs on every statement.
 */
export function checkArgs<T extends BindArgs>(args: T, batchIndex?: number): T {
  if (Array.isArray(args)) {
    for (let i = 0; i < args.length; i++) {
      if (valueKind(args[i]) >= ValueKind.OutOfRange) throw atBatchIndex(unbindableError(args[i], i + 1), batchIndex);
    }
  } else {
    const named = args as Readonly<Record<string, unknown>>;
    for (const key in named) {
      const type = typeof named[key];
      if (type === 'function' || type === 'symbol') throw atBatchIndex(unbindableError(named[key], key), batchIndex);
    }
  }
  return args;
}

function atBatchIndex(e: WalsyncError, batchIndex: number | undefined): WalsyncError {
  return batchIndex === undefined ? e : new WalsyncError(e.code, `batch(): statement ${batchIndex}, ${e.message}`, { context: { ...e.context, batchIndex } });
}

function isNamedArgs(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
