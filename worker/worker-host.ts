/**
 * The object the worker exposes to the facade. It runs one operation at a time: calls queue up in
 * arrival order, so no statement ever interleaves with another or with a sync step.
 *
 * About 400 lines on purpose: one class, the WorkerApi, one short method per API call delegating to
 * the local database or the sync engine it holds. Its queue (session-queue.ts) and follower tabs'
 * sessions (follower-sessions.ts) live beside it.
 */
import { transfer } from 'comlink';
import { WalsyncError } from '../contract/errors.js';
import { LocalDatabase, closeDatabaseFiles } from './local-database.js';
import { type DatabaseFiles, closeDatabaseFileHandles, openDatabaseFileHandles, registerDatabaseFiles } from './database-files.js';
import { type Session, SessionQueue, safeIsAutocommit } from './session-queue.js';
import { type NoticeSink, serveFollowerSession } from './follower-sessions.js';
import type {
  BatchMode,
  BatchRequest,
  BatchResults,
  BindArgs,
  CheckpointResult,
  ColumnInfo,
  LocalStats,
  OpenRequest,
  OpenResult,
  PendingChange,
  SyncConfig,
  QueryResult,
  RunResult,
  SqlValue,
  SyncCallbacks,
  SessionAttach,
  SyncStats,
  WorkerApi,
} from '../contract/worker-api.js';
import { type SqliteRuntime, epochNow, holdSqliteRuntimeLoad, loadSqliteRuntime, runtimeReadyAt } from './sqlite-module.js';
import { createChangeCapture } from './cdc/change-capture-adapter.js';
import { HttpSyncRemote } from './protocol/http-sync-remote.js';
import { type KillPoint, armKillPoint } from './engine/kill-points.js';
import { IdbMetadataStore, type SyncMetadata } from './engine/metadata.js';
import type { SyncRemote } from './protocol/remote.js';
import { SyncEngine } from './engine/sync-engine.js';
import { releaseBootstrapAnswer, startEarlyBootstrap } from './engine/bootstrap.js';
import { proxiedFetch } from './protocol/proxied-fetch.js';
import { type TableChangeSource, type TablesChangedMessage, TableChangeTracker, TablesReadCache } from './table-changes.js';

/**
 * Opens a database that does not sync. The library's worker uses LocalDatabase.open; a worker
 * built on this host may open another storage instead (the benchmarks' sqlite-wasm comparison).
 */
export type LocalDatabaseOpener = (runtime: SqliteRuntime, request: OpenRequest) => Promise<LocalDatabase>;

export class WorkerHost implements WorkerApi {
  #database: LocalDatabase | null = null;
  static readonly HOME: Session = SessionQueue.HOME;
  /** One operation at a time, per session (see SessionQueue). */
  readonly #queue = new SessionQueue(() => this.#database);
  readonly #sinks = new Set<NoticeSink>([globalThis as unknown as NoticeSink]);
  #engine: SyncEngine | null = null;
  /** Set once the page asks for table change notices (live queries); until then no hook costs anything. */
  #tableChanges: TableChangeTracker | null = null;
  /** The tables each watched query reads, kept while the schema stays the same (watch re-runs). */
  #tablesRead: TablesReadCache | null = null;
  /** The sync remote of each url, kept to read the bytes a download has received so far. */
  readonly #remotes = new Map<string, SyncRemote>();
  #remoteFor: ((url: string) => SyncRemote) | null = null;
  /** Stops the wait of the stoppable pull download in flight (stopPullWait), or null. */
  #pullWait: AbortController | null = null;
  /** Changes the push in flight had to send when it began (progress), or null. */
  #pushTotal: number | null = null;
  /** When this worker's script ran (epoch ms), for OpenResult.startup. */
  readonly #workerReady: number;
  /** Opens local (non-synced) databases another way than on walsync's OPFS files (the benchmarks' opfs-sahpool), or null. */
  readonly #openLocal: LocalDatabaseOpener | null;
  /** Whether the open database checkpoints on its own (autoCheckpointBytes > 0): then also when idle and on close. */
  #autoCheckpoint = false;
  /** The idle checkpoint's timer (see #scheduleIdleCheckpoint), and when the last call ran (performance.now()). */
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  #lastCallAt = 0;
  /** Network phases of sync running beside the queue: they hold a view of the WAL, so no idle checkpoint meanwhile. */
  #networkInFlight = 0;

  constructor(workerReady = epochNow(), openLocal: LocalDatabaseOpener | null = null) {
    this.#workerReady = workerReady;
    this.#openLocal = openLocal;
  }

  open(request: OpenRequest, callbacks?: SyncCallbacks): Promise<OpenResult> {
    return this.#serial(async () => {
      if (this.#database) throw new WalsyncError('INTERNAL', 'this worker already has a database open');
      // The metadata record is read from IndexedDB while the wasm loads and the files open. It
      // decides a url-less open too: a database that has sync metadata stays a synced one.
      const metadata = request.storage === 'opfs' ? new IdbMetadataStore(request.path) : null;
      const metadataRead = metadata?.load();
      metadataRead?.catch(() => undefined); // reported where it is awaited
      // The OPFS files open too (a round trip each to the browser's storage process): the same files
      // for a local and a synced database, so before the metadata says which.
      // Not with an opener of its own (it opens its own storage): a synced open then opens them below.
      const opening = request.storage === 'opfs' && !this.#openLocal ? openDatabaseFileHandles(request.path, request.lockWaitMs ?? 0) : null;
      opening?.catch(() => undefined); // reported where it is awaited
      const remotes = this.#remotes;
      const remoteFor = (config: SyncConfig) => (url: string): SyncRemote => {
        const known = remotes.get(url);
        if (known) return known;
        const remote = new HttpSyncRemote(
          url,
          typeof config.authToken === 'object' && config.authToken !== null
            ? () => callbacks?.authToken() ?? Promise.resolve(null)
            : fixedToken(config.authToken),
          config.timeouts,
          config.hasFetch && callbacks ? proxiedFetch(callbacks) : undefined,
          config.remoteEncryption,
        );
        remotes.set(url, remote);
        return remote;
      };
      // A first bootstrap's request goes out as soon as the record and the files say one is due,
      // while SQLite's wasm may still load: the download needs no SQLite, only the open after it.
      // (Its body waits unread meanwhile; requestMs, 2 minutes by default, counts from the request.)
      const early = request.sync && metadataRead && opening ? startEarlyBootstrap(request.sync, metadataRead, opening, remoteFor(request.sync)) : null;
      // These first steps go before SQLite's init, which would hold this thread between their round trips.
      holdSqliteRuntimeLoad(Promise.allSettled([metadataRead, opening, early]), FIRST_IO_HOLD_MS);
      try {
        let runtime: SqliteRuntime;
        let sync: SyncConfig | undefined;
        let opened: DatabaseFiles | null;
        try {
          runtime = await loadSqliteRuntime();
          sync = request.sync ?? (metadataRead ? detachedSyncConfig(await metadataRead) : undefined);
          opened = opening ? registerDatabaseFiles(runtime, await opening) : null;
        } catch (e) {
          // Nothing holds the files yet: let go of them, or another open of this path finds them locked.
          opening?.then(closeDatabaseFileHandles, () => undefined);
          throw e;
        }
        this.#autoCheckpoint = (sync ? sync.autoCheckpointBytes : (request.autoCheckpointBytes ?? 0)) > 0;
        const earlySent = await early;
        if (!sync) {
          if (earlySent) releaseBootstrapAnswer(earlySent.answer);
          // fromFiles closes the files if it fails.
          this.#database = this.#openLocal
            ? await this.#openLocal(runtime, request)
            : opened
              ? LocalDatabase.fromFiles(runtime, request, opened)
              : await LocalDatabase.open(runtime, request);
        } else {
          if (request.storage !== 'opfs') throw new WalsyncError('INVALID_ARGUMENT', 'only OPFS databases can sync');
          const files = opened ?? (await LocalDatabase.openFiles(runtime, request.path, request.lockWaitMs));
          try {
            this.#engine = await SyncEngine.open({
              files,
              metadata: { load: () => metadataRead!, save: (m) => metadata!.save(m) },
              config: sync,
              capture: createChangeCapture(runtime.sqlite3, sync.tablesIgnore),
              callbacks,
              remoteFor: (this.#remoteFor = remoteFor(sync)),
              early: earlySent,
              connect: () => LocalDatabase.fromFiles(runtime, request, files),
            });
          } catch (e) {
            closeDatabaseFiles(runtime, files);
            throw e;
          }
          this.#database = this.#engine.local;
        }
      } catch (e) {
        // An early answer nobody got to read (or one a failed bootstrap left half read) is let go of.
        void early?.then((sent) => sent && releaseBootstrapAnswer(sent.answer));
        throw e;
      }
      return { startup: { workerReady: this.#workerReady, wasmReady: runtimeReadyAt(), opened: epochNow() } };
    });
  }

  /**
   * Holds the Web Lock `name` for as long as this worker lives, so the facade (which queues for the
   * same lock) learns when the worker dies however it dies: the browser releases a context's locks
   * when it terminates or crashes, and no other event reaches the page then. Resolves true once the
   * lock is held, false where Web Locks are missing (the facade then does not watch). Runs beside
   * the queue: the facade asks before open().
   */
  async holdLivenessLock(name: string): Promise<boolean> {
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (!locks) return false;
    return new Promise<boolean>((resolve, reject) => {
      locks
        .request(name, () => {
          resolve(true);
          return new Promise<never>(() => undefined); // held until the worker goes away
        })
        .catch(reject);
    });
  }

  exec(sql: string): Promise<void> {
    return this.#write(() => this.#open().exec(sql));
  }

  all(sql: string, args: BindArgs): Promise<QueryResult> {
    return this.#write(() => this.#open().all(sql, args), true);
  }

  get(sql: string, args: BindArgs): Promise<{ columns: string[]; row: SqlValue[] | undefined }> {
    return this.#write(() => this.#open().get(sql, args), true);
  }

  columns(sql: string): Promise<ColumnInfo[]> {
    return this.#write(() => this.#open().columns(sql));
  }

  run(sql: string, args: BindArgs): Promise<RunResult> {
    return this.#write(() => this.#open().run(sql, args), true);
  }

  batch(request: BatchRequest, mode: BatchMode | null): Promise<BatchResults> {
    return this.#write(() => {
      const results = this.#open().batch(request, mode);
      return transfer(results, [results.changes.buffer]);
    });
  }

  isAutocommit(): Promise<boolean> {
    return this.#serial(() => this.#open().isAutocommit());
  }

  checkpoint(): Promise<CheckpointResult> {
    return this.#serial(() => (this.#engine ? this.#engine.checkpoint() : this.#open().checkpoint()));
  }

  localStats(): Promise<LocalStats> {
    return this.#serial(() => this.#open().localStats());
  }

  // Network phases run beside the queue: they touch no SQLite state, only the network, the
  // changes file and the engine's own push/pull progress (one push or pull at a time).
  pullDownload(url: string, stoppable = false): Promise<boolean> {
    // Made on the message's arrival, before the queue: a stopPullWait() sent right after this
    // call (messages arrive in order) always finds it, even before the download has begun.
    const stop = stoppable ? new AbortController() : null;
    this.#pullWait = stop;
    return this.#network(async () => {
      const engine = this.#syncEngine();
      const remote = this.#remoteFor?.(url);
      const start = remote?.receivedBytes ?? 0;
      let reported = -1;
      const report = (): void => {
        const receivedBytes = (remote?.receivedBytes ?? start) - start;
        if (receivedBytes === reported) return;
        reported = receivedBytes;
        this.#postProgress({ type: 'walsync:progress', kind: 'download', receivedBytes, totalBytes: null });
      };
      // The remote counts bytes as they stream in; a look every 100 ms is progress enough for a UI.
      const timer = remote ? setInterval(report, 100) : null;
      let downloaded: boolean;
      try {
        downloaded = await engine.downloadPull(url, stop?.signal);
      } finally {
        if (timer !== null) clearInterval(timer);
        if (this.#pullWait === stop) this.#pullWait = null;
      }
      if (remote) report();
      return downloaded;
    });
  }

  stopPullWait(): Promise<void> {
    // Not queued: it must reach the download while that waits. It cuts only a long poll the
    // server has not begun to answer (pull.ts); once the answer flows, the pull goes on.
    this.#pullWait?.abort();
    return Promise.resolve();
  }

  pullApply(): Promise<boolean> {
    return this.#serial(async () => {
      this.#trackConnection();
      let changed = false;
      try {
        changed = await this.#syncEngine().applyPull();
        this.#scheduleIdleCheckpoint();
        // Pages are installed physically, not row by row: which tables they belong to is not known.
        if (changed) this.#tableChanges?.markAllChanged();
        return changed;
      } finally {
        this.#trackConnection();
        this.#noticeTableChanges('pull');
      }
    });
  }

  pushBegin(url: string): Promise<void> {
    this.#pushTotal = null;
    return this.#network(() => this.#syncEngine().beginPush(url));
  }

  pushPrepare(): Promise<boolean> {
    return this.#serial(async () => {
      const engine = this.#syncEngine();
      const more = await engine.preparePushChunk();
      const remaining = engine.pushRemaining();
      if (remaining !== null) {
        // The first prepare of a push sees everything it will send.
        this.#pushTotal ??= remaining;
        const total = Math.max(this.#pushTotal, remaining);
        this.#postProgress({ type: 'walsync:progress', kind: 'upload', sentChanges: total - remaining, totalChanges: total });
      }
      return more;
    });
  }

  pushSend(): Promise<void> {
    return this.#network(() => this.#syncEngine().sendPushChunk());
  }

  pushFinish(): Promise<void> {
    return this.#serial(async () => {
      this.#trackConnection();
      try {
        const total = this.#pushTotal;
        this.#pushTotal = null;
        await this.#syncEngine().finishPush();
        this.#scheduleIdleCheckpoint();
        if (total !== null) this.#postProgress({ type: 'walsync:progress', kind: 'upload', sentChanges: total, totalChanges: total });
      } finally {
        this.#noticeTableChanges('sync');
      }
    });
  }

  enableTableChangeNotices(): Promise<void> {
    return this.#serial(() => {
      if (!this.#tableChanges) this.#tableChanges = new TableChangeTracker(this.#open().runtime.sqlite3);
      this.#trackConnection();
    });
  }

  watchQuery(sql: string, args: BindArgs): Promise<QueryResult & { tables: string[] }> {
    return this.#serial(() => {
      const db = this.#open();
      this.#tablesRead ??= new TablesReadCache(db.runtime.sqlite3);
      const tables = this.#tablesRead.get(db.connection, sql);
      return { ...db.all(sql, args), tables };
    });
  }

  resetSyncBegin(url: string): Promise<void> {
    return this.#network(() => this.#syncEngine().beginResetSync(url));
  }

  resetSyncPrepare(): Promise<void> {
    return this.#serial(() => this.#syncEngine().prepareResetSync());
  }

  resetSyncSend(): Promise<boolean> {
    return this.#network(() => this.#syncEngine().sendResetSyncChunk());
  }

  resetSyncFinish(): Promise<void> {
    return this.#serial(() => this.#syncEngine().finishResetSync());
  }

  stats(): Promise<SyncStats> {
    return this.#serial(() => {
      if (this.#engine) return this.#engine.stats();
      const local = this.#open().localStats();
      return {
        cdcOperations: 0,
        mainWalSize: local.mainWalSize,
        revertWalSize: 0,
        lastPullUnixTime: null,
        lastPushUnixTime: null,
        revision: null,
        networkSentBytes: 0,
        networkReceivedBytes: 0,
      };
    });
  }

  pendingChanges(afterChangeId: number, limit: number): Promise<PendingChange[]> {
    return this.#serial(() => this.#syncEngine().pendingChanges(afterChangeId, limit));
  }

  discardChanges(changeIds: number[]): Promise<number> {
    return this.#serial(() => this.#syncEngine().discardChanges(changeIds));
  }

  /** Test hook: the worker stops dead at `point` (crash tests). */
  armKillPointForTesting(point: KillPoint | null): Promise<void> {
    return this.#serial(() => armKillPoint(point));
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      // The next visit's open replays the whole WAL to rebuild its index: leave it empty when we can.
      await this.#checkpointIfQuiet();
      const db = this.#database;
      this.#database = null;
      this.#engine = null;
      if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
      db?.close();
    });
  }

  /**
   * Cold start: opening a database makes SQLite read its whole WAL to rebuild the WAL index, so a
   * page that wrote and then went away (tabs are seldom closed with close()) leaves the next visit
   * that much slower to its first query. So once the database has been idle for IDLE_CHECKPOINT_MS
   * after a write, its WAL is folded into the database file, as autoCheckpointBytes would do once
   * it grew (and only where that is on). Every call pushes the deadline back; the check itself is
   * a timestamp per call, the timer is armed once per idle period.
   */
  #scheduleIdleCheckpoint(): void {
    if (!this.#autoCheckpoint || this.#idleTimer !== null) return;
    this.#idleTimer = setTimeout(() => this.#idleCheckpointDue(), IDLE_CHECKPOINT_MS);
  }

  #idleCheckpointDue(): void {
    this.#idleTimer = null;
    const wait = this.#lastCallAt + IDLE_CHECKPOINT_MS - performance.now();
    if (wait > 1) {
      this.#idleTimer = setTimeout(() => this.#idleCheckpointDue(), wait);
      return;
    }
    // Through the queue, as the home session: it waits for calls queued before it and for another
    // tab's open transaction to end. A failure (out of space) keeps the log; the next write retries.
    this.#queue.serial(() => this.#checkpointIfQuiet(), WorkerHost.HOME).catch(() => undefined);
  }

  /**
   * Checkpoints when nothing depends on the WAL as it is: the database is file-backed and has a log,
   * no transaction is open (a checkpoint cannot run inside one), and no sync step is under way (a
   * download checks the server against base pages it reads from the WAL; a push or resetSync in
   * progress spans several queue turns). Synced databases go through the engine's checkpoint, which
   * saves the synced base first (engine/checkpoint.ts has the crash argument); a local one's is
   * SQLite's own (the WAL is cut only after every page is in the database file).
   */
  async #checkpointIfQuiet(): Promise<void> {
    const db = this.#database;
    if (!db || !this.#autoCheckpoint || db.localStats().mainWalSize === 0 || !safeIsAutocommit(db)) return;
    if (this.#networkInFlight > 0 || this.#engine?.syncInProgress) return;
    try {
      if (this.#engine) await this.#engine.checkpoint();
      else db.checkpoint();
    } catch {
      // Nothing lost (see the checkpoints' own notes): an idle or closing checkpoint is only an optimisation.
    }
  }

  #open(): LocalDatabase {
    if (!this.#database) throw new WalsyncError('DATABASE_CLOSED', 'the database is closed');
    return this.#database;
  }

  #syncEngine(): SyncEngine {
    this.#open();
    if (!this.#engine) {
      throw new WalsyncError('SYNC_NOT_CONFIGURED', 'this database does not sync: it was opened without a "url"');
    }
    return this.#engine;
  }

  /**
   * A user statement; afterwards the database may checkpoint if its WAL grew too large. `single`:
   * one statement (all/get/run), so a read-only one that left the transaction state as it was
   * wrote nothing and skips that check (its WAL size is a file-system call).
   */
  #write<T>(op: () => T, single = false): Promise<T> {
    // Not async: a call that needs no after-write check answers without a promise turn.
    return this.#serial((): T | Promise<T> => {
      this.#scheduleIdleCheckpoint();
      this.#trackConnection();
      const wasAutocommit = single && this.#database !== null && safeIsAutocommit(this.#database);
      let result: T;
      try {
        result = op();
      } finally {
        // Before the call's answer goes out, so the page learns of a commit no later than its caller.
        this.#noticeTableChanges('local');
      }
      const db = this.#database;
      // Both after-write checks do nothing inside a transaction (a checkpoint waits for its end).
      if (!db || !safeIsAutocommit(db) || (wasAutocommit && db.lastStatementReadonly)) return result;
      if (this.#engine) return this.#engine.afterWrite().then(() => result);
      db.afterWrite();
      return result;
    });
  }

  #postProgress(message: ProgressMessage): void {
    for (const sink of this.#sinks) sink.postMessage(message);
  }

  /** Keeps the change hooks on the connection in use (a pull or checkpoint may have reopened it). */
  #trackConnection(): void {
    if (this.#tableChanges && this.#database) this.#tableChanges.attach(this.#database.connection);
  }

  /** Posts the tables committed work changed since the last notice, if any (one notice per call). */
  #noticeTableChanges(source: TableChangeSource): void {
    const tracker = this.#tableChanges;
    if (!tracker || !this.#database) return;
    let tables: string[] | null;
    try {
      tables = tracker.take(this.#database.connection);
    } catch {
      // No connection to read (a failed pull left it closed): the call's own error is what matters.
      return;
    }
    if (!tables) return;
    const message: TablesChangedMessage = { type: 'walsync:tables-changed', tables, source };
    // Every tab hears every commit: a watch in one tab follows another tab's writes.
    for (const sink of this.#sinks) sink.postMessage(message);
  }

  /** Network work: waits for the operations queued before it to start (an open() must finish), then runs beside the queue. */
  #network<T>(op: () => Promise<T>): Promise<T> {
    return this.#queue.network(async () => {
      this.#networkInFlight++;
      try {
        return await op();
      } finally {
        this.#networkInFlight--;
      }
    });
  }

  #serial<T>(op: () => T | Promise<T>, session = this.#queue.current): Promise<T> {
    this.#lastCallAt = performance.now();
    return this.#queue.serial(op, session);
  }


  /**
   * Serves a follower tab on `port`: the WorkerApi methods, bound to a new session, over Comlink.
   * The follower holds the Web Lock `attach.lockName` for its life; the lock comes to us when its
   * tab closes or crashes (or it closes the database), and then its open transaction is rolled
   * back, so the other sessions go on. The first message on the port is `attach.welcome`.
   */
  async attachSession(port: MessagePort, attach: SessionAttach): Promise<void> {
    serveFollowerSession(this, { queue: this.#queue, sinks: this.#sinks, database: () => this.#database }, port, attach);
  }
}

/**
 * A database that has sync metadata is a synced database however it is opened: opened without a
 * url it keeps recording its changes (like a paused sync), so that the next connect with a url
 * pushes them instead of losing them to the next pull. Its sync options are those it was last
 * opened with where they matter offline (`tablesIgnore` decides which changes stay local).
 */
function detachedSyncConfig(meta: SyncMetadata | undefined): SyncConfig | undefined {
  if (!meta) return undefined;
  return {
    url: null,
    clientName: 'walsync',
    tablesIgnore: meta.tablesIgnore ?? [],
    bootstrapIfEmpty: false,
    longPollTimeoutMs: 0,
    autoCheckpointBytes: DETACHED_AUTO_CHECKPOINT_BYTES,
    hasTransform: false,
    authToken: null,
    hasFetch: false,
    // Never used: without a url nothing goes to the network.
    timeouts: { silenceMs: 0, requestMs: 0, bootstrapWaitMs: 0 },
  };
}

/** How long a database must go without calls after a write before its WAL is checkpointed (see #scheduleIdleCheckpoint). */
const IDLE_CHECKPOINT_MS = 1000;

/**
 * How long an open's first steps may hold SQLite's init back (holdSqliteRuntimeLoad): they took
 * 30–50 ms on a loaded 2-core machine; when they wait longer (for files another tab still holds),
 * the init runs meanwhile.
 */
const FIRST_IO_HOLD_MS = 100;

/** connect()'s default for autoCheckpointBytes (src/options.ts). */
const DETACHED_AUTO_CHECKPOINT_BYTES = 8 * 1024 * 1024;

/** Progress of a download or a push, posted to the page beside Comlink's answers (see SyncStatus). */
export type ProgressMessage =
  | { readonly type: 'walsync:progress'; readonly kind: 'download'; readonly receivedBytes: number; readonly totalBytes: number | null }
  | { readonly type: 'walsync:progress'; readonly kind: 'upload'; readonly sentChanges: number; readonly totalChanges: number };

/** A token source that needs no round trip to the page: the token given at connect(), or none. */
function fixedToken(token: string | null): () => Promise<string | null> {
  const answer = Promise.resolve(token);
  return () => answer;
}
