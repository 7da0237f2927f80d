/**
 * The main-thread API's `Database`: the public handle, a thin proxy to the worker. Statements,
 * batches, transaction() and the sync phases live beside it (statement.ts, batch.ts, transaction.ts,
 * sync-phases.ts). Past ~400 lines on purpose: it is one class, the public surface, and most of its
 * length is the TSDoc of its methods, each of which only checks its input and delegates.
 */
import { WalsyncError } from '../contract/errors.js';
import type { BatchResults, BindArgs, PendingChange, SyncStats } from '../contract/worker-api.js';
import { StatementOp } from '../contract/statement-calls.js';
import type { Row } from './rows.js';
import type { WorkerChannel } from './worker-channel.js';
import { releaseChannel } from './acquire-channel.js';
import { LiveQuery, type WatchOptions, liveIterator } from './live-query.js';
import { type TablesChangedListener, tableChangesOf } from './table-changes.js';
import { type SyncStatus, type SyncStatusListener, disposeSyncStatus, syncStatusOf } from './sync-status.js';
import { BackgroundSync, type BackgroundSyncOptions, resolveBackgroundSyncOptions } from './background-sync.js';
import { type Executor, Statement, normalizeArgs } from './statement.js';
import { type BatchInput, type BatchResultSet, toBatchRequest, toBatchResultSets } from './batch.js';
import { type SyncHost, type SyncUrlSource, pullPhases, pushPhases, resetSyncPhases, runSync } from './sync-phases.js';
import { type TransactionFunction, type TransactionHost, type TransactionMode, Transaction, insideTransaction, transactionFunction } from './transaction.js';

export { Statement, type BindParameters, type BindValue, type NamedBindArgs } from './statement.js';
export type { BatchInput, BatchResultSet } from './batch.js';
export { Transaction, type TransactionFunction, type TransactionMode } from './transaction.js';

/** Each Database's worker channel, out of its public shape. */
const channels = new WeakMap<Database, WorkerChannel>();

/** @internal The worker channel behind `db` (tests and the worker-level tools use it). */
export function channelOf(db: Database): WorkerChannel {
  const channel = channels.get(db);
  if (!channel) throw new WalsyncError('INVALID_ARGUMENT', 'not a walsync Database');
  return channel;
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
  /** connect()'s `longPollTimeoutMs`: the background loop polls again at once after a held pull. */
  readonly #longPollTimeoutMs: number;
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
  constructor(channel: WorkerChannel, path: string, memory: boolean, syncUrl: SyncUrlSource | null = null, longPollTimeoutMs = 0) {
    channels.set(this, channel);
    this.#longPollTimeoutMs = longPollTimeoutMs;
    this.path = path;
    this.memory = memory;
    this.#syncUrl = syncUrl;
    this.#executor = {
      call: (op) => {
        if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path } }));
        if (this.#openTransaction) return this.#openTransaction.call(op);
        return channel.lock.run(() => channel.call(op));
      },
      statement: (op, a, b) => {
        if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path } }));
        if (this.#openTransaction) return this.#openTransaction.statement(op, a, b);
        return channel.lock.run(() => channel.statement(op, a, b));
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
    return this.#executor.statement(StatementOp.Exec, sql) as Promise<void>;
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
    return transactionFunction(this, this.#transactionHost, fn, mode);
  }

  /** The transaction runner's view of this handle's private state. */
  readonly #transactionHost: TransactionHost = {
    isClosed: () => this.#closed,
    channel: () => this.#channel,
    openTransaction: () => this.#openTransaction,
    setOpenTransaction: (executor) => {
      this.#openTransaction = executor;
    },
  };

  /** The sync runner's view of this handle's private state. */
  readonly #syncHost: SyncHost = {
    path: () => this.path,
    syncUrl: () => this.#syncUrl,
    isClosed: () => this.#closed,
    channel: () => this.#channel,
    inTransaction: () => this.#openTransaction !== null,
  };

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
    return toBatchResultSets((await this.#executor.statement(StatementOp.Batch, input, mode ?? null)) as BatchResults);
  }

  /**
   * Sends local changes to the server in one all-or-nothing transaction. If the server refuses a
   * change (e.g. a UNIQUE constraint), nothing of the push is applied and the promise rejects with
   * `PUSH_REJECTED` naming the change; the change stays queued (skip or rewrite it with `transform`).
   */
  push(): Promise<void> {
    // The background loop's long poll would hold the sync lock until the server has news.
    this.#backgroundSync?.stopPullWait();
    return this.#push(false);
  }

  /** `fromLoop`: the background loop, which waits for an open transaction instead of refusing. */
  #push(fromLoop: boolean): Promise<void> {
    return runSync(this.#syncHost, 'push', fromLoop, pushPhases);
  }

  /**
   * Brings the server's changes. Local changes not yet on the server are replayed on top, so
   * nothing local is lost. Resolves true if the server had changes.
   */
  async pull(): Promise<boolean> {
    this.#backgroundSync?.stopPullWait();
    return (await this.#pull(false)) === true;
  }

  /**
   * `stopWaiting`: the background loop's, to cut a long poll short when a push is due; resolves
   * null when it did (nothing was pulled).
   */
  #pull(fromLoop: boolean, stopWaiting?: AbortSignal): Promise<boolean | null> {
    return runSync(this.#syncHost, 'pull', fromLoop, (url, local, network) => pullPhases(url, local, network, stopWaiting));
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
    return runSync(this.#syncHost, 'resetSync', false, resetSyncPhases);
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
        pull: (stopWaiting) => (channel.leading ? this.#pull(true, stopWaiting) : Promise.resolve(false)),
        longPollMs: this.#longPollTimeoutMs,
        status,
        onTablesChanged: (listener) => this.onTablesChanged(listener),
      },
      resolved,
    );
    this.#backgroundSync = loop;
    loop.start();
  }

  /** Stops background sync (a push or pull in flight still finishes; a long poll still waiting for the server's answer ends at once). */
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
