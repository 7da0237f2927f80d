/**
 * The object the worker exposes to the facade. It runs one operation at a time: calls queue up in
 * arrival order, so no statement ever interleaves with another or with a sync step.
 */
import { WalsyncError } from './errors.js';
import { LocalDatabase } from './local-database.js';
import type {
  BatchMode,
  BatchResult,
  BatchStatement,
  BindArgs,
  CheckpointResult,
  LocalStats,
  OpenRequest,
  OpenResult,
  QueryResult,
  RunResult,
  SqlValue,
  WorkerApi,
} from './rpc.js';
import { loadSqliteRuntime } from './sqlite-module.js';

export class WorkerHost implements WorkerApi {
  #database: LocalDatabase | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  open(request: OpenRequest): Promise<OpenResult> {
    return this.#serial(async () => {
      if (this.#database) throw new WalsyncError('INTERNAL', 'this worker already has a database open');
      const started = performance.now();
      const runtime = await loadSqliteRuntime();
      this.#database = await LocalDatabase.open(runtime, request);
      return { openMs: performance.now() - started };
    });
  }

  exec(sql: string): Promise<void> {
    return this.#serial(() => this.#open().exec(sql));
  }

  all(sql: string, args: BindArgs): Promise<QueryResult> {
    return this.#serial(() => this.#open().all(sql, args));
  }

  get(sql: string, args: BindArgs): Promise<{ columns: string[]; row: SqlValue[] | undefined }> {
    return this.#serial(() => this.#open().get(sql, args));
  }

  run(sql: string, args: BindArgs): Promise<RunResult> {
    return this.#serial(() => this.#open().run(sql, args));
  }

  batch(statements: readonly BatchStatement[], mode: BatchMode | null): Promise<BatchResult[]> {
    return this.#serial(() => this.#open().batch(statements, mode));
  }

  isAutocommit(): Promise<boolean> {
    return this.#serial(() => this.#open().isAutocommit());
  }

  checkpoint(): Promise<CheckpointResult> {
    return this.#serial(() => this.#open().checkpoint());
  }

  localStats(): Promise<LocalStats> {
    return this.#serial(() => this.#open().localStats());
  }

  close(): Promise<void> {
    return this.#serial(() => {
      const db = this.#database;
      this.#database = null;
      db?.close();
    });
  }

  #open(): LocalDatabase {
    if (!this.#database) throw new WalsyncError('DATABASE_CLOSED', 'the database is closed');
    return this.#database;
  }

  #serial<T>(op: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(op);
    // The queue continues after a failure; the caller still sees the error.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
