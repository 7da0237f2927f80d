/**
 * The contract between the facade (main thread) and the worker: request and result shapes that
 * cross postMessage. Everything here is structured-cloneable.
 */

/** A value SQLite can store. Integers beyond 2^53 come back as bigint. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** Positional arguments, or one object of named arguments (`:name`, `@name`, `$name` → key `name`). */
export type BindArgs = readonly unknown[] | Readonly<Record<string, unknown>>;

/** Where the database lives. `opfs-sahpool` is sqlite-wasm's own VFS, used only to compare in benchmarks. */
export type StorageKind = 'opfs' | 'memory' | 'opfs-sahpool';

export interface OpenRequest {
  readonly path: string;
  readonly storage: StorageKind;
  readonly synchronous: 'full' | 'normal';
}

export interface OpenResult {
  /** Milliseconds the worker spent loading SQLite and opening the files. */
  readonly openMs: number;
}

export interface QueryResult {
  readonly columns: string[];
  readonly rows: SqlValue[][];
}

export interface RunResult {
  /** Rows changed by the statement (0 for statements that only read). */
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** One statement of a batch. */
export interface BatchStatement {
  readonly sql: string;
  readonly args: BindArgs;
}

/** What one statement of a batch produced. */
export interface BatchResult {
  readonly columns: string[];
  readonly rows: SqlValue[][];
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

export type BatchMode = 'deferred' | 'immediate' | 'exclusive';

export interface CheckpointResult {
  /** WAL frames folded into the database file. */
  readonly framesCheckpointed: number;
}

export interface LocalStats {
  /** Bytes in the main WAL. */
  readonly mainWalSize: number;
  /** Bytes in the database file. */
  readonly databaseSize: number;
}

/** What the worker exposes over Comlink. */
export interface WorkerApi {
  open(request: OpenRequest): Promise<OpenResult>;
  exec(sql: string): Promise<void>;
  all(sql: string, args: BindArgs): Promise<QueryResult>;
  get(sql: string, args: BindArgs): Promise<{ columns: string[]; row: SqlValue[] | undefined }>;
  run(sql: string, args: BindArgs): Promise<RunResult>;
  /** Runs statements in order in one call; with a mode, all-or-nothing in one transaction. */
  batch(statements: readonly BatchStatement[], mode: BatchMode | null): Promise<BatchResult[]>;
  /** True while the connection is not inside an explicit transaction. */
  isAutocommit(): Promise<boolean>;
  checkpoint(): Promise<CheckpointResult>;
  localStats(): Promise<LocalStats>;
  close(): Promise<void>;
}
