/**
 * The sync engine: bootstrap, pull, push, checkpoint and stats for one database, in the worker.
 * Each phase is its own method with its crash-safety argument next to it. The worker host runs one
 * operation at a time, so no phase ever interleaves with another or with a user statement.
 */
import { v4 as uuidv4 } from 'uuid';
import { WalsyncError, isWalsyncError } from '../errors.js';
import type { LocalDatabase, DatabaseFiles } from '../local-database.js';
import type { DatabaseRowTransformResult, PendingChange, SyncCallbacks, SyncConfig, SyncStats } from '../rpc.js';
import { openSnapshotConnection, PAGE_SIZE } from '../connection.js';
import { newWalSalts, type WalLog } from '../vfs/wal-log.js';
import type { CapturedChange, ChangeCapture } from './change-capture.js';
import { ChangesFileReader, ChangesFileWriter } from './changes-file.js';
import { checkpointSyncedDatabase } from './checkpoint.js';
import { killPoint } from './kill-points.js';
import { type MetadataStore, type PullIntent, type SyncMetadata, newMetadata } from './metadata.js';
import { applyPullPlan, planPullApply, pullGroupInWal } from './pull-apply.js';
import { mergeUpserts } from './push-statements.js';
import type { HighWaterMark, PushStatement, SyncRemote } from './remote.js';
import { RevertStore } from './revert-store.js';
import { SyncedBase, effectiveWatermark } from './synced-base.js';
import { hasSyncRowOnTable, readSyncRow, writeSyncRow } from './sync-table.js';

/** Pages gathered into one file write while bootstrapping (1 MiB). */
const BOOTSTRAP_WRITE_PAGES = 256;
/** Changes read from the log per step: bounds memory on large logs. */
const CHANGE_BATCH = 1000;
/** A push sends at most about this many changes per server transaction, split between local transactions. */
const PUSH_CHUNK_CHANGES = 5000;

interface PushProgress {
  readonly remote: SyncRemote;
  /** This client's position on the server when the push began (null: the server has none). */
  readonly mark: HighWaterMark | null;
  /** The local change-log generation, read in the first local phase. */
  localPullGen: number | null;
  /** The last change id the server holds. */
  last: number;
  chunk: { statements: PushStatement[]; owners: CapturedChange[]; end: number; merged: boolean } | null;
  /** A chunk committed on the server during this push. */
  committed: boolean;
  /**
   * The server refused the net form of the chunk after `last` (PUSH_REJECTED as `error`): the next
   * chunk is prepared as logged, change by change, which the server may take where the net form
   * fails (a value moved through a third row under a UNIQUE constraint). If that is refused too,
   * the push fails with `error`, which names the net change: fixing or discarding it is the way on.
   */
  fallback: { error: unknown } | null;
}

export interface SyncEngineDeps {
  readonly files: DatabaseFiles;
  readonly metadata: MetadataStore;
  readonly config: SyncConfig;
  readonly capture: ChangeCapture;
  readonly remoteFor: (url: string) => SyncRemote;
  readonly callbacks: SyncCallbacks | undefined;
  /** Opens the SQLite connection on the (possibly just bootstrapped) files. */
  readonly connect: () => LocalDatabase;
}

export class SyncEngine {
  readonly #deps: SyncEngineDeps;
  readonly #revert: RevertStore;
  readonly #local: LocalDatabase;
  #meta: SyncMetadata;
  #sentBytes = 0;
  #receivedBytes = 0;
  /** A finished pull download waiting for applyPull(), with the server's first page when it must be checked. */
  #download: { changes: ChangesFileReader; serverFirstPage: Uint8Array | null | undefined } | null = null;
  /** The push in progress: the server's position, and the chunk being sent. */
  #push: PushProgress | null = null;

  private constructor(deps: SyncEngineDeps, local: LocalDatabase, meta: SyncMetadata, revert: RevertStore) {
    this.#deps = deps;
    this.#local = local;
    this.#meta = meta;
    this.#revert = revert;
  }

  /**
   * Opens a synced database: creates its identity on first use, bootstraps from the server when
   * there is no local data, finishes a pull a crash interrupted, and starts change capture.
   */
  static async open(deps: SyncEngineDeps): Promise<SyncEngine> {
    const bootstrapBytes = { sent: 0, received: 0 };
    const { files, config } = deps;
    let meta = await deps.metadata.load();
    if (!meta) {
      if (files.db.size() > 0 || files.wal.size() > 0) {
        throw new WalsyncError(
          'INVALID_ARGUMENT',
          'this database was created without sync; open it without "url", or give the synced database another path',
          { context: { path: files.name } },
        );
      }
      meta = newMetadata(`${config.clientName}-${uuidv4()}`);
      await deps.metadata.save(meta);
    }
    if (meta.bootstrapping && files.wal.size() > 0) {
      // The bootstrap finished (the connection, hence any WAL, exists only after it), but the browser
      // lost the record saying so, with its revision. Restarting it would wipe the local writes: keep
      // the downloaded database file as the base; the next pull, from no revision, brings the whole
      // remote database over it and replays the local changes.
      meta = { ...meta, bootstrapping: false, revision: null, basePages: Math.floor(files.db.size() / PAGE_SIZE), watermark: { frame: 0, salt1: 0, salt2: 0 } };
      await deps.metadata.save(meta);
    }
    if (meta.bootstrapping || (meta.revision === null && config.url !== null && config.bootstrapIfEmpty && isEmpty(files))) {
      const url = config.url;
      if (url === null) {
        meta = resetToEmpty(files, meta);
        await deps.metadata.save(meta);
      } else {
        try {
          const remote = deps.remoteFor(url);
          const before = { sent: remote.sentBytes, received: remote.receivedBytes };
          try {
            meta = await bootstrap(deps, meta, remote);
          } finally {
            bootstrapBytes.sent += remote.sentBytes - before.sent;
            bootstrapBytes.received += remote.receivedBytes - before.received;
          }
        } catch (e) {
          // Offline on first start: begin as an empty local database; the first pull brings the
          // remote state and replays what was written meanwhile.
          if (!isWalsyncError(e, 'NETWORK_ERROR')) throw e;
          meta = resetToEmpty(files, meta);
          await deps.metadata.save(meta);
        }
      }
    }
    const revert = new RevertStore(files.revert, PAGE_SIZE);
    const local = deps.connect();
    const engine = new SyncEngine(deps, local, meta, revert);
    engine.#sentBytes = bootstrapBytes.sent;
    engine.#receivedBytes = bootstrapBytes.received;
    try {
      // The changes file's copy first: it was flushed before the WAL changed, while the browser may
      // have lost the IndexedDB one (which still serves once the changes file is cleared).
      const intent = ChangesFileReader.open(files.changes, PAGE_SIZE)?.intent() ?? meta.pullIntent;
      if (intent) await engine.#recoverPull(intent);
      deps.capture.enable(local.connection);
      local.setStatementObserver({ around: (sql, run) => deps.capture.around(local.connection, sql, run) });
    } catch (e) {
      local.close();
      throw e;
    }
    return engine;
  }

  get local(): LocalDatabase {
    return this.#local;
  }

  get clientId(): string {
    return this.#meta.clientId;
  }

  // ── pull ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Pull (ARCHITECTURE.md §4). Download into the changes file (nothing local changes), record the
   * intent, append the rollback+apply commit group with the connection closed, reopen and replay
   * local changes in one transaction, then record the new base. Before the commit group is durable
   * a crash leaves the old state; after it, the intent lets the next open finish the pull.
   */
  async pull(url: string): Promise<boolean> {
    await this.downloadPull(url);
    return this.applyPull();
  }

  /**
   * Pull, network phase: streams the server's changes into the changes file. Touches neither the
   * database nor the metadata, so the worker keeps serving queries meanwhile.
   */
  async downloadPull(url: string): Promise<void> {
    this.#download = null;
    const remote = this.#deps.remoteFor(url);
    const changes = await this.#downloadChanges(remote);
    // "Nothing changed" under a new revision: harmless on a server whose state moved on without a
    // page (no page changed means its first page is still ours), but it is also what a server that
    // was reset answers, and pulling later changes of another database onto ours would corrupt it.
    // One small request tells the two apart: the server's header page at the new revision.
    const { revision } = changes.summary;
    const suspicious = changes.summary.pageCount === 0 && this.#meta.revision !== null && revision !== this.#meta.revision;
    const serverFirstPage = suspicious ? await this.#counted(remote, () => remote.readFirstPage(revision)) : undefined;
    this.#download = { changes, serverFirstPage };
    killPoint('pull:downloaded');
  }

  /** Pull, local phase: installs what downloadPull() fetched. Resolves true if it brought changes. */
  async applyPull(): Promise<boolean> {
    this.#assertNoTransaction('pull');
    const download = this.#download;
    this.#download = null;
    if (!download) throw new WalsyncError('INTERNAL', 'applyPull() without a finished download');
    const { changes } = download;
    if (download.serverFirstPage !== undefined) this.#assertSameDatabase(download.serverFirstPage, changes.summary.revision);
    // A discarded change is undone locally by a pull's rollback and replay: an empty answer does one
    // too while a discard waits for it (the base then equals the server, so the replay is exact).
    if (changes.summary.pageCount === 0 && !(this.#meta.rebaseOnPull && changes.summary.dbSizePages > 0)) {
      await this.#saveMeta({ ...this.#meta, revision: changes.summary.revision, lastPullUnixTime: nowSeconds() });
      changes.clear();
      return false;
    }
    const log = this.#log();
    const state = log.state();
    const base = new SyncedBase(log, state, this.#revert, effectiveWatermark(this.#meta.watermark, state), this.#meta.basePages);
    const plan = planPullApply({ log, state, base, revert: this.#revert, changes });
    const salts: [number, number] = state.header ? [state.header.salt1, state.header.salt2] : newWalSalts();
    const intent: PullIntent = {
      revision: changes.summary.revision,
      dbSizePages: plan.dbSizePages,
      localEndFrame: state.frames,
      applyEndFrame: state.frames + plan.frameCount,
      salt1: salts[0],
      salt2: salts[1],
      localPullGen: readSyncRow(this.#local.connection, this.clientId)?.pullGen ?? 0,
    };
    // Durable before the WAL changes: in the changes file, beside the data (what recovery reads),
    // and in the metadata (a fallback for the moment after the changes file is cleared).
    changes.writeIntent(intent);
    await this.#saveMeta({ ...this.#meta, pullIntent: intent });
    killPoint('pull:intent-saved');
    this.#local.closeConnection();
    try {
      applyPullPlan(log, state, plan, salts);
    } catch (e) {
      // Nothing durable happened unless the commit frame was flushed; #recoverPull sorts out which.
      this.#local.reopenConnection();
      await this.#recoverPull(intent);
      throw e;
    }
    killPoint('pull:applied');
    await this.#finishPull(intent);
    return true;
  }

  /**
   * Checks that the server's header page equals our synced base's (but for the schema cookie, which
   * every pull bumps locally): otherwise the server holds another database than the one we synced.
   */
  #assertSameDatabase(serverFirstPage: Uint8Array | null, revision: string): void {
    const log = this.#log();
    const state = log.state();
    const base = new SyncedBase(log, state, this.#revert, effectiveWatermark(this.#meta.watermark, state), this.#meta.basePages);
    const ours = base.page(1);
    const same =
      ours === null || serverFirstPage === null
        ? ours === serverFirstPage
        : ours.every((byte, i) => (i >= 40 && i < 44) || byte === serverFirstPage[i]);
    if (!same) throw serverResetError(revision, this.#meta.revision);
  }

  /** Streams the server's answer into the changes file; returns it ready to read. */
  async #downloadChanges(remote: SyncRemote): Promise<ChangesFileReader> {
    const response = await this.#counted(remote, () =>
      remote.pullUpdates(this.#meta.revision, this.#deps.config.longPollTimeoutMs),
    );
    const writer = new ChangesFileWriter(this.#deps.files.changes, PAGE_SIZE);
    await this.#counted(remote, async () => {
      for await (const page of response.pages) writer.add(page.pgno, page.data);
    });
    writer.finish(response.revision, response.dbSizePages);
    return ChangesFileReader.open(this.#deps.files.changes, PAGE_SIZE)!;
  }

  /**
   * Completes a pull whose commit group may or may not be durable. Not durable → forget the intent
   * (the old local state is intact). Durable → replay (unless the replay already committed), then
   * clear the revert store and record the new base.
   */
  async #recoverPull(intent: PullIntent): Promise<void> {
    if (!pullGroupInWal(this.#log().state(), intent)) {
      await this.#saveMeta({ ...this.#meta, pullIntent: null });
      this.#clearChanges();
      return;
    }
    await this.#finishPull(intent);
  }

  async #finishPull(intent: PullIntent): Promise<void> {
    this.#local.reopenConnection();
    const db = this.#local.connection;
    const replayed = (readSyncRow(db, this.clientId)?.pullGen ?? -1) === intent.localPullGen + 1;
    if (!replayed) {
      const attempt = { net: true, merged: false };
      try {
        await this.#replayLocalChanges(intent, attempt);
      } catch (e) {
        // The net form of the changes failed on the pulled data: try them as logged (the replay
        // rolled back), which can succeed where the net form fails (see PushProgress.fallback).
        // If that fails too, the error names the net change: fix or discard it.
        let failure = e;
        if (attempt.merged && isWalsyncError(e) && e.context.changeIds !== undefined) {
          failure = await this.#replayLocalChanges(intent, { net: false, merged: false }).then(
            () => null,
            () => e,
          );
        }
        if (failure !== null) {
          await this.#undoPull(intent);
          throw failure;
        }
      }
    }
    killPoint('pull:replayed');
    // The base now lives in WAL frames ≤ applyEndFrame; the saved pre-images are obsolete.
    this.#revert.clear();
    killPoint('pull:revert-cleared');
    await this.#saveMeta({
      ...this.#meta,
      revision: intent.revision,
      watermark: { frame: intent.applyEndFrame, salt1: intent.salt1, salt2: intent.salt2 },
      basePages: intent.dbSizePages,
      pullIntent: null,
      lastPullUnixTime: nowSeconds(),
      lastPushedChangeId: 0,
      lastPushedPullGen: intent.localPullGen + 1,
      rebaseOnPull: false,
    });
    this.#clearChanges();
    killPoint('pull:finished');
    await this.afterWrite();
  }

  /**
   * Replays local changes the server does not have yet on top of the pulled state, in one
   * transaction. The old local state is read from a snapshot of the WAL cut at the intent's local
   * end frame; the replay re-captures every change into a fresh log (new ids, generation + 1).
   */
  async #replayLocalChanges(intent: PullIntent, attempt: { readonly net: boolean; merged: boolean }): Promise<void> {
    const { capture, files } = this.#deps;
    const runtime = this.#local.runtime;
    const db = this.#local.connection;
    const remoteRow = readSyncRow(db, this.clientId);
    if (remoteRow && remoteRow.pullGen > intent.localPullGen) {
      throw new WalsyncError('PROTOCOL_ERROR', `the server knows change-log generation ${remoteRow.pullGen} of this client, which is newer than the local ${intent.localPullGen}`);
    }
    if (this.#meta.pushedToServer && !hasSyncRowOnTable(db, this.clientId)) {
      // Our pushes left our row on the server for good; a state without it is another database
      // (pages of two databases mixed: hence a scan of the table itself, not of its index).
      // Thrown before the replay: the caller undoes the pull, so nothing changes here.
      throw serverResetError(intent.revision, this.#meta.revision);
    }
    const floor = remoteRow && remoteRow.pullGen === intent.localPullGen ? remoteRow.changeId : 0;
    const snapshotName = `${files.name}-snapshot`;
    runtime.vfs.registerFile(snapshotName, this.#log().snapshotAt(intent.localEndFrame));
    const snapshot = openSnapshotConnection(runtime.sqlite3, snapshotName);
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        capture.enable(db);
        // From the log's start: local-only changes below the floor never reached the server, so
        // they come back only by replay (the rollback removed them with everything local).
        for (let after = 0; ; ) {
          const read = capture.read(snapshot, after, CHANGE_BATCH);
          if (read.length === 0) break;
          after = read[read.length - 1]!.changeId;
          const pending = read.filter((change) => change.changeId > floor || change.localOnly);
          // The net effect per row, within this batch of the log.
          const batch = attempt.net ? capture.coalesce(db, pending) : pending;
          if (batch.length !== pending.length || batch.some((c) => c.changeIds.length > 1)) attempt.merged = true;
          const results = await this.#transform(db, batch);
          batch.forEach((change, i) => {
            for (const stmt of capture.replayStatements(db, change, results[i]!)) {
              try {
                capture.around(db, stmt.sql, () => db.exec({ sql: stmt.sql, bind: stmt.args as never }));
              } catch (e) {
                throw new WalsyncError('SQLITE_ERROR', `a local change could not be replayed on the pulled data: ${sqliteMessage(e)} (change ${describeIds(change)} on table ${change.tableName}); the pull was undone: fix the row locally, or discard the change (discardChange) or skip or rewrite it with transform`, {
                  context: { changeId: change.changeId, changeIds: [...change.changeIds], tableName: change.tableName, sql: stmt.sql },
                  cause: e,
                });
              }
            }
          });
        }
        writeSyncRow(db, this.clientId, { pullGen: intent.localPullGen + 1, changeId: 0 });
        db.exec('COMMIT');
      } catch (e) {
        if (!this.#local.isAutocommit()) db.exec('ROLLBACK');
        throw e;
      }
    } finally {
      snapshot.close();
      runtime.vfs.unregisterFile(snapshotName);
    }
  }

  /** Cuts the WAL back to the pre-pull local state: as if the pull never happened. */
  async #undoPull(intent: PullIntent): Promise<void> {
    this.#local.closeConnection();
    this.#log().truncateAt(intent.localEndFrame);
    this.#local.reopenConnection();
    this.#deps.capture.enable(this.#local.connection);
    await this.#saveMeta({ ...this.#meta, pullIntent: null });
    this.#clearChanges();
  }

  // ── push ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Push (ARCHITECTURE.md §5): read this client's high-water mark on the server, send the local
   * changes above it as SQL in all-or-nothing server transactions that also move the mark.
   * A lost response is harmless: the next push re-reads the mark and resumes after it.
   * The phases alternate between network (no database access) and local work, so the worker
   * keeps serving queries while a push waits for the server.
   */
  async push(url: string): Promise<void> {
    await this.beginPush(url);
    while (await this.preparePushChunk()) await this.sendPushChunk();
    await this.finishPush();
  }

  /** Push, network phase: reads this client's position on the server. */
  async beginPush(url: string): Promise<void> {
    this.#push = null;
    const remote = this.#deps.remoteFor(url);
    const mark = await this.#counted(remote, () => remote.readHighWater(this.clientId));
    this.#push = { remote, mark, localPullGen: null, last: 0, chunk: null, committed: false, fallback: null };
  }

  /** Push, local phase: the next chunk of whole transactions as statements; false when none is left. */
  async preparePushChunk(): Promise<boolean> {
    this.#assertNoTransaction('push');
    const push = this.#pushInProgress();
    const db = this.#local.connection;
    const { capture } = this.#deps;
    if (push.localPullGen === null) {
      // Read under the local phase: a pull between the phases would have moved it (pushes and pulls
      // do not overlap, so it is stable from here to finishPush()).
      const localPullGen = readSyncRow(db, this.clientId)?.pullGen ?? 0;
      const { mark } = push;
      if (mark && mark.pullGen > localPullGen) {
        throw new WalsyncError('PROTOCOL_ERROR', `the server knows change-log generation ${mark.pullGen} of this client, which is newer than the local ${localPullGen}`);
      }
      push.localPullGen = localPullGen;
      push.last = mark && mark.pullGen === localPullGen ? mark.changeId : 0;
    }
    const logged = readWholeTransactions(capture, db, push.last, PUSH_CHUNK_CHANGES);
    if (logged.length === 0) {
      push.chunk = null;
      return false;
    }
    // The net effect per row, so that a row fixed after a refusal goes as fixed (net-changes.ts);
    // as logged when the server refused the net form of this chunk.
    const chunk = push.fallback ? logged : capture.coalesce(db, logged);
    const merged = chunk.length !== logged.length || chunk.some((c) => c.changeIds.length > 1);
    const results = await this.#transform(db, chunk);
    const statements: PushStatement[] = [];
    const owners: CapturedChange[] = [];
    chunk.forEach((change, i) => {
      for (const stmt of capture.pushStatements(db, change, results[i]!)) {
        statements.push(stmt);
        owners.push(change);
      }
    });
    push.chunk = { statements, owners, end: logged[logged.length - 1]!.changeId, merged };
    return true;
  }

  /** Push, network phase: sends the prepared chunk in one server transaction. */
  async sendPushChunk(): Promise<void> {
    const push = this.#pushInProgress();
    const chunk = push.chunk;
    if (!chunk || push.localPullGen === null) throw new WalsyncError('INTERNAL', 'sendPushChunk() without a prepared chunk');
    const mark = { pullGen: push.localPullGen, changeId: chunk.end };
    const send = (statements: readonly PushStatement[]) =>
      this.#counted(push.remote, () => push.remote.push(statements, this.clientId, mark));
    const merged = mergeUpserts(chunk.statements);
    try {
      try {
        await send(merged.statements);
      } catch (e) {
        const refused = isWalsyncError(e, 'PUSH_REJECTED') ? merged.sources[Number(e.context.statementIndex)] : undefined;
        if (!refused || refused.length === 1) throw nameRejectedChange(e, chunk.statements, chunk.owners, refused?.[0]);
        // A refused multi-row statement does not say which row: nothing was applied, so send the
        // chunk again one statement per change, to name the change the server refuses.
        try {
          await send(chunk.statements);
        } catch (exact) {
          throw nameRejectedChange(exact, chunk.statements, chunk.owners);
        }
      }
    } catch (e) {
      push.chunk = null;
      if (isWalsyncError(e, 'PUSH_REJECTED') && chunk.merged && !push.fallback) {
        // Nothing was applied: the next prepare sends this chunk as logged (see PushProgress.fallback).
        push.fallback = { error: e };
        return;
      }
      const error = isWalsyncError(e, 'PUSH_REJECTED') && push.fallback ? push.fallback.error : e;
      this.#push = null;
      throw error;
    }
    push.fallback = null;
    push.last = chunk.end;
    push.chunk = null;
    push.committed = true;
    killPoint('push:sent');
  }

  /**
   * Progress of the push in flight: the logged changes it still has to send (after the server's
   * position), or null outside a push's local phases. Read it between phases, never during one.
   */
  pushRemaining(): number | null {
    const push = this.#push;
    if (!push || push.localPullGen === null) return null;
    return this.#deps.capture.countAfter(this.#local.connection, push.last);
  }

  /** Push, local phase: records how far the server is. */
  async finishPush(): Promise<void> {
    const push = this.#pushInProgress();
    this.#push = null;
    killPoint('push:before-metadata');
    await this.#saveMeta({
      ...this.#meta,
      lastPushedChangeId: push.last,
      lastPushedPullGen: push.localPullGen ?? this.#meta.lastPushedPullGen,
      lastPushUnixTime: nowSeconds(),
      pushedToServer: this.#meta.pushedToServer === true || push.committed,
    });
  }

  // ── the push queue, as the app sees it ────────────────────────────────────────────────────────

  /** Local changes not yet pushed (local-only ones excluded), oldest first. */
  pendingChanges(afterChangeId: number, limit: number): PendingChange[] {
    const db = this.#local.connection;
    const { capture } = this.#deps;
    const out: PendingChange[] = [];
    for (let after = Math.max(afterChangeId, this.#pushedUpTo(db)); out.length < limit; ) {
      const read = capture.read(db, after, Math.min(CHANGE_BATCH, limit - out.length));
      if (read.length === 0) break;
      after = read[read.length - 1]!.changeId;
      for (const change of read) if (!change.localOnly) out.push(capture.describe(db, change));
    }
    return out;
  }

  /**
   * Removes pending changes from the push queue, all or none: they are never pushed. Their effect
   * stays in the local database until the next pull, whose rollback and replay (without them)
   * undoes it; that pull does a rollback and replay even if the server has nothing new.
   */
  async discardChanges(changeIds: readonly number[]): Promise<number> {
    this.#assertNoTransaction('discard changes');
    const db = this.#local.connection;
    const { capture } = this.#deps;
    const ids = [...new Set(changeIds)];
    const pushedUpTo = this.#pushedUpTo(db);
    const pending = new Set<number>();
    for (const id of ids) {
      if (!Number.isSafeInteger(id)) throw new WalsyncError('INVALID_ARGUMENT', `discardChange(): ${String(id)} is not a change id`, { context: { changeId: String(id) } });
      const [change] = capture.read(db, id - 1, 1);
      if (change && change.changeId === id && id > pushedUpTo && !change.localOnly) pending.add(id);
    }
    const missing = ids.filter((id) => !pending.has(id));
    if (missing.length > 0) {
      throw new WalsyncError('INVALID_ARGUMENT', `discardChange(): change ${missing.join(', ')} is not waiting to be pushed (pushed already, discarded, local-only, or never logged); nothing was discarded`, {
        context: { changeIds: missing },
      });
    }
    if (ids.length === 0) return 0;
    // The mark first: a crash after it and before the delete costs one needless rollback and replay.
    if (!this.#meta.rebaseOnPull) await this.#saveMeta({ ...this.#meta, rebaseOnPull: true });
    db.exec('BEGIN IMMEDIATE');
    try {
      const removed = capture.discard(db, ids);
      db.exec('COMMIT');
      return removed;
    } catch (e) {
      if (!this.#local.isAutocommit()) db.exec('ROLLBACK');
      throw e;
    }
  }

  /** The last local change id the server holds, as far as this client knows. */
  #pushedUpTo(db: LocalDatabase['connection']): number {
    const localPullGen = readSyncRow(db, this.clientId)?.pullGen ?? 0;
    return this.#meta.lastPushedPullGen === localPullGen ? this.#meta.lastPushedChangeId : 0;
  }

  #pushInProgress(): PushProgress {
    if (!this.#push) throw new WalsyncError('INTERNAL', 'no push in progress');
    return this.#push;
  }

  // ── checkpoint, stats ─────────────────────────────────────────────────────────────────────────

  async checkpoint(): Promise<{ framesCheckpointed: number }> {
    this.#assertNoTransaction('checkpoint');
    const result = checkpointSyncedDatabase({
      connection: this.#local.connection,
      log: this.#log(),
      revert: this.#revert,
      watermark: this.#meta.watermark,
      basePages: this.#meta.basePages,
      step: (name) => killPoint(`checkpoint:${name}`),
    });
    await this.#saveMeta({ ...this.#meta, watermark: result.watermark });
    return { framesCheckpointed: result.framesCheckpointed };
  }

  /** Checkpoints when the WAL has grown past the configured size; the host calls it after writes. */
  async afterWrite(): Promise<void> {
    const limit = this.#deps.config.autoCheckpointBytes;
    if (limit > 0 && this.#deps.files.wal.size() > limit && this.#local.isAutocommit()) {
      await this.checkpoint();
    }
  }

  stats(): SyncStats {
    const db = this.#local.connection;
    return {
      cdcOperations: this.#deps.capture.countAfter(db, this.#pushedUpTo(db)),
      mainWalSize: this.#deps.files.wal.size(),
      revertWalSize: this.#deps.files.revert.size(),
      lastPullUnixTime: this.#meta.lastPullUnixTime,
      lastPushUnixTime: this.#meta.lastPushUnixTime,
      revision: this.#meta.revision,
      networkSentBytes: this.#sentBytes,
      networkReceivedBytes: this.#receivedBytes,
    };
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────────

  #log(): WalLog {
    return this.#local.walLog();
  }

  /** Forgets the download and the intent in it, durably (a stale intent must not come back). */
  #clearChanges(): void {
    this.#deps.files.changes.truncate(0);
    this.#deps.files.changes.flush();
  }

  async #saveMeta(meta: SyncMetadata): Promise<void> {
    await this.#deps.metadata.save(meta);
    this.#meta = meta;
  }

  #assertNoTransaction(operation: string): void {
    if (!this.#local.isAutocommit()) {
      throw new WalsyncError('INVALID_ARGUMENT', `cannot ${operation} while a transaction is open; commit or roll it back first`);
    }
  }

  /** Runs remote work and adds the bytes it moved to this engine's counters. */
  async #counted<T>(remote: SyncRemote, work: () => Promise<T>): Promise<T> {
    const sent = remote.sentBytes;
    const received = remote.receivedBytes;
    try {
      return await work();
    } finally {
      this.#sentBytes += remote.sentBytes - sent;
      this.#receivedBytes += remote.receivedBytes - received;
    }
  }

  /** Asks the app's transform hook about a batch of changes (local-only ones are always kept). */
  async #transform(db: LocalDatabase['connection'], changes: readonly CapturedChange[]): Promise<DatabaseRowTransformResult[]> {
    const results: DatabaseRowTransformResult[] = changes.map(() => null);
    const callbacks = this.#deps.callbacks;
    if (!this.#deps.config.hasTransform || !callbacks) return results;
    const asked: number[] = [];
    const mutations = [];
    for (let i = 0; i < changes.length; i++) {
      const m = this.#deps.capture.mutation(db, changes[i]!);
      if (m) {
        asked.push(i);
        mutations.push(m);
      }
    }
    if (mutations.length === 0) return results;
    const answers = await callbacks.transform(mutations);
    if (!Array.isArray(answers) || answers.length !== mutations.length) {
      throw new WalsyncError('INVALID_ARGUMENT', 'the transform hook must give one result per change');
    }
    asked.forEach((index, k) => {
      results[index] = answers[k] ?? null;
    });
    return results;
  }
}

/** Reads up to about `limit` changes after `after`, never ending in the middle of a transaction. */
function readWholeTransactions(capture: ChangeCapture, db: LocalDatabase['connection'], after: number, limit: number): CapturedChange[] {
  const out = capture.read(db, after, limit);
  if (out.length < limit) return out;
  // Extend to the end of the last transaction.
  for (;;) {
    const lastTxn = out[out.length - 1]!.txnId;
    const more = capture.read(db, out[out.length - 1]!.changeId, CHANGE_BATCH);
    const sameTxn = more.filter((c) => c.txnId === lastTxn);
    out.push(...sameTxn);
    if (sameTxn.length < more.length || more.length < CHANGE_BATCH) return out;
  }
}

/** Adds the refused change's identity to a PUSH_REJECTED error. */
function nameRejectedChange(
  e: unknown,
  statements: readonly PushStatement[],
  owners: readonly CapturedChange[],
  statementIndex?: number,
): unknown {
  if (!isWalsyncError(e, 'PUSH_REJECTED')) return e;
  const index = statementIndex ?? Number(e.context.statementIndex ?? -1);
  const change = owners[index];
  if (!change) return e;
  return new WalsyncError(
    'PUSH_REJECTED',
    `the server refused local change ${describeIds(change)} on table ${change.tableName}: ${e.message}; nothing of this push was applied`,
    {
      context: {
        ...e.context,
        statementIndex: index,
        changeId: change.changeId,
        changeIds: [...change.changeIds],
        tableName: change.tableName,
        sql: statements[index]?.sql,
        isSchemaChange: change.isSchemaChange,
      },
      cause: e,
    },
  );
}

/** "7", or "3 (with 5, 9)" for a net change that stands for several logged ones. */
function describeIds(change: CapturedChange): string {
  const others = change.changeIds.filter((id) => id !== change.changeId);
  return others.length === 0 ? String(change.changeId) : `${change.changeId} (with ${others.join(', ')})`;
}

async function bootstrap(deps: SyncEngineDeps, meta: SyncMetadata, remote: SyncRemote): Promise<SyncMetadata> {
  const { files } = deps;
  const started = { ...meta, bootstrapping: true };
  await deps.metadata.save(started);
  files.db.truncate(0);
  files.wal.truncate(0);
  files.revert.truncate(0);
  // On the first connect the app is waiting: a server slow to answer means starting empty instead.
  const response = await remote.pullUpdates(null, 0, { answerWithin: { ms: deps.config.timeouts.bootstrapWaitMs, limit: 'bootstrapWaitMs' } });
  // Runs of consecutive pages go to the file in one write (servers send them mostly in order).
  const run = new Uint8Array(BOOTSTRAP_WRITE_PAGES * PAGE_SIZE);
  let runStart = 0;
  let runPages = 0;
  const flushRun = () => {
    if (runPages > 0) files.db.write(run.subarray(0, runPages * PAGE_SIZE), (runStart - 1) * PAGE_SIZE);
    runPages = 0;
  };
  for await (const page of response.pages) {
    if (page.data.length !== PAGE_SIZE) throw new WalsyncError('PROTOCOL_ERROR', `the server sent a ${page.data.length}-byte page`);
    if (runPages === BOOTSTRAP_WRITE_PAGES || (runPages > 0 && page.pgno !== runStart + runPages)) flushRun();
    if (runPages === 0) runStart = page.pgno;
    run.set(page.data, runPages * PAGE_SIZE);
    runPages++;
  }
  flushRun();
  files.db.truncate(response.dbSizePages * PAGE_SIZE);
  files.db.flush();
  killPoint('bootstrap:pages-written');
  const done: SyncMetadata = {
    ...started,
    bootstrapping: false,
    revision: response.revision,
    basePages: response.dbSizePages,
    watermark: { frame: 0, salt1: 0, salt2: 0 },
    lastPullUnixTime: nowSeconds(),
  };
  await deps.metadata.save(done);
  return done;
}

function serverResetError(revision: string, syncedRevision: string | null): WalsyncError {
  return new WalsyncError(
    'SERVER_RESET',
    `the sync server no longer has the database this copy was synced with (revision ${revision} after ${syncedRevision ?? 'none'} is another database): it was reset or replaced. Nothing was changed here; delete this local database and connect again to start from the server's data, or point it back at the right server`,
    { context: { revision, syncedRevision } },
  );
}

function resetToEmpty(files: DatabaseFiles, meta: SyncMetadata): SyncMetadata {
  files.db.truncate(0);
  files.wal.truncate(0);
  files.revert.truncate(0);
  files.db.flush();
  return { ...meta, bootstrapping: false, revision: null, basePages: 0, watermark: { frame: 0, salt1: 0, salt2: 0 } };
}

function isEmpty(files: DatabaseFiles): boolean {
  return files.db.size() === 0 && files.wal.size() === 0;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function sqliteMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
