/**
 * The sync engine for one database, in the worker: orders the phases and holds what passes between
 * them. Each phase is a function in its own file, with its crash argument at the top:
 * bootstrap.ts (open, bootstrap), pull.ts (download, reset check, apply), pull-recover.ts (replay,
 * undo, recovery on open), push.ts, reseed.ts (resetSync), push-queue.ts (pendingChanges,
 * discardChanges), checkpoint.ts. They share an EngineContext (engine-context.ts).
 * The worker host runs one operation at a time, so no phase ever interleaves with another or with
 * a user statement; network phases run beside the queue and touch only the network, the changes
 * file and the progress values kept here.
 */
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import type { PendingChange, SyncCallbacks, SyncConfig, SyncStats } from '../../contract/worker-api.js';
import { PAGE_SIZE } from '../connection.js';
import type { DatabaseFiles, LocalDatabase } from '../local-database.js';
import { type EarlyBootstrap, openSyncedFiles } from './bootstrap.js';
import type { ChangeCapture } from '../cdc/change-capture.js';
import { ChangesFileReader } from './changes-file.js';
import { checkpointSyncedDatabase } from './checkpoint.js';
import { EngineContext, tracerFor } from './engine-context.js';
import { killPoint } from './kill-points.js';
import type { MetadataStore } from './metadata.js';
import { type PullDownload, applyPull, downloadPull } from './pull.js';
import { recoverPull } from './pull-recover.js';
import { type PushChunk, type PushProgress, beginPush, finishPush, preparePushChunk, sendPushChunk } from './push.js';
import { discardChanges, pendingChanges, pushedUpTo } from './push-queue.js';
import type { SyncRemote } from '../protocol/remote.js';
import { type ReseedProgress, beginResetSync, finishResetSync, prepareResetSync, sendResetSyncChunk } from './reseed.js';
import { RevertStore } from './revert-store.js';

export interface SyncEngineDeps {
  readonly files: DatabaseFiles;
  readonly metadata: MetadataStore;
  readonly config: SyncConfig;
  readonly capture: ChangeCapture;
  readonly remoteFor: (url: string) => SyncRemote;
  readonly callbacks: SyncCallbacks | undefined;
  /** Opens the SQLite connection on the (possibly just bootstrapped) files. */
  readonly connect: () => LocalDatabase;
  /** The bootstrap's request, if the open sent it already (bootstrap.ts, startEarlyBootstrap). */
  readonly early?: EarlyBootstrap | null;
}

export class SyncEngine {
  readonly #deps: SyncEngineDeps;
  readonly #ctx: EngineContext;
  /** A finished pull download waiting for applyPull(). */
  #download: PullDownload | null = null;
  /** The push in progress, and the chunk prepared for sending. */
  #push: PushProgress | null = null;
  #pushChunk: PushChunk | null = null;
  /** The resetSync() in progress: the server checked (begin), then the database as statements (prepare). */
  #reseed: { readonly remote: SyncRemote; progress: ReseedProgress | null } | null = null;

  private constructor(deps: SyncEngineDeps, ctx: EngineContext) {
    this.#deps = deps;
    this.#ctx = ctx;
  }

  /**
   * Opens a synced database: creates its identity on first use, bootstraps from the server when
   * there is no local data, finishes a pull a crash interrupted, and starts change capture.
   */
  static async open(deps: SyncEngineDeps): Promise<SyncEngine> {
    const { files } = deps;
    const trace = tracerFor(deps.config, deps.callbacks, files.name);
    const callbacks = deps.callbacks;
    const bootstrapProgress = callbacks ? (received: number, total: number) => callbacks.bootstrapProgress(received, total) : undefined;
    const opened = await openSyncedFiles({ ...deps, trace, bootstrapProgress });
    const revert = new RevertStore(files.revert, PAGE_SIZE);
    const local = deps.connect();
    let engine: SyncEngine | null = null;
    const ctx = new EngineContext({
      files,
      local,
      capture: deps.capture,
      revert,
      config: deps.config,
      callbacks: deps.callbacks,
      store: deps.metadata,
      meta: opened.meta,
      afterWrite: () => engine!.afterWrite(),
      trace,
    });
    engine = new SyncEngine(deps, ctx);
    ctx.sentBytes = opened.sentBytes;
    ctx.receivedBytes = opened.receivedBytes;
    try {
      // The changes file's copy first: it was flushed before the WAL changed, while the browser may
      // have lost the IndexedDB one (which still serves once the changes file is cleared).
      const intent = ChangesFileReader.open(files.changes, PAGE_SIZE)?.intent() ?? opened.meta.pullIntent;
      if (intent) {
        trace('info', 'pull.recover', { revision: intent.revision, localEndFrame: intent.localEndFrame, applyEndFrame: intent.applyEndFrame });
        await recoverPull(ctx, intent);
      }
      // Lazily: the first query after an open does not wait for the capture triggers.
      deps.capture.enable(local.connection, true);
      local.setStatementObserver({
        around: (sql, run, readonly) => deps.capture.around(local.connection, sql, run, readonly),
        guard: (work) => deps.capture.guard(local.connection, work),
      });
    } catch (e) {
      local.close();
      throw e;
    }
    return engine;
  }

  get local(): LocalDatabase {
    return this.#ctx.local;
  }

  get clientId(): string {
    return this.#ctx.clientId;
  }

  /** A pull download waits for its apply, or a push or resetSync is between its phases: the WAL must stay as it is. */
  get syncInProgress(): boolean {
    return this.#download !== null || this.#push !== null || this.#reseed !== null;
  }

  // ── pull (pull.ts, pull-recover.ts) ──────────────────────────────────────────────────────────

  /**
   * Pull, network phase: streams the server's changes into the changes file. False if
   * `stopWaiting` cut a long poll short before the server answered (nothing to apply then).
   */
  async downloadPull(url: string, stopWaiting?: AbortSignal): Promise<boolean> {
    this.#download = null;
    this.#download = await downloadPull(this.#ctx, this.#deps.remoteFor(url), stopWaiting);
    return this.#download !== null;
  }

  /** Pull, local phase: installs what downloadPull() fetched. Resolves true if it brought changes. */
  async applyPull(): Promise<boolean> {
    this.#ctx.assertNoTransaction('pull');
    const download = this.#download;
    this.#download = null;
    if (!download) throw new WalsyncError('INTERNAL', 'applyPull() without a finished download');
    return applyPull(this.#ctx, download);
  }

  // ── push (push.ts) ───────────────────────────────────────────────────────────────────────────

  /** Push, network phase: reads this client's position on the server. */
  async beginPush(url: string): Promise<void> {
    this.#push = null;
    this.#pushChunk = null;
    this.#push = await beginPush(this.#ctx, this.#deps.remoteFor(url));
  }

  /** Push, local phase: the next chunk of whole transactions as statements; false when none is left. */
  async preparePushChunk(): Promise<boolean> {
    this.#ctx.assertNoTransaction('push');
    this.#pushChunk = await preparePushChunk(this.#ctx, this.#pushInProgress());
    return this.#pushChunk !== null;
  }

  /** Push, network phase: sends the prepared chunk in one server transaction. */
  async sendPushChunk(): Promise<void> {
    const push = this.#pushInProgress();
    const chunk = this.#pushChunk;
    if (!chunk || push.localPullGen === null) throw new WalsyncError('INTERNAL', 'sendPushChunk() without a prepared chunk');
    this.#pushChunk = null;
    try {
      await sendPushChunk(this.#ctx, push, chunk, push.localPullGen);
    } catch (e) {
      this.#push = null;
      throw e;
    }
  }

  /**
   * Progress of the push in flight: the logged changes it still has to send (after the server's
   * position), or null outside a push's local phases. Read it between phases, never during one.
   */
  pushRemaining(): number | null {
    const push = this.#push;
    if (!push || push.localPullGen === null) return null;
    return this.#ctx.capture.countAfter(this.#ctx.local.connection, push.last);
  }

  /** Push, local phase: records how far the server is. */
  async finishPush(): Promise<void> {
    const push = this.#pushInProgress();
    this.#push = null;
    this.#pushChunk = null;
    await finishPush(this.#ctx, push);
  }

  #pushInProgress(): PushProgress {
    if (!this.#push) throw new WalsyncError('INTERNAL', 'no push in progress');
    return this.#push;
  }

  // ── the push queue, as the app sees it (push-queue.ts) ───────────────────────────────────────

  /** Local changes not yet pushed (local-only ones excluded), oldest first. */
  pendingChanges(afterChangeId: number, limit: number): PendingChange[] {
    return pendingChanges(this.#ctx, afterChangeId, limit);
  }

  /** Removes pending changes from the push queue, all or none (push-queue.ts). */
  async discardChanges(changeIds: readonly number[]): Promise<number> {
    this.#ctx.assertNoTransaction('discard changes');
    return discardChanges(this.#ctx, changeIds);
  }

  // ── recovery from a reset server (reseed.ts) ─────────────────────────────────────────────────

  /** resetSync(), network phase: refuses a server that holds this client's pushes. */
  async beginResetSync(url: string): Promise<void> {
    this.#reseed = null;
    const remote = this.#deps.remoteFor(url);
    await beginResetSync(this.#ctx, remote);
    this.#reseed = { remote, progress: null };
  }

  /** resetSync(), local phase: marks the reseed pending and reads the whole database as statements. */
  async prepareResetSync(): Promise<void> {
    this.#ctx.assertNoTransaction('reset sync');
    const reseed = this.#reseedInProgress();
    reseed.progress = await prepareResetSync(this.#ctx, reseed.remote);
  }

  /** resetSync(), network phase: sends the next chunk; resolves true while chunks remain. */
  async sendResetSyncChunk(): Promise<boolean> {
    const reseed = this.#reseedInProgress();
    if (!reseed.progress) throw new WalsyncError('INTERNAL', 'sendResetSyncChunk() without a prepared reseed');
    try {
      reseed.progress = await sendResetSyncChunk(this.#ctx, reseed.progress);
    } catch (e) {
      this.#reseed = null;
      throw e;
    }
    return reseed.progress.sent < reseed.progress.chunks.length;
  }

  /** resetSync(), local phase: the database becomes one whose first pull brings the server's state. */
  async finishResetSync(): Promise<void> {
    const reseed = this.#reseedInProgress();
    this.#reseed = null;
    if (!reseed.progress) throw new WalsyncError('INTERNAL', 'finishResetSync() before every chunk was sent');
    await finishResetSync(this.#ctx, reseed.progress);
  }

  #reseedInProgress(): { readonly remote: SyncRemote; progress: ReseedProgress | null } {
    if (!this.#reseed) throw new WalsyncError('INTERNAL', 'no resetSync() in progress');
    return this.#reseed;
  }

  // ── checkpoint, stats ─────────────────────────────────────────────────────────────────────────

  async checkpoint(): Promise<{ framesCheckpointed: number }> {
    const ctx = this.#ctx;
    ctx.assertNoTransaction('checkpoint');
    let result: ReturnType<typeof checkpointSyncedDatabase>;
    try {
      result = checkpointSyncedDatabase({
        connection: ctx.local.connection,
        log: ctx.log(),
        revert: ctx.revert,
        watermark: ctx.meta.watermark,
        basePages: ctx.meta.basePages,
        step: (name) => killPoint(`checkpoint:${name}`),
      });
    } catch (e) {
      // The revert store counts its pages only once they are all written, and the WAL is cut only
      // after every page is in the database file: a failed checkpoint loses nothing.
      throw ctx.storageError(e, 'PRAGMA wal_checkpoint(TRUNCATE)', 'the checkpoint stopped and the log was kept: nothing was lost; free some space and checkpoint again');
    }
    await ctx.saveMeta({ ...ctx.meta, watermark: result.watermark });
    ctx.trace('info', 'checkpoint', { frames: result.framesCheckpointed, pagesSaved: result.pagesSaved });
    return { framesCheckpointed: result.framesCheckpointed };
  }

  /** Checkpoints when the WAL has grown past the configured size; the host calls it after writes. */
  async afterWrite(): Promise<void> {
    const limit = this.#deps.config.autoCheckpointBytes;
    if (limit > 0 && this.#deps.files.wal.size() > limit && this.#ctx.local.isAutocommit()) {
      try {
        await this.checkpoint();
      } catch (e) {
        // The write has committed: out of space, the log stays and the next write tries again.
        if (!isWalsyncError(e, 'QUOTA_EXCEEDED')) throw e;
      }
    }
  }

  stats(): SyncStats {
    const ctx = this.#ctx;
    const db = ctx.local.connection;
    return {
      cdcOperations: ctx.capture.countAfter(db, pushedUpTo(ctx, db)),
      mainWalSize: ctx.files.wal.size(),
      revertWalSize: ctx.files.revert.size(),
      lastPullUnixTime: ctx.meta.lastPullUnixTime,
      lastPushUnixTime: ctx.meta.lastPushUnixTime,
      revision: ctx.meta.revision,
      networkSentBytes: ctx.sentBytes,
      networkReceivedBytes: ctx.receivedBytes,
    };
  }
}
