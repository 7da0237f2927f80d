/**
 * The contract between the facade (main thread) and the worker: request and result shapes that
 * cross postMessage. Everything here is structured-cloneable.
 */
import type { TraceEvent, TraceLevel } from './trace.js';

/** A value SQLite can store. Integers beyond 2^53 come back as bigint. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** Positional arguments, or one object of named arguments (`:name`, `@name`, `$name` → key `name`). */
export type BindArgs = readonly unknown[] | Readonly<Record<string, unknown>>;

/** Where the database lives: OPFS files through walsync's VFS, or memory (`:memory:`). */
export type StorageKind = 'opfs' | 'memory';

export interface OpenRequest {
  readonly path: string;
  readonly storage: StorageKind;
  readonly synchronous: 'full' | 'normal';
  /**
   * How long to retry OPFS files that another context still holds, in ms (0: fail at once with
   * DATABASE_LOCKED). The facade sets it only after a worker of this same tab stopped with the
   * same path: the browser releases a stopped worker's files asynchronously.
   */
  readonly lockWaitMs?: number;
  /** Local OPFS databases checkpoint once their WAL grows past this many bytes (0 or absent: never; synced ones use SyncConfig's). */
  readonly autoCheckpointBytes?: number;
  /** Present for databases that sync; absent for local-only ones. */
  readonly sync?: SyncConfig;
}

export interface SyncConfig {
  /** The server url at open time; null while sync is deferred (the url is not known yet). */
  readonly url: string | null;
  readonly clientName: string;
  readonly tablesIgnore: readonly string[];
  readonly bootstrapIfEmpty: boolean;
  readonly longPollTimeoutMs: number;
  /** Network limits in ms (ConnectOptions.timeouts, defaults filled in). */
  readonly timeouts: { readonly silenceMs: number; readonly requestMs: number; readonly bootstrapWaitMs: number };
  /** Checkpoint automatically once the WAL grows past this many bytes (0 = never). */
  readonly autoCheckpointBytes: number;
  readonly hasTransform: boolean;
  /**
   * The token every request carries: a fixed one (null: none), or `{ ask: true }` for an app
   * function, which SyncCallbacks.authToken asks before each request (a round trip to the page).
   */
  readonly authToken: string | null | { readonly ask: true };
  /** Requests go through the app's own `fetch` (SyncCallbacks.fetch) instead of the worker's. */
  readonly hasFetch: boolean;
  /** Trace engine steps at this level and more important ones, to SyncCallbacks.trace (absent: off). */
  readonly tracing?: TraceLevel | undefined;
  /** The key and cipher of an encrypted remote database, sent with every request (ConnectOptions.remoteEncryption). */
  readonly remoteEncryption?: RemoteEncryption | null;
}

/** An encrypted remote database's key (base64) and cipher. */
export interface RemoteEncryption {
  readonly key: string;
  readonly cipher: string;
}

/** An HTTP request the worker asks the app's `fetch` to make. */
export interface ProxiedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** The app's `fetch` answer, in a form that crosses postMessage. */
export interface ProxiedResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: [string, string][];
  readonly body: ArrayBuffer;
}

/**
 * A local change as the transform hook sees it (values keyed by column name): the net effect of
 * the pending changes of one row (an insert then updates arrive as one insert of the final row;
 * several updates as one, `before` the row before the first, `after` after the last), or a schema
 * change (`changeType: 'schema'`, its statement in `sql`).
 */
export interface DatabaseRowMutation {
  readonly changeTime: number;
  readonly tableName: string;
  readonly id: number | bigint | null;
  readonly changeType: 'insert' | 'update' | 'delete' | 'schema';
  readonly before?: Record<string, SqlValue>;
  readonly after?: Record<string, SqlValue>;
  /** Update only: the columns the update(s) changed, with their new values (only these are pushed). */
  readonly updates?: Record<string, SqlValue>;
  /** Schema changes only: the statement (CREATE / ALTER / DROP) as the app ran it. */
  readonly sql?: string;
}

/** A local change waiting to be pushed, as `pendingChanges()` lists it (one logged change, not merged). */
export interface PendingChange {
  /** Its id in the local change log: what `discardChange()` takes and a `PUSH_REJECTED` error names. */
  readonly changeId: number;
  /** Changes made in one local transaction share it. */
  readonly transactionId: number;
  /** Unix time (seconds) of the change. */
  readonly changeTime: number;
  readonly tableName: string;
  readonly changeType: 'insert' | 'update' | 'delete' | 'schema';
  /** True for schema changes (CREATE / ALTER / DROP); `sql` holds the statement. */
  readonly isSchemaChange: boolean;
  readonly sql?: string;
  /** The row's rowid (null for WITHOUT ROWID tables and schema changes). */
  readonly id: number | bigint | null;
  /** How the server finds the row: its primary key by column name (or `{ rowid }` for a table without one). */
  readonly key?: Record<string, SqlValue>;
  readonly before?: Record<string, SqlValue>;
  readonly after?: Record<string, SqlValue>;
}

/** What the transform hook decides for one change: keep it (null), skip it, or replace it with other SQL. */
export type DatabaseRowTransformResult =
  | null
  | { readonly operation: 'skip' }
  | { readonly operation: 'rewrite'; readonly stmt: { readonly sql: string; readonly values: readonly SqlValue[] } };

/** Callbacks the facade lends the worker (as Comlink proxies): they run on the main thread. */
export interface SyncCallbacks {
  /** The current auth token, called before every request. */
  authToken(): Promise<string | null>;
  /** Makes a request with the app's `fetch` option (only when SyncConfig.hasFetch). */
  fetch(request: ProxiedRequest): Promise<ProxiedResponse>;
  /** Transforms a batch of mutations, one result per mutation. */
  transform(mutations: DatabaseRowMutation[]): Promise<DatabaseRowTransformResult[]>;
  /** Hands one engine step's trace to the app's logger (only while SyncConfig.tracing is set). */
  trace?(event: TraceEvent): Promise<void>;
  /**
   * Progress of the first connect's bootstrap (inside open()): bytes of database pages received of
   * the database's size. The last call (received = total) is awaited before open() answers.
   */
  bootstrapProgress(receivedBytes: number, totalBytes: number): Promise<void>;
}

export interface SyncStats {
  /** Local changes not yet pushed. */
  readonly cdcOperations: number;
  readonly mainWalSize: number;
  readonly revertWalSize: number;
  readonly lastPullUnixTime: number | null;
  readonly lastPushUnixTime: number | null;
  /** The remote revision the local synced base corresponds to (null before the first pull). */
  readonly revision: string | null;
  readonly networkSentBytes: number;
  readonly networkReceivedBytes: number;
}

export interface OpenResult {
  /**
   * When the worker reached each start-up step, in ms since the Unix epoch with sub-ms precision
   * (`performance.timeOrigin + performance.now()`, comparable across the page and the worker):
   * its script ran, SQLite's wasm was ready, the database was open. For the benchmark's split.
   */
  readonly startup: { readonly workerReady: number; readonly wasmReady: number; readonly opened: number };
}

export interface QueryResult {
  readonly columns: string[];
  readonly rows: SqlValue[][];
}

/** One result column of a statement, as `Statement.columns()` describes it. */
export interface ColumnInfo {
  /** The column's name in the result (its `AS` alias, if any). */
  readonly name: string;
  /** The table column it comes from, or null for an expression. */
  readonly column: string | null;
  /** The table it comes from, or null for an expression. */
  readonly table: string | null;
  /** The schema (`main`, `temp`, …) it comes from, or null for an expression. */
  readonly database: string | null;
  /** The declared type of the table column (`INTEGER`, `TEXT`, …), or null for an expression. */
  readonly type: string | null;
}

export interface RunResult {
  /** Rows changed by the statement (0 for statements that only read). */
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/**
 * A batch as it crosses to the worker, packed so that 100k statements are a few arrays, not 100k
 * objects to clone: each distinct SQL text once, and per statement an index into it and its
 * arguments as a run of `values` (or, for named arguments, the next object of `named`).
 */
export interface BatchRequest {
  readonly sqls: string[];
  readonly sqlIndex: Int32Array;
  /** Arguments per statement in `values`; -1: its arguments are the next object of `named`. */
  readonly argCount: Int32Array;
  readonly values: unknown[];
  readonly named: Readonly<Record<string, unknown>>[];
}

/** What a batch produced, packed the same way: rows only for the statements that returned some. */
export interface BatchResults {
  readonly changes: Float64Array;
  readonly lastInsertRowid: (number | bigint)[];
  readonly rowSets: { readonly index: number; readonly columns: string[]; readonly rows: SqlValue[][] }[];
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

/** How a leader's worker takes on a follower tab (WorkerApi.attachSession). */
export interface SessionAttach {
  /** The follower's session id (unique per follower channel and leader). */
  readonly sessionId: string;
  /** The Web Lock the follower holds for its life: when the worker gets it, the session is over. */
  readonly lockName: string;
  /** Posted on the port as the first message (`type: 'walsync:welcome'` added). */
  readonly welcome: Readonly<Record<string, string>>;
}

/** What the worker exposes over Comlink. */
export interface WorkerApi {
  /**
   * Serves a follower tab on `port` (transferred): every call made through it is one session of
   * this worker; another session's explicit transaction is never entered (calls wait for its end).
   */
  attachSession(port: MessagePort, attach: SessionAttach): Promise<void>;
  open(request: OpenRequest, callbacks?: SyncCallbacks): Promise<OpenResult>;
  /** Holds the Web Lock `name` until the worker dies (the facade's death detector); false without Web Locks. */
  holdLivenessLock(name: string): Promise<boolean>;
  // Push and pull come in phases: network phases (`pullDownload`, `pushBegin`, `pushSend`) do not
  // touch the database, so queries keep running while the server answers; local phases run in
  // the worker's queue like any statement. The facade runs one push or pull at a time.
  /**
   * Pull, network phase: downloads the server's changes since our revision. `stoppable`: a long
   * poll that `stopPullWait()` may cut short while the server has not begun to answer; false
   * then (nothing downloaded, skip `pullApply`), else true.
   */
  pullDownload(url: string, stoppable?: boolean): Promise<boolean>;
  /** Cuts short the stoppable pull download in flight if it still waits for the server's answer; else does nothing. */
  stopPullWait(): Promise<void>;
  /** Pull, local phase: installs the download; true if it brought changes. */
  pullApply(): Promise<boolean>;
  /** Push, network phase: reads this client's position on the server. */
  pushBegin(url: string): Promise<void>;
  /** Push, local phase: prepares the next chunk of changes; false when none is left. */
  pushPrepare(): Promise<boolean>;
  /** Push, network phase: sends the prepared chunk in one server transaction. */
  pushSend(): Promise<void>;
  /** Push, local phase: records the new position. */
  pushFinish(): Promise<void>;
  // resetSync() after SERVER_RESET: the whole database to the new server, then a pull and a push.
  /** resetSync, network phase: refuses a server that was not reset. */
  resetSyncBegin(url: string): Promise<void>;
  /** resetSync, local phase: marks the reseed pending and reads the database as statements. */
  resetSyncPrepare(): Promise<void>;
  /** resetSync, network phase: sends the next chunk; true while chunks remain. */
  resetSyncSend(): Promise<boolean>;
  /** resetSync, local phase: makes the next pull bring the new server's state. */
  resetSyncFinish(): Promise<void>;
  stats(): Promise<SyncStats>;
  /** Local changes not yet pushed, oldest first: up to `limit` with an id above `afterChangeId`. */
  pendingChanges(afterChangeId: number, limit: number): Promise<PendingChange[]>;
  /** Removes pending changes from the push queue (all or none); returns how many. */
  discardChanges(changeIds: number[]): Promise<number>;
  exec(sql: string): Promise<void>;
  all(sql: string, args: BindArgs): Promise<QueryResult>;
  get(sql: string, args: BindArgs): Promise<{ columns: string[]; row: SqlValue[] | undefined }>;
  run(sql: string, args: BindArgs): Promise<RunResult>;
  /** Describes a statement's result columns without running it. */
  columns(sql: string): Promise<ColumnInfo[]>;
  /** Runs statements in order in one call; with a mode, all-or-nothing in one transaction. */
  batch(request: BatchRequest, mode: BatchMode | null): Promise<BatchResults>;
  /** True while the connection is not inside an explicit transaction. */
  isAutocommit(): Promise<boolean>;
  checkpoint(): Promise<CheckpointResult>;
  /**
   * Live queries: from now on the worker posts a `walsync:tables-changed` message (TablesChangedMessage)
   * after every call whose committed work changed tables, before the call's answer.
   */
  enableTableChangeNotices(): Promise<void>;
  /** Runs a read-only query and names the tables it reads (as SQLite's authorizer reports them). */
  watchQuery(sql: string, args: BindArgs): Promise<QueryResult & { tables: string[] }>;
  /** Test hook for crash tests: the worker stops dead when it reaches the named step. */
  armKillPointForTesting(point: string | null): Promise<void>;
  localStats(): Promise<LocalStats>;
  close(): Promise<void>;
}
