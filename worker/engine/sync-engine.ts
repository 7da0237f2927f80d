/**
 * The sync engine: bootstrap, pull, push, checkpoint and stats for one database, in the worker.
 * Each phase is its own method with its crash-safety argument next to it. The worker host runs one
 * operation at a time, so no phase ever interleaves with another or with a user statement.
 */
import { v4 as uuidv4 } from 'uuid';
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import type { LocalDatabase, DatabaseFiles } from '../local-database.js';
import type { DatabaseRowTransformResult, PendingChange, SyncCallbacks, SyncConfig, SyncStats } from '../../contract/worker-api.js';
import { openSnapshotConnection, PAGE_SIZE } from '../connection.js';
import { runWithValues } from '../sql/bind-args.js';
import { newWalSalts, type WalLog } from '../vfs/wal-log.js';
import type { CapturedChange, ChangeCapture } from './change-capture.js';
import { ChangesFileReader, ChangesFileWriter } from './changes-file.js';
import { checkpointSyncedDatabase } from './checkpoint.js';
import { killPoint } from './kill-points.js';
import { type MetadataStore, type PullIntent, type SyncMetadata, newMetadata } from './metadata.js';
import { applyPullPlan, planPullApply, pullGroupInWal } from './pull-apply.js';
import { mergeUpserts } from './push-statements.js';
import { lastChangeId, rowStatements, schemaStatements } from '../cdc/full-state.js';
import type { HighWaterMark, PushStatement, SyncRemote } from './remote.js';
import { RevertStore } from './revert-store.js';
import { SyncedBase, effectiveWatermark } from './synced-base.js';
import { type SyncRow, hasSyncRowOnTable, readSyncRow, readSyncRowOnTable, writeSyncRow } from './sync-table.js';
import { PulledStateFileStore } from './pulled-state.js';

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
  /** For a client that never pushed: some of the server's pages as of our revision, to compare with our base's. */
  serverPages?: ServerPages;
}

/** Pages read from the server as of one revision (a page it does not have then is absent). */
interface ServerPages {
  readonly pgnos: readonly number[];
  readonly pages: ReadonlyMap<number, Uint8Array>;
  /** The server does not know the revision at all: its history never reached ours. */
  readonly unknownRevision?: boolean;
}

/** Pages of our base compared with the server's as of our revision: the first few, and a few a pull overwrites. */
const HISTORY_SAMPLE_PAGES = 4;

interface ReseedProgress {
  readonly remote: SyncRemote;
  chunks: PushStatement[][];
  sent: number;
  /** The position the last chunk records: every local change up to it is in the statements. */
  mark: HighWaterMark | null;
}

/** resetSync() sends the whole database in server transactions of at most this many statements. */
const RESEED_CHUNK_STATEMENTS = 5000;

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
  /** A finished pull download waiting for applyPull(), with the server's pages to check our base against. */
  #download: { changes: ChangesFileReader; serverPages: ServerPages | undefined } | null = null;
  /** The push in progress: the server's position, and the chunk being sent. */
  #push: PushProgress | null = null;
  /** The resetSync() in progress: the whole database as statements, sent a chunk at a time. */
  #reseed: ReseedProgress | null = null;

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
    if (!sameNames(meta.tablesIgnore ?? [], config.tablesIgnore)) {
      meta = { ...meta, tablesIgnore: [...config.tablesIgnore] };
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
      local.setStatementObserver({
        around: (sql, run) => deps.capture.around(local.connection, sql, run),
        guard: (work) => deps.capture.guard(local.connection, work),
      });
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
    this.#assertNoReseedPending();
    const remote = this.#deps.remoteFor(url);
    let changes: ChangesFileReader;
    try {
      changes = await this.#downloadChanges(remote);
    } catch (e) {
      // An unfinished download is of no use: give its space back (a server streaming pages
      // without end stops here too, at the quota).
      this.#deps.files.changes.truncate(0);
      throw this.#storageError(e, 'pull download', 'the pull was not applied and nothing changed here');
    }
    // "Nothing changed" under a new revision: harmless on a server whose state moved on without a
    // page (no page changed means its first page is still ours), but it is also what a server that
    // was reset answers, and pulling later changes of another database onto ours would corrupt it.
    // One small request tells the two apart: the server's header page at the new revision.
    const { revision } = changes.summary;
    const synced = this.#meta.revision;
    const suspicious = changes.summary.pageCount === 0 && synced !== null && revision !== synced;
    let serverPages: ServerPages | undefined;
    if (suspicious) {
      const page = await this.#counted(remote, () => remote.readFirstPage(revision));
      serverPages = { pgnos: [1], pages: new Map(page ? [[1, page]] : []) };
      // The server's header can look like ours (same tables); our position row cannot.
      if (this.#meta.pushedToServer) {
        const mark = await this.#counted(remote, () => remote.readHighWater(this.clientId));
        if (!holdsOurPushes(this.#meta, mark)) throw serverResetError(revision, synced);
      }
    } else if (changes.summary.pageCount > 0 && synced !== null && this.#meta.pushedToServer !== true) {
      // A client that never pushed has no row to look for in the pulled state (see applyPull): the
      // server's pages as of our revision (a sample, among them pages this pull overwrites) must
      // be our base's, else the server has another history.
      serverPages = await this.#readServerPages(remote, synced, changes.pgnos());
    }
    this.#download = { changes, serverPages };
    killPoint('pull:downloaded');
  }

  /** Pull, local phase: installs what downloadPull() fetched. Resolves true if it brought changes. */
  async applyPull(): Promise<boolean> {
    this.#assertNoTransaction('pull');
    const download = this.#download;
    this.#download = null;
    if (!download) throw new WalsyncError('INTERNAL', 'applyPull() without a finished download');
    const { changes } = download;
    if (download.serverPages !== undefined) this.#assertSameDatabase(download.serverPages, changes.summary.revision);
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
    if (this.#meta.pushedToServer === true) this.#assertPulledStateHoldsOurPushes(base, changes);
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
      const error = this.#storageError(e, 'pull apply', 'the pull was undone and nothing changed here');
      this.#dropUnfinishedCommitGroup(intent);
      this.#local.reopenConnection();
      await this.#recoverPull(intent);
      // The reopened connection needs its capture triggers, whichever way the recovery went.
      this.#deps.capture.enable(this.#local.connection);
      throw error;
    }
    killPoint('pull:applied');
    await this.#finishPull(intent);
    return true;
  }

  /**
   * Checks that the server's pages equal our synced base's (on the header page but for the schema
   * cookie and the page count, which every pull rewrites locally): otherwise the server holds
   * another database than the one we synced.
   */
  #assertSameDatabase(server: ServerPages, revision: string): void {
    const log = this.#log();
    const state = log.state();
    const base = new SyncedBase(log, state, this.#revert, effectiveWatermark(this.#meta.watermark, state), this.#meta.basePages);
    if (server.unknownRevision) throw serverResetError(revision, this.#meta.revision);
    for (const pgno of server.pgnos) {
      const ours = base.page(pgno);
      const theirs = server.pages.get(pgno) ?? null;
      const same =
        ours === null || theirs === null
          ? ours === theirs
          : ours.every((byte, i) => (pgno === 1 && ((i >= 40 && i < 44) || (i >= 28 && i < 32))) || byte === theirs[i]);
      if (!same) throw serverResetError(revision, this.#meta.revision);
    }
  }

  /**
   * The server's versions, as of `revision` (ours), of a sample of our base's pages: the header
   * page, the first few, and a few of `overwritten` (those a pull is about to replace).
   */
  #readServerPages(remote: SyncRemote, revision: string, overwritten: readonly number[] = []): Promise<ServerPages> {
    const basePages = this.#meta.basePages;
    const sample = new Set<number>([1]);
    for (let p = 2; p <= Math.min(basePages, HISTORY_SAMPLE_PAGES); p++) sample.add(p);
    const extra = overwritten.filter((p) => p > HISTORY_SAMPLE_PAGES && p <= basePages).slice(0, HISTORY_SAMPLE_PAGES);
    for (const p of extra) sample.add(p);
    const pgnos = [...sample];
    return this.#counted(remote, async () => {
      try {
        return { pgnos, pages: await remote.readPagesAt(revision, pgnos) };
      } catch (e) {
        // tursodb answers a revision past the end of its log with HTTP 500 "unexpected WAL frame
        // buffer size": it never had our revision (it was reset and is behind us).
        if (isWalsyncError(e, 'SERVER_ERROR') && /WAL frame/i.test(e.message)) return { pgnos, pages: new Map(), unknownRevision: true };
        throw e;
      }
    });
  }

  /**
   * Before anything is applied: once this client has pushed, the server's database holds its
   * position row for good, so the pulled state (base + downloaded pages, read in place) must hold
   * it, at or above the last position we recorded. A reset or replaced server's state does not;
   * a mix of two databases' pages may not even read (the table itself is scanned, not its index).
   */
  #assertPulledStateHoldsOurPushes(base: SyncedBase, changes: ChangesFileReader): void {
    const runtime = this.#local.runtime;
    const name = `${this.#deps.files.name}-pulled`;
    runtime.vfs.registerFile(name, new PulledStateFileStore(base, changes, PAGE_SIZE));
    let row: SyncRow | null = null;
    try {
      const db = openSnapshotConnection(runtime.sqlite3, name);
      try {
        row = readSyncRowOnTable(db, this.clientId);
      } finally {
        db.close();
      }
    } catch {
      row = null;
    } finally {
      runtime.vfs.unregisterFile(name);
    }
    if (!holdsOurPushes(this.#meta, row)) {
      changes.clear();
      throw serverResetError(changes.summary.revision, this.#meta.revision);
    }
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
    try {
      // Reopening reads the pulled schema: pages that do not fit our base (another database's)
      // fail here, so the undo must cover it and leave the connection open on the old state.
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
          if (!(attempt.merged && isWalsyncError(e) && e.context.changeIds !== undefined)) throw e;
          await this.#replayLocalChanges(intent, { net: false, merged: false }).catch(() => {
            throw e;
          });
        }
      }
    } catch (e) {
      const error = this.#storageError(e, 'pull replay', 'the pull was undone and nothing changed here');
      await this.#undoPull(intent);
      // A pulled state SQLite finds malformed is another database's pages over ours.
      throw isCorruption(e) ? serverResetError(intent.revision, this.#meta.revision, e) : error;
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
                // Guarded like app SQL: a transform's rewrite is the app's SQL too.
                capture.around(db, stmt.sql, () => capture.guard(db, () => runWithValues(runtime.sqlite3, db, stmt.sql, stmt.args)));
              } catch (e) {
                const storage = this.#storageError(e, stmt.sql, 'the pull was undone and nothing changed here');
                if (isWalsyncError(storage, 'QUOTA_EXCEEDED')) throw storage;
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
    this.#assertNoReseedPending();
    const remote = this.#deps.remoteFor(url);
    const mark = await this.#counted(remote, () => remote.readHighWater(this.clientId));
    // Checked before anything is sent: a push to a server that lost our earlier pushes would put
    // only the newest changes on a database that lacks the rest.
    if (!holdsOurPushes(this.#meta, mark)) throw serverLostPushesError(mark, this.#meta);
    // A client that never pushed has no position to look for: before its first push, the server's
    // pages as of our revision (a sample) must be our base's (compared in the local phase).
    const synced = this.#meta.revision;
    const serverPages = this.#meta.pushedToServer !== true && synced !== null ? await this.#readServerPages(remote, synced) : undefined;
    this.#push = { remote, mark, localPullGen: null, last: 0, chunk: null, committed: false, fallback: null, serverPages };
  }

  /** Push, local phase: the next chunk of whole transactions as statements; false when none is left. */
  async preparePushChunk(): Promise<boolean> {
    this.#assertNoTransaction('push');
    const push = this.#pushInProgress();
    const db = this.#local.connection;
    const { capture } = this.#deps;
    if (push.serverPages !== undefined) this.#assertSameDatabase(push.serverPages, this.#meta.revision ?? '');
    push.serverPages = undefined;
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

  // ── recovery from a reset server (resetSync) ───────────────────────────────────────────────────

  /**
   * resetSync(), network phase: refuses a server that holds this client's pushes (it was not
   * reset: sending every row there would overwrite newer changes of other clients).
   */
  async beginResetSync(url: string): Promise<void> {
    this.#reseed = null;
    const remote = this.#deps.remoteFor(url);
    if (this.#meta.reseedPending !== true && this.#meta.pushedToServer === true) {
      const mark = await this.#counted(remote, () => remote.readHighWater(this.clientId));
      if (holdsOurPushes(this.#meta, mark)) {
        throw new WalsyncError('INVALID_ARGUMENT', "resetSync(): the server holds this client's pushes, so it was not reset; use sync()");
      }
    }
    this.#reseed = { remote, chunks: [], sent: 0, mark: null };
  }

  /**
   * resetSync(), local phase: records durably that a reseed is under way (push and pull are
   * refused until it ends), then reads the whole database as statements, and the position they
   * cover (every local change so far). Changes made after this are replayed and pushed as usual.
   */
  async prepareResetSync(): Promise<void> {
    this.#assertNoTransaction('reset sync');
    const reseed = this.#reseedInProgress();
    const db = this.#local.connection;
    const pullGen = readSyncRow(db, this.clientId)?.pullGen ?? 0;
    const lastChange = lastChangeId(db);
    const statements = [...schemaStatements(db), ...rowStatements(db, new Set(this.#deps.config.tablesIgnore))];
    await this.#saveMeta({ ...this.#meta, reseedPending: true });
    const chunks: PushStatement[][] = [];
    for (let i = 0; i < statements.length; i += RESEED_CHUNK_STATEMENTS) chunks.push(statements.slice(i, i + RESEED_CHUNK_STATEMENTS));
    reseed.chunks = chunks.length > 0 ? chunks : [[]];
    reseed.mark = { pullGen, changeId: lastChange };
  }

  /**
   * resetSync(), network phase: sends the next chunk in one server transaction; only the last one
   * records our full position (a crash before it leaves the reseed pending, to be redone).
   * Resolves true while chunks remain.
   */
  async sendResetSyncChunk(): Promise<boolean> {
    const reseed = this.#reseedInProgress();
    const chunk = reseed.chunks[reseed.sent];
    if (!chunk || !reseed.mark) throw new WalsyncError('INTERNAL', 'sendResetSyncChunk() without a prepared reseed');
    const last = reseed.sent === reseed.chunks.length - 1;
    const mark = last ? reseed.mark : { pullGen: reseed.mark.pullGen, changeId: 0 };
    const merged = mergeUpserts(chunk);
    try {
      await this.#counted(reseed.remote, () => reseed.remote.push(merged.statements, this.clientId, mark));
    } catch (e) {
      this.#reseed = null;
      if (!isWalsyncError(e, 'PUSH_REJECTED')) throw e;
      const sql = merged.statements[Number(e.context.statementIndex)]?.sql;
      throw new WalsyncError('PUSH_REJECTED', `resetSync(): the server refused a statement of the local database: ${e.message}; nothing of it was applied, call resetSync() again once it is fixed`, {
        context: { ...e.context, sql },
        cause: e,
      });
    }
    reseed.sent++;
    return reseed.sent < reseed.chunks.length;
  }

  /**
   * resetSync(), local phase: the server now holds every local row and our position, so the
   * database becomes one whose first pull brings the server's state (as a deferred start does):
   * the pull replaces the old base and replays the changes made since prepareResetSync().
   */
  async finishResetSync(): Promise<void> {
    const reseed = this.#reseedInProgress();
    this.#reseed = null;
    if (!reseed.mark || reseed.sent < reseed.chunks.length) throw new WalsyncError('INTERNAL', 'finishResetSync() before every chunk was sent');
    await this.#saveMeta({
      ...this.#meta,
      revision: null,
      basePages: 0,
      watermark: { frame: 0, salt1: 0, salt2: 0 },
      pushedToServer: true,
      lastPushedPullGen: reseed.mark.pullGen,
      lastPushedChangeId: reseed.mark.changeId,
      lastPushUnixTime: nowSeconds(),
      reseedPending: false,
    });
  }

  #reseedInProgress(): ReseedProgress {
    if (!this.#reseed) throw new WalsyncError('INTERNAL', 'no resetSync() in progress');
    return this.#reseed;
  }

  #assertNoReseedPending(): void {
    if (this.#meta.reseedPending === true) {
      throw new WalsyncError('SERVER_RESET', 'a resetSync() did not finish (the page closed or the network failed while it sent the database): call resetSync() again; push and pull wait for it');
    }
  }

  // ── checkpoint, stats ─────────────────────────────────────────────────────────────────────────

  async checkpoint(): Promise<{ framesCheckpointed: number }> {
    this.#assertNoTransaction('checkpoint');
    let result: ReturnType<typeof checkpointSyncedDatabase>;
    try {
      result = checkpointSyncedDatabase({
        connection: this.#local.connection,
        log: this.#log(),
        revert: this.#revert,
        watermark: this.#meta.watermark,
        basePages: this.#meta.basePages,
        step: (name) => killPoint(`checkpoint:${name}`),
      });
    } catch (e) {
      // The revert store counts its pages only once they are all written, and the WAL is cut only
      // after every page is in the database file: a failed checkpoint loses nothing.
      throw this.#storageError(e, 'PRAGMA wal_checkpoint(TRUNCATE)', 'the checkpoint stopped and the log was kept: nothing was lost; free some space and checkpoint again');
    }
    await this.#saveMeta({ ...this.#meta, watermark: result.watermark });
    return { framesCheckpointed: result.framesCheckpointed };
  }

  /** Checkpoints when the WAL has grown past the configured size; the host calls it after writes. */
  async afterWrite(): Promise<void> {
    const limit = this.#deps.config.autoCheckpointBytes;
    if (limit > 0 && this.#deps.files.wal.size() > limit && this.#local.isAutocommit()) {
      try {
        await this.checkpoint();
      } catch (e) {
        // The write has committed: out of space, the log stays and the next write tries again.
        if (!isWalsyncError(e, 'QUOTA_EXCEEDED')) throw e;
      }
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

  /** `e` as reported to the app: quota failures (through SQLite or our own file writes) as QUOTA_EXCEEDED. */
  #storageError(e: unknown, operation: string, outcome: string): unknown {
    return this.#local.describeError(e, operation, outcome);
  }

  /**
   * After a failed append of the pull's commit group (out of space, typically): if its commit
   * frame is not in the log, cut the frames that did get written, giving their space back.
   * SQLite would ignore them anyway (no commit frame); a durable group is left for #recoverPull.
   */
  #dropUnfinishedCommitGroup(intent: PullIntent): void {
    try {
      const log = this.#log();
      const state = log.state();
      if (state.frames < intent.applyEndFrame && this.#deps.files.wal.size() > 0) log.truncateAt(Math.min(state.frames, intent.localEndFrame), state);
    } catch {
      // Best effort: the frames are harmless where they are.
    }
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
  // Progress for the app waiting on connect(): the header says how many pages come. A report every
  // BOOTSTRAP_WRITE_PAGES pages, not awaited (a round trip to the page each); the last one is, so
  // every report reaches the page before connect() resolves.
  const totalPages = response.dbSizePages;
  let receivedPages = 0;
  let reportedPages = -1;
  const report = (last = false): Promise<void> => {
    const pages = Math.min(receivedPages, totalPages); // a page sent twice is not more of the database
    if ((pages === reportedPages && !last) || !deps.callbacks) return Promise.resolve();
    reportedPages = pages;
    return deps.callbacks.bootstrapProgress(pages * PAGE_SIZE, totalPages * PAGE_SIZE).catch(() => undefined);
  };
  void report();
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
    receivedPages++;
    if (receivedPages - reportedPages >= BOOTSTRAP_WRITE_PAGES) void report();
  }
  flushRun();
  files.db.truncate(response.dbSizePages * PAGE_SIZE);
  files.db.flush();
  await report(true);
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

function serverResetError(revision: string, syncedRevision: string | null, cause?: unknown): WalsyncError {
  return new WalsyncError(
    'SERVER_RESET',
    `the sync server no longer has the database this copy was synced with (revision ${revision} after ${syncedRevision ?? 'none'} is another database): it was reset or replaced. Nothing was changed here; call resetSync() to start over from the server's data and push every local row to it, or point the database back at the right server`,
    { context: { revision, syncedRevision }, cause },
  );
}

/** The push-side sign of a reset server: it lacks the position our earlier pushes left there. */
function serverLostPushesError(mark: HighWaterMark | null, meta: SyncMetadata): WalsyncError {
  const position = mark ? `${mark.pullGen}/${mark.changeId}` : 'none';
  return new WalsyncError(
    'SERVER_RESET',
    `the sync server does not hold this client's earlier pushes (its position for us: ${position}, ours: ${meta.lastPushedPullGen}/${meta.lastPushedChangeId}): it was reset or replaced. Nothing was sent; call resetSync() to start over from the server's data and push every local row to it, or point the database back at the right server`,
    { context: { serverPosition: position, pushedPosition: `${meta.lastPushedPullGen}/${meta.lastPushedChangeId}` } },
  );
}

/**
 * Whether the server's position for this client (its row of `turso_sync_last_change_id`) fits the
 * pushes this client made: once a push committed, the row is there for good, and never below the
 * last position we recorded (after a pull we record 0 of the next generation: any row will do).
 */
function holdsOurPushes(meta: SyncMetadata, mark: HighWaterMark | null): boolean {
  if (meta.pushedToServer !== true) return true;
  if (!mark) return false;
  if (meta.lastPushedChangeId === 0) return true;
  return mark.pullGen > meta.lastPushedPullGen || (mark.pullGen === meta.lastPushedPullGen && mark.changeId >= meta.lastPushedChangeId);
}

function isCorruption(e: unknown): boolean {
  if (isWalsyncError(e) && e.sqliteCode !== undefined) return (e.sqliteCode & 0xff) === 11;
  return /SQLITE_CORRUPT|malformed/i.test(e instanceof Error ? e.message : String(e));
}

function resetToEmpty(files: DatabaseFiles, meta: SyncMetadata): SyncMetadata {
  files.db.truncate(0);
  files.wal.truncate(0);
  files.revert.truncate(0);
  files.db.flush();
  return { ...meta, bootstrapping: false, revision: null, basePages: 0, watermark: { frame: 0, salt1: 0, salt2: 0 } };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
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
