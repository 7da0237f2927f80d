/** The main-thread API: Database, Statement and Transaction, each a thin proxy to the worker. */
import { type Remote, transfer } from 'comlink';
import { WalsyncError } from '../worker/errors.js';
import type { BatchRequest, BatchResults, BindArgs, RunResult, SyncStats, WorkerApi } from '../worker/rpc.js';
import { type Row, toRow, toRows } from './rows.js';
import { type WorkerChannel, releaseChannel } from './worker-channel.js';

/** Runs one worker call, under whatever exclusion the caller needs. */
interface Executor {
  call<T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T>;
}

/**
 * A prepared statement. Preparation happens in the worker on first use and is cached there, so
 * running the same statement many times parses it once.
 *
 * Arguments: positional values (`stmt.run(1, 'a')` or `stmt.run([1, 'a'])`), or one object of named
 * values (`stmt.run({ id: 1 })` for `:id`, `@id` or `$id`).
 */
export class Statement {
  readonly sql: string;
  readonly #executor: Executor;

  /** @internal */
  constructor(executor: Executor, sql: string) {
    this.#executor = executor;
    this.sql = sql;
  }

  /** Runs the statement and returns every row as an object keyed by column name. */
  async all(...args: unknown[]): Promise<Row[]> {
    const result = await this.#executor.call((api) => api.all(this.sql, normalizeArgs(args)));
    return toRows(result.columns, result.rows);
  }

  /** Runs the statement and returns its first row, or undefined if it returned none. */
  async get(...args: unknown[]): Promise<Row | undefined> {
    const result = await this.#executor.call((api) => api.get(this.sql, normalizeArgs(args)));
    return result.row ? toRow(result.columns, result.row) : undefined;
  }

  /** Runs the statement for its effect: `{ changes, lastInsertRowid }`. */
  run(...args: unknown[]): Promise<RunResult> {
    return this.#executor.call((api) => api.run(this.sql, normalizeArgs(args)));
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
      for (const v of args) values.push(v);
    } else if (typeof args === 'object' && args !== null) {
      argCount[i] = -1;
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

/** The handle a transaction callback gets: its statements run inside the transaction. */
export class Transaction {
  readonly #executor: Executor;

  /** @internal */
  constructor(executor: Executor) {
    this.#executor = executor;
  }

  exec(sql: string): Promise<void> {
    return this.#executor.call((api) => api.exec(sql));
  }

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

/** One worker call of a push or pull phase. */
type PhaseCall = <R>(op: (api: Remote<WorkerApi>) => Promise<R>) => Promise<R>;

/** @internal Where a synced database finds its server url at the moment of a sync. */
export interface SyncUrlSource {
  current(): string | null;
}

/** An open database. Get one from `connect()`. */
export class Database {
  /** The path given to connect(). */
  readonly path: string;
  /** True for `:memory:` databases. */
  readonly memory: boolean;
  /** @internal */
  readonly channel: WorkerChannel;
  #closed = false;
  readonly #executor: Executor;
  readonly #syncUrl: SyncUrlSource | null;

  /** @internal */
  constructor(channel: WorkerChannel, path: string, memory: boolean, syncUrl: SyncUrlSource | null = null) {
    this.channel = channel;
    this.path = path;
    this.memory = memory;
    this.#syncUrl = syncUrl;
    this.#executor = {
      call: (op) => {
        if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path } }));
        return channel.lock.run(() => channel.call(op));
      },
    };
  }

  /** True once close() was called or the worker stopped. */
  get closed(): boolean {
    return this.#closed || !this.channel.alive;
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
   * Wraps `fn` in a transaction: the returned function runs BEGIN, awaits `fn(tx, ...args)`, then
   * COMMIT, or ROLLBACK if `fn` throws (the error is rethrown). Run the transaction's SQL through
   * `tx`: other calls on this database wait until the transaction ends, so nothing interleaves.
   */
  transaction<A extends unknown[], T>(
    fn: (tx: Transaction, ...args: A) => Promise<T> | T,
    mode: TransactionMode = 'deferred',
  ): (...args: A) => Promise<T> {
    if (typeof fn !== 'function') throw new WalsyncError('INVALID_ARGUMENT', 'transaction() takes a function');
    if (!['deferred', 'immediate', 'exclusive'].includes(mode)) {
      throw new WalsyncError('INVALID_ARGUMENT', `transaction(): unknown mode "${String(mode)}"`);
    }
    return (...args: A) => {
      if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed'));
      const channel = this.channel;
      return channel.lock.run(async () => {
        let active = true;
        const tx = new Transaction({
          call: (op) =>
            active
              ? channel.call(op)
              : Promise.reject(new WalsyncError('INVALID_ARGUMENT', 'this transaction has already ended')),
        });
        await channel.call((api) => api.exec(`BEGIN ${mode.toUpperCase()}`));
        try {
          const result = await fn(tx, ...args);
          await channel.call((api) => api.exec('COMMIT'));
          return result;
        } catch (e) {
          // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back what is open.
          if (channel.alive && !(await channel.call((api) => api.isAutocommit()))) {
            await channel.call((api) => api.exec('ROLLBACK'));
          }
          throw e;
        } finally {
          active = false;
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
    return this.#sync(async (url, local, network) => {
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
    return this.#sync(async (url, local, network) => {
      await network((api) => api.pullDownload(url));
      return local((api) => api.pullApply());
    });
  }

  /** push() then pull(); resolves true if the pull brought changes. */
  async sync(): Promise<boolean> {
    await this.push();
    return this.pull();
  }

  /** Sync and storage counters: pending changes, log sizes, last push/pull times, bytes sent/received. */
  stats(): Promise<SyncStats> {
    return this.#executor.call((api) => api.stats());
  }

  /**
   * Runs a push or pull: one at a time per database (`syncLock`); its local phases take the
   * database lock like any call (so they wait for an open transaction() to end), its network
   * phases do not, so queries go on while the server answers.
   */
  #sync<T>(run: (url: string, local: PhaseCall, network: PhaseCall) => Promise<T>): Promise<T> {
    if (!this.#syncUrl) {
      return Promise.reject(
        new WalsyncError('SYNC_NOT_CONFIGURED', 'this database does not sync: connect() was called without a "url"', {
          context: { path: this.path },
        }),
      );
    }
    let url: string | null;
    try {
      url = this.#syncUrl.current();
    } catch (e) {
      return Promise.reject(e);
    }
    if (url === null) {
      return Promise.reject(
        new WalsyncError('SYNC_PAUSED', 'sync is paused: the "url" function returned null, so there is no server to sync with yet', {
          context: { path: this.path },
        }),
      );
    }
    const channel = this.channel;
    const network: PhaseCall = (op) => {
      if (this.#closed) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: this.path } }));
      return channel.call(op);
    };
    return channel.syncLock.run(() => run(url!, (op) => this.#executor.call(op), network));
  }

  /** Folds the write-ahead log into the database file, keeping the log small. */
  async checkpoint(): Promise<void> {
    await this.#executor.call((api) => api.checkpoint());
  }

  /** Closes this handle. The database closes when every handle for its path in this tab is closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.channel.lock.run(() => releaseChannel(this.channel));
  }
}

function normalizeArgs(args: unknown[]): BindArgs {
  if (args.length === 1) {
    const only = args[0];
    if (Array.isArray(only)) return only;
    if (isNamedArgs(only)) return only;
  }
  return args;
}

function isNamedArgs(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
