/**
 * One open SQLite database inside the worker: its connection and the statements run on it (its
 * files are opened and closed in database-files.ts). The sync engine builds on this; the facade
 * reaches it through the worker API.
 *
 * Past ~400 lines on purpose: one class, the connection, whose statement methods (exec, all, get,
 * run, batch), checkpoint and reopen all go through the same private connection, statement cache
 * and error mapping; splitting them would expose those.
 */
import type { Database, PreparedStatement } from '@sqlite.org/sqlite-wasm';
import { WalsyncError, isWalsyncError } from '../contract/errors.js';
import type { BatchMode, BatchRequest, BatchResults, BindArgs, CheckpointResult, ColumnInfo, LocalStats, QueryResult, RunResult, SqlValue, StorageKind } from '../contract/worker-api.js';
import { PAGE_SIZE, openWalConnection } from './connection.js';
import type { SqliteRuntime } from './sqlite-module.js';
import { bindArgs } from './sql/bind-args.js';
import { type RowReader, rowReader } from './sql/read-row.js';
import { countStatements, forEachStatement } from './sql/split-statements.js';
import { StatementCache } from './sql/statement-cache.js';
import { sqliteError, toWalsyncError } from './sql/sqlite-error.js';
import { isAutocommit } from './sql/schema.js';
import { narrowInteger } from '../contract/sql-value.js';
import { WalLog } from './vfs/wal-log.js';
import { isQuotaError } from './vfs/walsync-vfs.js';
import { type DatabaseFiles, closeDatabaseFiles, openOpfsDatabaseFiles } from './database-files.js';

export { type DatabaseFiles, closeDatabaseFiles } from './database-files.js';

/** Wraps every user statement; the sync engine uses it to capture schema changes (DDL). */
export interface StatementObserver {
  /** `readonly`: the statement is read-only (sqlite3_stmt_readonly); absent means it may write. */
  around<T>(sql: string, run: () => T, readonly?: boolean): T;
  /** Runs the preparing or stepping of an app statement (not the observer's own SQL around it). */
  guard?<T>(work: () => T): T;
}

export interface LocalDatabaseOptions {
  readonly path: string;
  readonly storage: StorageKind;
  readonly synchronous: 'full' | 'normal';
  /** How long to retry files another worker still holds (see OpenRequest.lockWaitMs). Default 0. */
  readonly lockWaitMs?: number;
  /** Checkpoint a local database automatically past this many bytes of WAL (0 or absent: never). */
  readonly autoCheckpointBytes?: number;
}

export class LocalDatabase {
  readonly #runtime: SqliteRuntime;
  readonly #options: LocalDatabaseOptions;
  readonly #files: DatabaseFiles | null;
  readonly #statements = new StatementCache();
  readonly #reader: RowReader;
  /** The C functions every statement calls, unwrapped (capi's wrappers check and convert each argument). */
  readonly #raw: RawExports;
  #db: Database | null;
  #observer: StatementObserver | null = null;
  #walLog: WalLog | null = null;
  /** The WAL size at the last database-file reservation (see #reserveDatabaseFile). */
  #reservedAtWalSize = -RESERVE_STEP;
  /** sqlite3_total_changes() before the current statement ran (see #runResult). */
  #totalChangesBefore = 0;
  #lastStatementReadonly = false;

  private constructor(runtime: SqliteRuntime, options: LocalDatabaseOptions, files: DatabaseFiles | null, db: Database) {
    this.#runtime = runtime;
    this.#raw = runtime.sqlite3.wasm.exports as unknown as RawExports;
    this.#reader = rowReader(runtime.sqlite3);
    this.#options = options;
    this.#files = files;
    this.#db = db;
  }

  static async open(runtime: SqliteRuntime, options: LocalDatabaseOptions): Promise<LocalDatabase> {
    const { sqlite3 } = runtime;
    switch (options.storage) {
      case 'memory':
        return LocalDatabase.onConnection(runtime, options, new sqlite3.oo1.DB(':memory:', 'c'));
      case 'opfs':
        return LocalDatabase.fromFiles(runtime, options, await LocalDatabase.openFiles(runtime, options.path, options.lockWaitMs));
    }
  }

  /**
   * A database on a connection opened elsewhere, with no files of walsync's VFS (in-memory, or
   * another VFS): no WAL of ours to read or reserve space for. Closing it closes the connection.
   */
  static onConnection(runtime: SqliteRuntime, options: LocalDatabaseOptions, db: Database): LocalDatabase {
    return new LocalDatabase(runtime, options, null, db);
  }

  /** Opens the OPFS files of `path` and registers them with the VFS (no SQLite connection yet). */
  static openFiles(runtime: SqliteRuntime, path: string, lockWaitMs = 0): Promise<DatabaseFiles> {
    return openOpfsDatabaseFiles(runtime, path, lockWaitMs);
  }

  /** Opens a connection on already opened files; on failure the files are closed. */
  static fromFiles(runtime: SqliteRuntime, options: LocalDatabaseOptions, files: DatabaseFiles): LocalDatabase {
    try {
      const db = openWalConnection(runtime.sqlite3, files.name, { synchronous: options.synchronous });
      return new LocalDatabase(runtime, options, files, db);
    } catch (e) {
      closeDatabaseFiles(runtime, files);
      throw toOpenError(runtime, e, options.path);
    }
  }

  /**
   * Whether the last statement run by all/get/run was read-only (sqlite3_stmt_readonly: a SELECT,
   * or BEGIN/COMMIT/ROLLBACK, which change no page themselves): the host skips its after-write
   * work for a read that left the transaction state as it was.
   */
  get lastStatementReadonly(): boolean {
    return this.#lastStatementReadonly;
  }

  get runtime(): SqliteRuntime {
    return this.#runtime;
  }

  setStatementObserver(observer: StatementObserver | null): void {
    this.#observer = observer;
  }

  /** The open connection (the engine runs its own SQL on it). */
  get connection(): Database {
    if (!this.#db) throw new WalsyncError('DATABASE_CLOSED', 'the database connection is closed');
    return this.#db;
  }

  /** The WAL's frame-level view; one per database, so it remembers how far it has read the log. */
  walLog(): WalLog {
    if (!this.#files) throw new WalsyncError('INTERNAL', 'this database has no WAL files (in-memory storage)');
    this.#walLog ??= new WalLog(this.#files.db, this.#files.wal, PAGE_SIZE);
    return this.#walLog;
  }

  /**
   * Runs a script. If a statement fails after the script itself opened a transaction (its own
   * BEGIN), that transaction is rolled back, so later statements cannot silently join it; a
   * transaction the caller had open before stays open for the caller to decide.
   */
  exec(sql: string): void {
    const db = this.connection;
    const wasAutocommit = this.isAutocommit();
    try {
      forEachStatement(this.#runtime.sqlite3, db, sql, (text) => this.#runOnce(text));
    } catch (e) {
      const error = this.#error(e, sql);
      if (!wasAutocommit || this.isAutocommit()) throw error;
      try {
        db.exec('ROLLBACK');
      } catch {
        // SQLite may have ended the transaction itself; either way none is left open.
      }
      if (!(error instanceof WalsyncError)) throw error;
      throw new WalsyncError(error.code, `${error.message} (the transaction this exec() script opened was rolled back)`, {
        sqliteCode: error.sqliteCode,
        context: { ...error.context, rolledBack: true },
        cause: error,
      });
    }
  }

  all(sql: string, args: BindArgs): QueryResult {
    return this.#withStatement(sql, args, (stmt) => {
      const reader = this.#reader;
      const rows: SqlValue[][] = [];
      while (this.#step(stmt, sql)) rows.push(reader.row(stmt));
      return { columns: reader.columnNames(stmt), rows };
    });
  }

  get(sql: string, args: BindArgs): { columns: string[]; row: SqlValue[] | undefined } {
    return this.#withStatement(sql, args, (stmt) => {
      const row = this.#step(stmt, sql) ? this.#reader.row(stmt) : undefined;
      return { columns: this.#reader.columnNames(stmt), row };
    });
  }

  /** Describes the statement's result columns without running it. */
  columns(sql: string): ColumnInfo[] {
    const stmt = (() => {
      try {
        return this.#prepareCached(sql);
      } catch (e) {
        throw this.#error(e, sql);
      }
    })();
    const { capi } = this.#runtime.sqlite3;
    const out: ColumnInfo[] = [];
    for (let i = 0; i < stmt.columnCount; i++) {
      out.push({
        name: capi.sqlite3_column_name(stmt.pointer!, i) ?? '',
        column: capi.sqlite3_column_origin_name(stmt.pointer!, i) ?? null,
        table: capi.sqlite3_column_table_name(stmt.pointer!, i) ?? null,
        database: capi.sqlite3_column_database_name(stmt.pointer!, i) ?? null,
        type: capi.sqlite3_column_decltype(stmt.pointer!, i) ?? null,
      });
    }
    return out;
  }

  run(sql: string, args: BindArgs): RunResult {
    return this.#withStatement(sql, args, (stmt) => {
      while (this.#step(stmt, sql)) {
        /* drain: a RETURNING clause or a SELECT still runs to completion */
      }
      return this.#runResult(stmt);
    });
  }

  /**
   * Runs `statements` in order. With a mode the batch is one transaction: on the first failure it
   * rolls back and throws, naming the statement's index. Inside an open transaction the mode is
   * ignored and the caller's transaction decides.
   */
  batch(request: BatchRequest, mode: BatchMode | null): BatchResults {
    const count = request.sqlIndex.length;
    const wrap = mode !== null && this.isAutocommit();
    if (wrap) this.exec(`BEGIN ${mode.toUpperCase()}`);
    const changes = new Float64Array(count);
    const lastInsertRowid: (number | bigint)[] = new Array(count);
    const rowSets: BatchResults['rowSets'] = [];
    let at = 0;
    let namedAt = 0;
    try {
      for (let i = 0; i < count; i++) {
        const sql = request.sqls[request.sqlIndex[i]!]!;
        const n = request.argCount[i]!;
        const args: BindArgs = n < 0 ? request.named[namedAt++]! : request.values.slice(at, (at += n));
        try {
          this.#withStatement(sql, args, (stmt) => {
            let rows: SqlValue[][] | null = null;
            while (this.#step(stmt, sql)) (rows ??= []).push(this.#reader.row(stmt));
            if (rows) rowSets.push({ index: i, columns: this.#reader.columnNames(stmt), rows });
            const result = this.#runResult(stmt);
            changes[i] = result.changes;
            lastInsertRowid[i] = result.lastInsertRowid;
          });
        } catch (e) {
          if (e instanceof WalsyncError) {
            throw new WalsyncError(e.code, e.message, {
              sqliteCode: e.sqliteCode,
              context: { ...e.context, batchIndex: i },
              cause: e,
            });
          }
          throw e;
        }
      }
      if (wrap) this.exec('COMMIT');
      return { changes, lastInsertRowid, rowSets };
    } catch (e) {
      if (wrap && !this.isAutocommit()) this.exec('ROLLBACK');
      throw e;
    }
  }


  isAutocommit(): boolean {
    return isAutocommit(this.#runtime.sqlite3, this.connection);
  }

  /** Folds the whole WAL into the database file (local databases; synced ones go through the engine). */
  checkpoint(): CheckpointResult {
    if (!this.isAutocommit()) {
      throw new WalsyncError('INVALID_ARGUMENT', 'cannot checkpoint inside a transaction');
    }
    try {
      const row = this.connection.selectArray('PRAGMA wal_checkpoint(TRUNCATE)') as number[] | undefined;
      return { framesCheckpointed: Number(row?.[2] ?? 0) < 0 ? 0 : Number(row?.[2] ?? 0) };
    } catch (e) {
      // Pages copied before the failure equal their WAL versions, and the WAL is cut only after
      // every page is in the database file: a failed checkpoint loses nothing.
      throw this.#error(e, 'PRAGMA wal_checkpoint(TRUNCATE)', 'the checkpoint stopped and the log was kept: nothing was lost; free some space and checkpoint again');
    }
  }

  /**
   * After a write: checkpoints a local database whose WAL has grown past autoCheckpointBytes
   * (synced databases: the engine's afterWrite). The write has committed by now, so a checkpoint
   * refused for lack of space does not fail it: the log stays, and the next write tries again.
   */
  afterWrite(): void {
    const files = this.#files;
    if (!files || this.#options.storage !== 'opfs' || !this.isAutocommit()) return;
    const walSize = files.wal.size();
    this.#reserveDatabaseFile(files, walSize);
    const limit = this.#options.autoCheckpointBytes ?? 0;
    if (limit <= 0 || walSize <= limit) return;
    try {
      this.checkpoint();
    } catch (e) {
      if (!isWalsyncError(e, 'QUOTA_EXCEEDED')) throw e;
    }
  }

  /**
   * A checkpoint copies the log into the database file, which must grow to the database's size:
   * near the storage quota that growth is refused, and the log, the one thing a checkpoint would
   * free, stays. So the file is grown ahead, while writing (the growth a write would need anyway
   * shows up here first): then a checkpoint only overwrites and shrinks, which needs no new space.
   * Checked every RESERVE_STEP bytes of log, with that much room to spare; the checkpoint cuts
   * the file back to the exact size. SQLite takes the database size from the log and the header,
   * never from the file's length, so the zeros past the end are never read.
   */
  #reserveDatabaseFile(files: DatabaseFiles, walSize: number): void {
    if (walSize >= this.#reservedAtWalSize && walSize < this.#reservedAtWalSize + RESERVE_STEP) return;
    this.#reservedAtWalSize = walSize;
    const needed = Number(this.connection.selectValue('PRAGMA page_count') ?? 0) * PAGE_SIZE;
    if (files.db.size() >= needed + RESERVE_STEP) return;
    try {
      files.db.truncate(needed + RESERVE_STEP);
    } catch (e) {
      // Out of space: the write itself committed; the next write (or checkpoint) reports it.
      if (!isQuotaError(e)) throw e;
      this.#reservedAtWalSize = -RESERVE_STEP;
    }
  }

  /**
   * The error to report for `e`, thrown by SQLite or storage during `operation` (SQL, or what the
   * engine was doing); a quota failure becomes QUOTA_EXCEEDED, its message ending with `outcome`.
   */
  describeError(e: unknown, operation: string, outcome: string): unknown {
    return this.#error(e, operation, outcome);
  }

  localStats(): LocalStats {
    return {
      mainWalSize: this.#files?.wal.size() ?? 0,
      databaseSize: this.#files?.db.size() ?? 0,
    };
  }

  /** Closes the SQLite connection but keeps the files open (the engine rewrites the WAL in between). */
  closeConnection(): void {
    this.#statements.clear();
    this.#db?.close();
    this.#db = null;
  }

  /** Opens the connection again after closeConnection(). */
  reopenConnection(): void {
    if (this.#db) return;
    if (!this.#files) throw new WalsyncError('INTERNAL', 'only file-backed databases can be reopened');
    this.#db = openWalConnection(this.#runtime.sqlite3, this.#files.name, { synchronous: this.#options.synchronous });
  }

  close(): void {
    try {
      this.closeConnection();
    } finally {
      if (this.#files) closeDatabaseFiles(this.#runtime, this.#files);
    }
  }

  #runOnce(sql: string): void {
    const db = this.connection;
    const stmt = this.#guarded(() => db.prepare(sql));
    try {
      this.#observe(
        sql,
        () =>
          this.#guarded(() => {
            while (this.#step(stmt, sql)) {
              /* drain */
            }
          }),
        stmt,
      );
    } finally {
      stmt.finalize();
    }
  }

  #observe<T>(sql: string, run: () => T, stmt: PreparedStatement): T {
    if (!this.#observer) return run();
    return this.#observer.around(sql, run, this.#raw.sqlite3_stmt_readonly(stmt.pointer as unknown as number) !== 0);
  }

  /** App SQL: a cached statement is re-prepared inside step() after a schema change, so both are guarded. */
  #guarded<T>(work: () => T): T {
    return this.#observer?.guard ? this.#observer.guard(work) : work();
  }

  /**
   * One step of an app statement: true for a row, false when done. Through the raw export: oo1's
   * step() goes through sqlite-wasm's checked wrapper (argument adapters, a scoped allocation) on
   * every row, about 1 µs of a 10 µs point select.
   */
  #step(stmt: PreparedStatement, sql: string): boolean {
    const rc = this.#raw.sqlite3_step(stmt.pointer as unknown as number);
    if (rc === SQLITE_ROW) return true;
    if (rc === SQLITE_DONE) return false;
    throw sqliteError(this.#runtime.sqlite3, this.#db, rc, sql);
  }

  #withStatement<T>(sql: string, args: BindArgs, use: (stmt: PreparedStatement) => T): T {
    const stmt = this.#prepareCached(sql);
    this.#lastStatementReadonly = this.#raw.sqlite3_stmt_readonly(stmt.pointer as unknown as number) !== 0;
    try {
      bindArgs(this.#runtime.sqlite3, stmt, args, sql);
      this.#totalChangesBefore = this.#totalChanges();
      return this.#observe(sql, () => this.#guarded(() => use(stmt)), stmt);
    } catch (e) {
      throw this.#error(e, sql);
    } finally {
      // Raw exports (oo1's reset(true) checks and wraps both calls); their codes repeat the step's
      // error, which was already reported above. Bindings are cleared so a cached statement keeps
      // no copy of a large value.
      const p = stmt.pointer as unknown as number;
      this.#raw.sqlite3_clear_bindings(p);
      this.#raw.sqlite3_reset(p);
    }
  }

  #prepareCached(sql: string): PreparedStatement {
    const cached = this.#statements.get(sql);
    if (cached) return cached;
    const db = this.connection;
    const { sqlite3 } = this.#runtime;
    try {
      const count = countStatements(sqlite3, db, sql);
      if (count !== 1) {
        throw new WalsyncError(
          'INVALID_ARGUMENT',
          count === 0 ? 'the SQL contains no statement' : `prepare() takes one statement, the SQL has ${count} (use exec() for scripts)`,
          { context: { sql } },
        );
      }
      const stmt = this.#guarded(() => db.prepare(sql));
      this.#statements.add(sql, stmt);
      return stmt;
    } catch (e) {
      throw this.#error(e, sql);
    }
  }

  #totalChanges(): number {
    return this.#raw.sqlite3_total_changes(this.connection.pointer as unknown as number);
  }

  #runResult(stmt: PreparedStatement): RunResult {
    const raw = this.#raw;
    const db = this.connection.pointer as unknown as number;
    // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE through other statements
    // (VACUUM, DDL): a statement that changed no row reports 0.
    const readonly = raw.sqlite3_stmt_readonly(stmt.pointer as unknown as number) !== 0 || this.#totalChanges() === this.#totalChangesBefore;
    const rowid = raw.sqlite3_last_insert_rowid(db);
    return {
      changes: readonly ? 0 : raw.sqlite3_changes(db),
      lastInsertRowid:
typeof rowid === 'bigint' ? narrowInteger(rowid) : rowid,
    };
  }

  #error(e: unknown, sql: string, outcome = 'the statement was rolled back'): unknown {
    const converted = toWalsyncError(this.#runtime.sqlite3, this.#db, e, sql);
    const failure = this.#runtime.vfs.takeLastFailure();
    // Through SQLite the VFS keeps the browser's error; walsync's own file writes throw it directly.
    const quota = isQuotaError(e) ? e : failure && isQuotaError(failure.error) ? failure.error : null;
    if (quota) {
      return new WalsyncError('QUOTA_EXCEEDED', `the browser refused to store more data for this site (storage quota exceeded); ${outcome}`, {
        sqliteCode: converted instanceof WalsyncError ? converted.sqliteCode : undefined,
        context: { sql: sql.slice(0, 500), file: failure?.file },
        cause: quota,
      });
    }
    return converted;
  }
}

/** The raw C exports the statement path calls (pointers are numbers in this 32-bit build; int64 is bigint). */
interface RawExports {
  sqlite3_step(stmt: number): number;
  sqlite3_stmt_readonly(stmt: number): number;
  sqlite3_total_changes(db: number): number;
  sqlite3_changes(db: number): number;
  sqlite3_last_insert_rowid(db: number): number | bigint;
  sqlite3_clear_bindings(stmt: number): number;
  sqlite3_reset(stmt: number): number;
}

const SQLITE_ROW = 100;
const SQLITE_DONE = 101;

/** Log growth between two reservations of database-file space, and the room kept ahead (256 KiB). */
const RESERVE_STEP = 256 * 1024;

function toOpenError(runtime: SqliteRuntime, e: unknown, path: string): unknown {
  const converted = toWalsyncError(runtime.sqlite3, null, e);
  if (converted instanceof WalsyncError) return converted;
  return new WalsyncError('IO_ERROR', `could not open database ${path}: ${(e as Error)?.message ?? String(e)}`, {
    context: { path },
    cause: e,
  });
}

