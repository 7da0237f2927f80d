/** The main-thread API: Database, Statement and Transaction, each a thin proxy to the worker. */
import { type Remote, transfer } from 'comlink';
import { WalsyncError, isWalsyncError } from '../contract/errors.js';
import type { BatchRequest, BatchResults, BindArgs, ColumnInfo, PendingChange, RunResult, SqlValue, SyncStats, WorkerApi } from '../contract/worker-api.js';
import { ValueKind, unbindableError, valueKind } from '../contract/sql-value.js';
import { type Row, toRows } from './rows.js';
import { type WorkerChannel, releaseChannel } from './worker-channel.js';
import { LiveQuery, type WatchOptions, liveIterator } from './live-query.js';
import { type TablesChangedListener, tableChangesOf } from './table-changes.js';
import { type SyncStatus, type SyncStatusListener, disposeSyncStatus, syncStatusOf } from './sync-status.js';
import { BackgroundSync, type BackgroundSyncOptions, resolveBackgroundSyncOptions } from './background-sync.js';

/** Runs one worker call, under whatever exclusion the caller needs. */
interface Executor {
  call<T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T>;
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
    return this.#executor.call((api) => api.columns(this.sql));
  }

  /** Runs the statement and returns every row (objects, or arrays after raw(), or values after pluck()). */
  async all<T = Row>(...args: BindParameters): Promise<T[]> {
    const bound = this.#args(args);
    const result = await this.#executor.call((api) => api.all(this.sql, bound));
    return this.#shape(result.columns, result.rows) as T[];
  }

  /** Runs the statement and returns its first row, or undefined if it returned none. */
  async get<T = Row>(...args: BindParameters): Promise<T | undefined> {
    const bound = this.#args(args);
    const result = await this.#executor.call((api) => api.get(this.sql, bound));
    return result.row ? (this.#shape(result.columns, [result.row])[0] as T) : undefined;
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
    return this.#executor.call((api) => api.run(this.sql, bound));
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

/** A statement for batch(): SQL text alone, or SQL with arguments (an array, or an object of named values). */
export type BatchInput = string | { sql: string; args?: readonly unknown[] | Readonly<Record<string, unknown>> };

/** What one statement of a batch returned. */
export interface BatchResultSet {
  readonly rows: Row[];
  readonly columns: string[];
  /** Rows changed by the statement. */
  readonly rowsAffected: number;
  readonly lastInsertRowid: number | bigint;
}

/** Packs batch() input for the worker (see BatchRequest): SQL texts once, arguments flattened. */
function toBatchRequest(statements: readonly BatchInput[]): BatchRequest {
  if (!Array.isArray(statements)) throw new WalsyncError('INVALID_ARGUMENT', 'batch() takes an array of statements');
  const sqls: string[] = [];
  const indexOf = new Map<string, number>();
  const sqlIndex = new Int32Array(statements.length);
  const argCount = new Int32Array(statements.length);
  const values: unknown[] = [];
  const named: Record<string, unknown>[] = [];
  statements.forEach((s, i) => {
    const sql = typeof s === 'string' ? s : typeof s === 'object' && s !== null && typeof s.sql === 'string' ? s.sql : null;
    if (sql === null) throw new WalsyncError('INVALID_ARGUMENT', `batch(): statement ${i} must be a string or { sql, args }`);
    let index = indexOf.get(sql);
    if (index === undefined) {
      index = sqls.push(sql) - 1;
      indexOf.set(sql, index);
    }
    sqlIndex[i] = index;
    const args = typeof s === 'string' ? [] : (s.args ?? []);
    if (Array.isArray(args)) {
      argCount[i] = args.length;
      checkArgs(args, i);
      for (const v of args) values.push(v);
    } else if (typeof args === 'object' && args !== null) {
      argCount[i] = -1;
      checkArgs(args, i);
      named.push(args as Record<string, unknown>);
    } else {
      throw new WalsyncError('INVALID_ARGUMENT', `batch(): the args of statement ${i} must be an array or an object of named values`);
    }
  });
  return transfer({ sqls, sqlIndex, argCount, values, named }, [sqlIndex.buffer, argCount.buffer]);
}

function toBatchResultSets(results: BatchResults): BatchResultSet[] {
  const out = new Array<BatchResultSet>(results.changes.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = { rows: [], columns: [], rowsAffected: results.changes[i]!, lastInsertRowid: results.lastInsertRowid[i]! };
  }
  for (const set of results.rowSets) {
    out[set.index] = { ...out[set.index]!, rows: toRows(set.columns, set.rows), columns: set.columns };
  }
  return out;
}

/**
 * The handle a transaction function gets as its last argument: its statements run inside the
 * transaction, like calls on the Database itself while the transaction is open. It stops working
 * when the transaction ends.
 */
export class Transaction {
  readonly #executor: Executor;

  /** @internal */
  constructor(executor: Executor) {
    this.#executor = executor;
  }

  /** Runs one or more SQL statements inside the transaction. */
  exec(sql: string): Promise<void> {
    return this.#executor.call((api) => api.exec(sql));
  }

  /** A statement that runs inside the transaction. */
  prepare(sql: string): Statement {
    return new Statement(this.#executor, sql);
  }

  /** Runs statements in order, in one round trip to the worker, inside this transaction. */
  async batch(statements: readonly BatchInput[]): Promise<BatchResultSet[]> {
    const input = toBatchRequest(statements);
    return toBatchResultSets(await this.#executor.call((api) => api.batch(input, null)));
  }
}

export type TransactionMode = 'deferred' | 'immediate' | 'exclusive';

/**
 * What `transaction(fn)` returns: call it to run `fn` in a transaction of the mode given to
 * transaction() (deferred by default), or call `.deferred`, `.immediate` or `.exclusive` for that
 * mode (sync-wasm's and better-sqlite3's form).
 */
export interface TransactionFunction<A extends unknown[], T> {
  (...args: A): Promise<T>;
  readonly default: TransactionFunction<A, T>;
  readonly deferred: TransactionFunction<A, T>;
  readonly immediate: TransactionFunction<A, T>;
  readonly exclusive: TransactionFunction<A, T>;
  /** The database the transaction runs on. */
  readonly database: Database;
}

/** Each Database's worker channel, out of its public shape. */
const channels = new WeakMap<Database, WorkerChannel>();

/** @internal The worker channel behind `db` (tests and the worker-level tools use it). */
export function channelOf(db: Database): WorkerChannel {
  const channel = channels.get(db);
  if (!channel) throw new WalsyncError('INVALID_ARGUMENT', 'not a walsync Database');
  return channel;
}

/** One worker call of a push or pull phase. */
type PhaseCall = <R>(op: (api: Remote<WorkerApi>) => Promise<R>) => Promise<R>;

/** @internal Where a synced database finds its server url at the moment of a sync. */
export interface SyncUrlSource {
  /** The url now, or null (sync paused); `call` names the API call asking, for error messages. */
  current(call: string): string | null;
}

/** A call that would wait forever for the transaction open on its handle (or cannot run inside it). */
function insideTransaction(call: string): WalsyncError {
  return new WalsyncError(
    'INVALID_ARGUMENT',
    `${call} cannot run inside a transaction: while transaction() is open, every call on this database belongs to the transaction, and ${call} would have to wait for it to end. Call it after the transaction ends`,
    { context: { call } },
  );
}

/** COMMIT found no transaction: the transaction function ended it itself. */
function endedByFunction(cause: WalsyncError): WalsyncError {
  return new WalsyncError(
    'INVALID_ARGUMENT',
    'transaction(): the transaction was already ended by the function (it ran COMMIT, END or ROLLBACK itself), so what it wrote until then was committed or rolled back by that statement, and what it wrote afterwards was committed statement by statement. End a transaction() by returning (COMMIT) or throwing (ROLLBACK), never with SQL',
    { cause },
  );
}

/** An open database. Get one from `connect()`. */
export class Database {
  /** The path given to connect(), in its one spelling (`"./app.db"` and `"/app.db"` are `"app.db"`). */
  readonly path: string;
  /** True for `:memory:` databases. */
  readonly memory: boolean;
  /** Always false: walsync opens every database read-write (sync-wasm's property, for code that reads it). */
  readonly readonly = false;
  #closed = false;
  readonly #executor: Executor;
  readonly #syncUrl: SyncUrlSource | null;
  /**
   * The transaction open on this handle, if any: while it is set, every call on this Database (and
   * on statements prepared from it) joins the transaction instead of waiting for the lock the
   * transaction holds (which would wait forever when the call comes from the transaction's own fn).
   */
  #openTransaction: Executor | null = null;
  /** Watches and table listeners of this handle, stopped by close(). */
  readonly #live = new Set<() => void>();
  #backgroundSync: BackgroundSync | null = null;

  /** @internal */
  constructor(channel: WorkerChannel, path: string, memory: boolean, syncUrl: SyncUrlSource | null = null) {
    channels.set(this, channel);
    this.path = path;
    this.memory = memory;
    this.#syncUrl = syncUrl;
    this.#executor = {
      call: (op) => {
        if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path } }));
        if (this.#openTransaction) return this.#openTransaction.call(op);
        return channel.lock.run(() => channel.call(op));
      },
    };
  }

  /** True once close() was called or the worker stopped. */
  get closed(): boolean {
    return this.#closed || !this.#channel.alive;
  }

  /** The path given to connect() (sync-wasm's name for `path`). */
  get name(): string {
    return this.path;
  }

  /** True until close() is called or the worker stops (`!closed`). */
  get open(): boolean {
    return !this.closed;
  }

  /**
   * True while a `transaction()` function runs on this handle. A transaction begun with SQL
   * (`exec('BEGIN')`) does not count, as in sync-wasm.
   */
  get inTransaction(): boolean {
    return this.#openTransaction !== null;
  }

  get #channel(): WorkerChannel {
    return channels.get(this)!;
  }

  /**
   * Runs `PRAGMA <source>` and returns its rows; with `{ simple: true }` the first column of the
   * first row alone (better-sqlite3's option; sync-wasm ignores it).
   */
  async pragma(source: string, options: { simple?: boolean } = {}): Promise<unknown> {
    if (typeof source !== 'string') throw new WalsyncError('INVALID_ARGUMENT', 'pragma() takes a string');
    const statement = this.prepare(`PRAGMA ${source}`);
    if (options.simple) return statement.pluck().get();
    return statement.all();
  }

  /**
   * Runs one or more SQL statements separated by semicolons, without arguments or results. If a
   * statement fails, a transaction the script itself opened is rolled back (the error says so);
   * a transaction open before the call stays open.
   */
  exec(sql: string): Promise<void> {
    if (typeof sql !== 'string') return Promise.reject(new WalsyncError('INVALID_ARGUMENT', 'exec() takes an SQL string'));
    return this.#executor.call((api) => api.exec(sql));
  }

  /** Prepares one SQL statement. Errors in the SQL surface when the statement first runs. */
  prepare(sql: string): Statement {
    if (typeof sql !== 'string') throw new WalsyncError('INVALID_ARGUMENT', 'prepare() takes an SQL string');
    return new Statement(this.#executor, sql);
  }

  /**
   * Wraps `fn` in a transaction: the returned function runs BEGIN, awaits `fn(...args, tx)`, then
   * COMMIT, or ROLLBACK if `fn` throws (the error is rethrown). `fn` gets the returned function's
   * arguments, then the transaction handle `tx` (sync-wasm and better-sqlite3 style:
   * `db.transaction(async (users) => { for (const u of users) await insert.run(u.id, u.name) })`).
   *
   * While the transaction is open, every call on this Database object (and on statements prepared
   * from it) runs inside the transaction, whoever makes it: there is one connection, as in
   * sync-wasm. Calls on other handles of the same path (another `connect()`) wait until the
   * transaction ends. Calls that cannot run inside a transaction (`push`, `pull`, `sync`,
   * `checkpoint`, `close`, another `transaction()`) reject at once with `INVALID_ARGUMENT` instead
   * of waiting for it forever. `fn` must not end the transaction itself (COMMIT, END or ROLLBACK):
   * the returned function then rejects with `INVALID_ARGUMENT` saying so.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, mode?: TransactionMode): TransactionFunction<[], T>;
  /** The same, for a function of arguments (`tx` follows them): `db.transaction(async (users: User[]) => { ... })(users)`. */
  transaction<A extends unknown[], T>(fn: (...args: A) => Promise<T> | T, mode?: TransactionMode): TransactionFunction<A, T>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the overloads above carry the types
  transaction<T>(fn: (...args: any[]) => Promise<T> | T, mode: TransactionMode = 'deferred'): TransactionFunction<any[], T> {
    if (typeof fn !== 'function') throw new WalsyncError('INVALID_ARGUMENT', 'transaction() takes a function');
    if (!['deferred', 'immediate', 'exclusive'].includes(mode)) {
      throw new WalsyncError('INVALID_ARGUMENT', `transaction(): unknown mode "${String(mode)}"`);
    }
    const variants = {
      default: this.#transactionRunner(fn, mode),
      deferred: this.#transactionRunner(fn, 'deferred'),
      immediate: this.#transactionRunner(fn, 'immediate'),
      exclusive: this.#transactionRunner(fn, 'exclusive'),
    };
    // As in sync-wasm (and better-sqlite3): each variant carries all of them, and the database.
    const properties: PropertyDescriptorMap = {
      default: { value: variants.default },
      deferred: { value: variants.deferred },
      immediate: { value: variants.immediate },
      exclusive: { value: variants.exclusive },
      database: { value: this, enumerable: true },
    };
    for (const variant of Object.values(variants)) Object.defineProperties(variant, properties);
    return variants.default as TransactionFunction<any[], T>;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #transactionRunner<T>(fn: (...args: any[]) => Promise<T> | T, mode: TransactionMode): (...args: any[]) => Promise<T> {
    return (...args: any[]) => {
      if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed'));
      if (this.#openTransaction) return Promise.reject(insideTransaction('transaction()'));
      const channel = this.#channel;
      return channel.lock.run(async () => {
        let active = true;
        // Every call of the transaction goes to the worker its BEGIN went to: after a leader change
        // (another tab's worker now owns the database) they reject, as the transaction died there.
        let generation = -1;
        const executor: Executor = {
          call: (op) =>
            active
              ? channel.callIn(generation, op)
              : Promise.reject(new WalsyncError('INVALID_ARGUMENT', 'this transaction has already ended')),
        };
        // Set before BEGIN goes out, so nothing issued on this handle from now on queues behind us.
        this.#openTransaction = executor;
        try {
          generation = await channel.linkGeneration();
          await channel.callIn(generation, (api) => api.exec(`BEGIN ${mode.toUpperCase()}`));
          try {
            const result = await fn(...args, new Transaction(executor));
            await channel.callIn(generation, (api) => api.exec('COMMIT'));
            return result;
          } catch (e) {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back what is open.
            if (channel.alive && channel.generation === generation && !(await channel.callIn(generation, (api) => api.isAutocommit()))) {
              await channel.callIn(generation, (api) => api.exec('ROLLBACK'));
            } else if (isWalsyncError(e, 'SQLITE_ERROR') && /no transaction is active/.test(e.message)) {
              throw endedByFunction(e);
            }
            throw e;
          }
        } finally {
          active = false;
          this.#openTransaction = null;
        }
      });
    };
  }

  /**
   * Runs statements in order in one round trip to the worker — the fast way to write many rows.
   * With a `mode` the batch is atomic: it runs in one transaction and a failure rolls back all of it
   * (the error's `context.batchIndex` names the failing statement). Without a mode each statement
   * commits on its own, and a failure stops the batch there.
   */
  async batch(statements: readonly BatchInput[], mode?: TransactionMode): Promise<BatchResultSet[]> {
    const input = toBatchRequest(statements);
    if (mode !== undefined && !['deferred', 'immediate', 'exclusive'].includes(mode)) {
      throw new WalsyncError('INVALID_ARGUMENT', `batch(): unknown mode "${String(mode)}"`);
    }
    return toBatchResultSets(await this.#executor.call((api) => api.batch(input, mode ?? null)));
  }

  /**
   * Sends local changes to the server in one all-or-nothing transaction. If the server refuses a
   * change (e.g. a UNIQUE constraint), nothing of the push is applied and the promise rejects with
   * `PUSH_REJECTED` naming the change; the change stays queued (skip or rewrite it with `transform`).
   */
  push(): Promise<void> {
    return this.#push(false);
  }

  /** `fromLoop`: the background loop, which waits for an open transaction instead of refusing. */
  #push(fromLoop: boolean): Promise<void> {
    return this.#sync('push', fromLoop, async (url, local, network) => {
      await network((api) => api.pushBegin(url));
      while (await local((api) => api.pushPrepare())) await network((api) => api.pushSend());
      await local((api) => api.pushFinish());
    });
  }

  /**
   * Brings the server's changes. Local changes not yet on the server are replayed on top, so
   * nothing local is lost. Resolves true if the server had changes.
   */
  pull(): Promise<boolean> {
    return this.#pull(false);
  }

  #pull(fromLoop: boolean): Promise<boolean> {
    return this.#sync('pull', fromLoop, async (url, local, network) => {
      await network((api) => api.pullDownload(url));
      return local((api) => api.pullApply());
    });
  }

  /** push() then pull(); resolves true if the pull brought changes. */
  async sync(): Promise<boolean> {
    if (this.#openTransaction) throw insideTransaction('sync()');
    await this.push();
    return this.pull();
  }

  /**
   * Recovers from `SERVER_RESET` (the server was reset or replaced and no longer holds the
   * database this copy synced with). Sends every row of this database (its tables, indexes and
   * views too) to the server as upserts in all-or-nothing transactions, so nothing this device
   * holds is lost, then pulls the server's state (its own rows included) and pushes the changes
   * made meanwhile: afterwards device and server hold the same data. Where both have a row with
   * the same key, this device's values win. `tablesIgnore` rows and triggers stay local and are
   * kept. Interrupted (network, closed page), it leaves push and pull refused with SERVER_RESET
   * until resetSync() is called again. A server that still holds this client's pushes was not
   * reset: then it rejects with `INVALID_ARGUMENT` and changes nothing.
   */
  resetSync(): Promise<void> {
    return this.#sync('resetSync', false, async (url, local, network) => {
      await network((api) => api.resetSyncBegin(url));
      await local((api) => api.resetSyncPrepare());
      while (await network((api) => api.resetSyncSend())) {
        // one server transaction per chunk
      }
      await local((api) => api.resetSyncFinish());
      await network((api) => api.pullDownload(url));
      await local((api) => api.pullApply());
      await network((api) => api.pushBegin(url));
      while (await local((api) => api.pushPrepare())) await network((api) => api.pushSend());
      await local((api) => api.pushFinish());
    });
  }

  /** Sync and storage counters: pending changes, log sizes, last push/pull times, bytes sent/received. */
  stats(): Promise<SyncStats> {
    return this.#executor.call((api) => api.stats());
  }

  /**
   * The local changes waiting to be pushed, oldest first, one entry per logged change (schema
   * changes included, with their SQL): what a `PUSH_REJECTED` error's `context.changeIds` refer to.
   * Pages through a long queue with `afterChangeId` (the last id seen) and `limit` (default 1000).
   */
  pendingChanges(options: { afterChangeId?: number; limit?: number } = {}): Promise<PendingChange[]> {
    const afterChangeId = options.afterChangeId ?? 0;
    const limit = options.limit ?? 1000;
    if (!Number.isSafeInteger(afterChangeId) || !Number.isSafeInteger(limit) || limit < 1) {
      return Promise.reject(new WalsyncError('INVALID_ARGUMENT', 'pendingChanges(): afterChangeId must be an integer and limit a positive integer'));
    }
    return this.#executor.call((api) => api.pendingChanges(afterChangeId, limit));
  }

  /**
   * Removes pending changes from the push queue, so they are never pushed: the way out when the
   * server refuses a change (the `PUSH_REJECTED` error names it in `context.changeIds`) or a pull
   * cannot replay it. Takes one change id or several; discards all of them or, if one is not
   * pending, none (`INVALID_ARGUMENT`). Resolves with how many were discarded. The changes' effect
   * stays in the local database until the next `pull()`, which rebuilds the local state from the
   * server's and replays only the changes still pending: then it is undone locally too. Waits for
   * a running push or pull to end.
   */
  discardChange(changeIds: number | readonly number[]): Promise<number> {
    const ids = typeof changeIds === 'number' ? [changeIds] : Array.isArray(changeIds) ? [...(changeIds as readonly number[])] : null;
    if (ids === null || ids.some((id) => typeof id !== 'number' || !Number.isSafeInteger(id))) {
      return Promise.reject(new WalsyncError('INVALID_ARGUMENT', 'discardChange() takes a change id or an array of change ids'));
    }
    if (!this.#syncUrl) {
      return Promise.reject(new WalsyncError('SYNC_NOT_CONFIGURED', 'this database does not sync: connect() was called without a "url"', { context: { path: this.path } }));
    }
    // Not in the middle of a push: a chunk already prepared would send the change anyway.
    return this.#channel.syncLock.run(async () => {
      const discarded = await this.#executor.call((api) => api.discardChanges(ids));
      void syncStatusOf(this.#channel).refresh();
      return discarded;
    });
  }

  /**
   * Runs a push or pull: one at a time per database (`syncLock`); its local phases take the
   * database lock like any call (so they wait for an open transaction() to end), its network
   * phases do not, so queries go on while the server answers.
   */
  #sync<T>(call: 'push' | 'pull' | 'resetSync', fromLoop: boolean, run: (url: string, local: PhaseCall, network: PhaseCall) => Promise<T>): Promise<T> {
    if (this.#openTransaction && !fromLoop) return Promise.reject(insideTransaction(`${call}()`));
    if (!this.#syncUrl) {
      return Promise.reject(
        new WalsyncError('SYNC_NOT_CONFIGURED', 'this database does not sync: connect() was called without a "url"', {
          context: { path: this.path },
        }),
      );
    }
    const status = syncStatusOf(this.#channel);
    let url: string | null;
    try {
      url = this.#syncUrl.current(call);
    } catch (e) {
      status.failed(call, e);
      return Promise.reject(e);
    }
    if (url === null) {
      const paused = new WalsyncError('SYNC_PAUSED', 'sync is paused: the "url" function returned null, so there is no server to sync with yet', {
        context: { path: this.path },
      });
      status.failed(call, paused);
      return Promise.reject(paused);
    }
    const channel = this.#channel;
    const network: PhaseCall = (op) => {
      if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } }));
      return channel.call(op);
    };
    // Local phases take the lock even while a transaction is open on this handle: pushing or
    // replaying changes must never run inside the app's transaction.
    const local: PhaseCall = (op) => {
      if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } }));
      return channel.lock.run(() => channel.call(op));
    };
    return channel.syncLock.run(async () => {
      status.began(call);
      try {
        const result = await run(url!, local, network);
        status.succeeded(call);
        return result;
      } catch (e) {
        status.failed(call, e);
        throw e;
      } finally {
        void status.refresh();
      }
    });
  }

  /**
   * Where sync stands now: connection, background loop, uploading/downloading, pending changes,
   * last push and pull times, last error, revision, bootstrapped. A frozen snapshot, replaced at
   * each change (so it can feed `useSyncExternalStore` as it is).
   */
  get syncStatus(): SyncStatus {
    return syncStatusOf(this.#channel).status;
  }

  /**
   * Calls `listener` with every new status snapshot, in order (`uploading: true`, then the snapshot
   * that ends it). While someone listens, the pending change count follows every local commit.
   * Returns the unsubscribe function; `close()` unsubscribes too.
   */
  onSyncStatus(listener: SyncStatusListener): () => void {
    if (typeof listener !== 'function') throw new WalsyncError('INVALID_ARGUMENT', 'onSyncStatus() takes a function');
    if (this.#closed) throw new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } });
    const status = syncStatusOf(this.#channel);
    const unsubscribeStatus = status.subscribe(listener);
    const stopTables = this.#syncUrl ? this.onTablesChanged((_t, source) => source === 'local' && void status.refresh()) : () => undefined;
    const stop = (): void => {
      unsubscribeStatus();
      stopTables();
      this.#live.delete(stop);
    };
    this.#live.add(stop);
    return stop;
  }

  /**
   * Starts background sync: a push soon after local commits (`pushDelayMs`, batched), a pull every
   * `intervalMs`, failures retried with capped exponential backoff and jitter (`NETWORK_ERROR`,
   * `SERVER_ERROR`, `IO_ERROR`, and `AUTH_FAILED` once, since the token function is asked again).
   * Pauses while the browser is offline (resumes at its `online` event) or the `url` function
   * returns null (asked again every `intervalMs`). Any other error (`PUSH_REJECTED`,
   * `SERVER_RESET`, `PROTOCOL_ERROR`, a second `AUTH_FAILED`...) stops the loop: `syncStatus.loop`
   * is then `'stopped'` and `syncStatus.lastError` says why; call `startSync()` again once fixed.
   * Runs beside manual push/pull/sync, never at the same time as them. A running loop is restarted
   * with the new options. `stopSync()` and `close()` stop it.
   */
  startSync(options?: BackgroundSyncOptions): void {
    if (this.#closed) throw new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } });
    if (!this.#syncUrl) {
      throw new WalsyncError('SYNC_NOT_CONFIGURED', 'this database does not sync: connect() was called without a "url"', { context: { path: this.path } });
    }
    const resolved = resolveBackgroundSyncOptions(options);
    this.#backgroundSync?.stop();
    const status = syncStatusOf(this.#channel);
    const channel = this.#channel;
    const loop = new BackgroundSync(
      {
        // One loop per database per origin: a follower tab's loop waits (does nothing) until its
        // tab becomes the leader; the leader's loop syncs for every tab.
        push: () => (channel.leading ? this.#push(true) : Promise.resolve()),
        pull: () => (channel.leading ? this.#pull(true) : Promise.resolve(false)),
        status,
        onTablesChanged: (listener) => this.onTablesChanged(listener),
      },
      resolved,
    );
    this.#backgroundSync = loop;
    loop.start();
  }

  /** Stops background sync (a push or pull in flight still finishes). */
  stopSync(): void {
    this.#backgroundSync?.stop();
    this.#backgroundSync = null;
  }

  /** Folds the write-ahead log into the database file, keeping the log small. */
  async checkpoint(): Promise<void> {
    if (this.#openTransaction) throw insideTransaction('checkpoint()');
    await this.#executor.call((api) => api.checkpoint());
  }

  /**
   * Calls `listener` once per committed transaction, batch or pull that changed tables (never per
   * row; an explicit transaction at its COMMIT; a rolled-back one never), with the set of table
   * names it changed and its source (`'local'`, `'pull'`, `'sync'`). Handles of the same path hear
   * each other's changes. Returns the function that stops listening; `close()` stops it too.
   */
  onTablesChanged(listener: TablesChangedListener): () => void {
    if (typeof listener !== 'function') throw new WalsyncError('INVALID_ARGUMENT', 'onTablesChanged() takes a function');
    if (this.#closed) throw new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } });
    const { unsubscribe, ready } = tableChangesOf(this.#channel).subscribe(listener);
    ready.catch(() => undefined);
    const stop = (): void => {
      unsubscribe();
      this.#live.delete(stop);
    };
    this.#live.add(stop);
    return stop;
  }

  /**
   * A live query: runs `sql` (a read-only statement) at once, then again whenever a table it reads
   * changes (local writes, pulls), and calls `callback` with the rows whenever they differ from the
   * rows it got last (so a write that leaves the result as it was calls nothing). Runs never join an
   * open `transaction()`: they wait for it to end. A change arriving while a run is in flight runs
   * the query once more afterwards, so the last change is never missed. Returns the function that
   * stops the watch; `close()` stops it too.
   *
   * ```ts
   * const stop = db.watch('SELECT * FROM todos WHERE done = ?', [0], (rows) => render(rows));
   * ```
   */
  watch(sql: string, args: readonly unknown[] | Readonly<Record<string, unknown>> | undefined, callback: (rows: Row[]) => void, options?: WatchOptions): () => void;
  /**
   * The same as an async iterable: `for await (const rows of db.watch(sql, args)) render(rows)`.
   * Each step gives the newest result not seen yet; `break` stops the watch; a failing query throws.
   */
  watch(sql: string, args?: readonly unknown[] | Readonly<Record<string, unknown>>): AsyncIterableIterator<Row[]>;
  watch(
    sql: string,
    args?: readonly unknown[] | Readonly<Record<string, unknown>>,
    callback?: (rows: Row[]) => void,
    options: WatchOptions = {},
  ): (() => void) | AsyncIterableIterator<Row[]> {
    if (typeof sql !== 'string') throw new WalsyncError('INVALID_ARGUMENT', 'watch() takes an SQL string');
    if (callback !== undefined && typeof callback !== 'function') throw new WalsyncError('INVALID_ARGUMENT', 'watch(): the callback must be a function');
    if (this.#closed) throw new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } });
    const bind = normalizeArgs(args === undefined ? [] : [args]);
    if (callback === undefined) return liveIterator((deliver, fail, ended) => this.#startLiveQuery(sql, bind, deliver, fail, ended));
    const onError = options.onError ?? ((e: WalsyncError) => console.error('walsync watch() failed:', e));
    return this.#startLiveQuery(
      sql,
      bind,
      (rows) => {
        try {
          callback(rows);
        } catch (e) {
          // The app's callback failing must not stop the watch; report it like an uncaught error.
          setTimeout(() => {
            throw e;
          });
        }
      },
      onError,
      () => undefined,
    );
  }

  #startLiveQuery(sql: string, bind: BindArgs, deliver: (rows: Row[]) => void, fail: (e: WalsyncError) => void, ended: () => void): () => void {
    if (this.#closed) {
      ended();
      return () => undefined;
    }
    const channel = this.#channel;
    const closed = (): WalsyncError => new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } });
    const query: LiveQuery = new LiveQuery(
      {
        // The lock, never the open transaction's executor: a re-run waits for the transaction to end.
        run: () => (this.#closed ? Promise.reject(closed()) : channel.lock.run(() => (this.#closed ? Promise.reject(closed()) : channel.call((api) => api.watchQuery(sql, bind))))),
        subscribe: (listener) => tableChangesOf(channel).subscribe(listener),
      },
      deliver,
      fail,
      () => {
        this.#live.delete(stop);
        ended();
      },
    );
    const stop = (): void => query.stop();
    this.#live.add(stop);
    query.start();
    return stop;
  }

  /** Closes this handle. The database closes when every handle for its path in this tab is closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#openTransaction) throw insideTransaction('close()');
    this.#closed = true;
    this.stopSync();
    for (const stop of [...this.#live]) stop();
    await this.#channel.lock.run(() => releaseChannel(this.#channel));
    if (!this.#channel.alive) disposeSyncStatus(this.#channel);
  }
}

function normalizeArgs(args: readonly unknown[]): BindArgs {
  if (args.length === 1) {
    const only = args[0];
    if (Array.isArray(only)) return checkArgs(only);
    if (isNamedArgs(only)) return checkArgs(only);
  }
  return checkArgs(args);
}

/**
 * Refuses values that cannot be bound before they cross to the worker: a function or a Symbol
 * would otherwise fail inside postMessage with a bare DataCloneError that names no parameter.
 * Positional values are all bound, so each is checked here; an object of named values may carry
 * keys the statement does not use, so only what cannot cross is refused here, and the worker
 * checks the values it binds. A typeof or two per value: this runs on every statement.
 */
function checkArgs<T extends BindArgs>(args: T, batchIndex?: number): T {
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
