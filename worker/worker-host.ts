/**
 * The object the worker exposes to the facade. It runs one operation at a time: calls queue up in
 * arrival order, so no statement ever interleaves with another or with a sync step.
 */
import { transfer } from 'comlink';
import { WalsyncError } from './errors.js';
import { LocalDatabase, closeDatabaseFiles } from './local-database.js';
import type {
  BatchMode,
  BatchRequest,
  BatchResults,
  BindArgs,
  CheckpointResult,
  LocalStats,
  OpenRequest,
  OpenResult,
  PendingChange,
  QueryResult,
  RunResult,
  SqlValue,
  SyncCallbacks,
  SyncStats,
  WorkerApi,
} from './rpc.js';
import { epochNow, loadSqliteRuntime, runtimeReadyAt } from './sqlite-module.js';
import { createChangeCapture } from './cdc/change-capture-adapter.js';
import { HttpSyncRemote } from './engine/http-sync-remote.js';
import { type KillPoint, armKillPoint } from './engine/kill-points.js';
import { IdbMetadataStore } from './engine/metadata.js';
import type { SyncRemote } from './engine/remote.js';
import { SyncEngine } from './engine/sync-engine.js';
import { proxiedFetch } from './protocol/proxied-fetch.js';

export class WorkerHost implements WorkerApi {
  #database: LocalDatabase | null = null;
  #engine: SyncEngine | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  /** When this worker's script ran (epoch ms), for OpenResult.startup. */
  readonly #workerReady: number;

  constructor(workerReady = epochNow()) {
    this.#workerReady = workerReady;
  }

  open(request: OpenRequest, callbacks?: SyncCallbacks): Promise<OpenResult> {
    return this.#serial(async () => {
      if (this.#database) throw new WalsyncError('INTERNAL', 'this worker already has a database open');
      const started = performance.now();
      const sync = request.sync;
      // A synced database's record is read from IndexedDB while the wasm loads and the files open.
      const metadata = sync ? new IdbMetadataStore(request.path) : null;
      const metadataRead = metadata?.load();
      metadataRead?.catch(() => undefined); // reported where the engine awaits it
      const runtime = await loadSqliteRuntime();
      if (!sync) {
        this.#database = await LocalDatabase.open(runtime, request);
      } else {
        if (request.storage !== 'opfs') throw new WalsyncError('INVALID_ARGUMENT', 'only OPFS databases can sync');
        const files = await LocalDatabase.openFiles(runtime, request.path, request.lockWaitMs);
        const remotes = new Map<string, SyncRemote>();
        try {
          this.#engine = await SyncEngine.open({
            files,
            metadata: { load: () => metadataRead!, save: (m) => metadata!.save(m), remove: () => metadata!.remove() },
            config: sync,
            capture: createChangeCapture(runtime.sqlite3, sync.tablesIgnore),
            callbacks,
            remoteFor: (url) => {
              const known = remotes.get(url);
              if (known) return known;
              const remote = new HttpSyncRemote(
                url,
                () => callbacks?.authToken() ?? Promise.resolve(null),
                sync.timeouts,
                sync.hasFetch && callbacks ? proxiedFetch(callbacks) : undefined,
              );
              remotes.set(url, remote);
              return remote;
            },
            connect: () => LocalDatabase.fromFiles(runtime, request, files),
          });
        } catch (e) {
          closeDatabaseFiles(runtime, files);
          throw e;
        }
        this.#database = this.#engine.local;
      }
      return { openMs: performance.now() - started, startup: { workerReady: this.#workerReady, wasmReady: runtimeReadyAt(), opened: epochNow() } };
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
    return this.#write(() => this.#open().all(sql, args));
  }

  get(sql: string, args: BindArgs): Promise<{ columns: string[]; row: SqlValue[] | undefined }> {
    return this.#write(() => this.#open().get(sql, args));
  }

  run(sql: string, args: BindArgs): Promise<RunResult> {
    return this.#write(() => this.#open().run(sql, args));
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
  pullDownload(url: string): Promise<void> {
    return this.#network(() => this.#syncEngine().downloadPull(url));
  }

  pullApply(): Promise<boolean> {
    return this.#serial(() => this.#syncEngine().applyPull());
  }

  pushBegin(url: string): Promise<void> {
    return this.#network(() => this.#syncEngine().beginPush(url));
  }

  pushPrepare(): Promise<boolean> {
    return this.#serial(() => this.#syncEngine().preparePushChunk());
  }

  pushSend(): Promise<void> {
    return this.#network(() => this.#syncEngine().sendPushChunk());
  }

  pushFinish(): Promise<void> {
    return this.#serial(() => this.#syncEngine().finishPush());
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
    return this.#serial(() => {
      const db = this.#database;
      this.#database = null;
      this.#engine = null;
      db?.close();
    });
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

  /** A user statement; afterwards a synced database may checkpoint if its WAL grew too large. */
  #write<T>(op: () => T): Promise<T> {
    return this.#serial(async () => {
      const result = op();
      await this.#engine?.afterWrite();
      return result;
    });
  }

  /** Network work: waits for the operations queued before it to start (an open() must finish), then runs beside the queue. */
  async #network<T>(op: () => Promise<T>): Promise<T> {
    await this.#tail;
    return op();
  }

  #serial<T>(op: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(op);
    // The queue continues after a failure; the caller still sees the error.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
