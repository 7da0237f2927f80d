/**
 * Pull (ARCHITECTURE.md §4), in two phases the host runs apart:
 * - downloadPull (network): streams the server's changes into the changes file and checks the
 *   server is still ours (server-identity.ts). Touches neither the database nor the metadata, so
 *   the worker keeps serving queries meanwhile; a failed download is dropped and nothing changed.
 * - applyPull (local): records the intent (in the changes file, then the metadata) before the WAL
 *   changes, appends the rollback+apply commit group with the connection closed, then hands over to
 *   pull-recover.ts for the replay. Before the commit group is durable a crash leaves the old state;
 *   after it, the intent lets the next open finish the pull.
 */
import { WalsyncError } from '../../contract/errors.js';
import { openSnapshotConnection, PAGE_SIZE } from '../connection.js';
import { newWalSalts } from '../vfs/wal-log.js';
import { ChangesFileReader, ChangesFileWriter } from './changes-file.js';
import { type EngineContext, msSince, nowSeconds } from './engine-context.js';
import { killPoint } from './kill-points.js';
import type { PullIntent } from './metadata.js';
import { applyPullPlan, planPullApply } from './pull-apply.js';
import { finishPull, recoverPull } from './pull-recover.js';
import { PulledStateFileStore } from './pulled-state.js';
import type { SyncRemote } from '../protocol/remote.js';
import { HISTORY_SAMPLE_PAGES, type ServerPages, assertSameDatabase, historySampleExtras, holdsOurPushes, readServerPages, serverResetError } from './server-identity.js';
import type { SyncedBase } from './synced-base.js';
import { type SyncRow, readSyncRow, readSyncRowOnTable } from '../protocol/sync-table.js';

/** A finished pull download, waiting for applyPull(), with the server's pages to check our base against. */
export interface PullDownload {
  readonly changes: ChangesFileReader;
  readonly serverPages: ServerPages | undefined;
}

/**
 * Pull, network phase: the server's changes, in the changes file. Null if `stopWaiting` cut a
 * long poll short before the server answered: nothing was received or written (not even the
 * changes file), the metadata and revision are untouched, so the next pull asks the same again;
 * a crash around a cut finds the state of before the pull. A stop after the first byte is ignored
 * (http-transport.ts): the download, and later the apply, go on as if it never came.
 */
export async function downloadPull(ctx: EngineContext, remote: SyncRemote, stopWaiting?: AbortSignal): Promise<PullDownload | null> {
  ctx.assertNoReseedPending();
  const started = performance.now();
  const received = remote.receivedBytes;
  const synced = ctx.meta.revision;
  // A client that never pushed has no row to look for in the pulled state (see applyPull): the
  // server's pages as of our revision (a sample, among them pages this pull overwrites) must be
  // our base's, else the server has another history. That read goes out while the download still
  // streams, as soon as the sample is known, instead of one round trip after it.
  const history = synced !== null && ctx.meta.pushedToServer !== true ? new HistorySampler(ctx, remote, synced) : null;
  let changes: ChangesFileReader | null;
  let serverPages: ServerPages | undefined;
  const timing: DownloadTiming = { answerMs: 0, streamMs: 0, historyWaitMs: 0 };
  try {
    // One counted span, so the bytes of the sample read are counted even if it ends last.
    [changes, serverPages] = await ctx.counted(remote, async () => {
      const downloaded = await downloadChanges(ctx, remote, stopWaiting, history, timing);
      if (downloaded === null || downloaded.summary.pageCount === 0) return [downloaded, undefined] as const;
      const waited = performance.now();
      const sample = await history?.pages(downloaded.pgnos());
      timing.historyWaitMs = msSince(waited);
      return [downloaded, sample] as const;
    });
  } catch (e) {
    // An unfinished download is of no use: give its space back (a server streaming pages
    // without end stops here too, at the quota).
    ctx.files.changes.truncate(0);
    throw ctx.storageError(e, 'pull download', 'the pull was not applied and nothing changed here');
  }
  if (changes === null) {
    ctx.trace('info', 'pull.wait-stopped', { fromRevision: ctx.meta.revision, ms: msSince(started) });
    return null;
  }
  // "Nothing changed" under a new revision: harmless on a server whose state moved on without a
  // page (no page changed means its first page is still ours), but it is also what a server that
  // was reset answers, and pulling later changes of another database onto ours would corrupt it.
  // One small request tells the two apart: the server's header page at the new revision.
  const { revision } = changes.summary;
  const suspicious = changes.summary.pageCount === 0 && synced !== null && revision !== synced;
  if (suspicious) {
    const page = await ctx.counted(remote, () => remote.readFirstPage(revision));
    serverPages = { pgnos: [1], pages: new Map(page ? [[1, page]] : []) };
    // The server's header can look like ours (same tables); our position row cannot.
    if (ctx.meta.pushedToServer) {
      const mark = await ctx.counted(remote, () => remote.readHighWater(ctx.clientId));
      if (!holdsOurPushes(ctx.meta, mark)) throw serverResetError(revision, synced);
    }
  }
  ctx.trace('info', 'pull.download', {
    revision,
    fromRevision: synced,
    pages: changes.summary.pageCount,
    dbSizePages: changes.summary.dbSizePages,
    receivedBytes: remote.receivedBytes - received,
    historyPagesChecked: serverPages?.pgnos.length ?? 0,
    ms: msSince(started),
    // Where the time went: the server's answer (its first bytes), the stream, the history sample after it.
    ...timing,
  });
  killPoint('pull:downloaded');
  return { changes, serverPages };
}

/** Milliseconds of a download's parts, for its trace. */
interface DownloadTiming {
  answerMs: number;
  streamMs: number;
  historyWaitMs: number;
}

/** Pull, local phase: installs what downloadPull() fetched. Resolves true if it brought changes. */
export async function applyPull(ctx: EngineContext, download: PullDownload): Promise<boolean> {
  const { changes } = download;
  const meta = ctx.meta;
  if (download.serverPages !== undefined) assertSameDatabase(ctx, download.serverPages, changes.summary.revision);
  // A discarded change is undone locally by a pull's rollback and replay: an empty answer does one
  // too while a discard waits for it (the base then equals the server, so the replay is exact).
  if (changes.summary.pageCount === 0 && !(meta.rebaseOnPull && changes.summary.dbSizePages > 0)) {
    await ctx.saveMeta({ ...meta, revision: changes.summary.revision, lastPullUnixTime: nowSeconds() });
    changes.clear();
    ctx.trace('info', 'pull.apply', { revision: changes.summary.revision, pages: 0 });
    return false;
  }
  const log = ctx.log();
  const state = log.state();
  const base = ctx.syncedBase(log, state);
  if (meta.pushedToServer === true) assertPulledStateHoldsOurPushes(ctx, base, changes);
  const plan = planPullApply({ log, state, base, revert: ctx.revert, changes });
  const salts: [number, number] = state.header ? [state.header.salt1, state.header.salt2] : newWalSalts();
  const intent: PullIntent = {
    revision: changes.summary.revision,
    dbSizePages: plan.dbSizePages,
    localEndFrame: state.frames,
    applyEndFrame: state.frames + plan.frameCount,
    salt1: salts[0],
    salt2: salts[1],
    localPullGen: readSyncRow(ctx.local.connection, ctx.clientId)?.pullGen ?? 0,
  };
  // Durable before the WAL changes: in the changes file, beside the data (what recovery reads),
  // and in the metadata (a fallback for the moment after the changes file is cleared).
  changes.writeIntent(intent);
  await ctx.saveMeta({ ...ctx.meta, pullIntent: intent });
  killPoint('pull:intent-saved');
  ctx.trace('info', 'pull.apply', {
    revision: intent.revision,
    pages: changes.summary.pageCount,
    frames: plan.frameCount,
    dbSizePages: plan.dbSizePages,
    localEndFrame: intent.localEndFrame,
    localPullGen: intent.localPullGen,
  });
  const applyStarted = performance.now();
  ctx.local.closeConnection();
  try {
    applyPullPlan(log, state, plan, salts);
    ctx.trace('debug', 'pull.applied', { frames: plan.frameCount, ms: msSince(applyStarted) });
  } catch (e) {
    // Nothing durable happened unless the commit frame was flushed; recoverPull sorts out which.
    const error = ctx.storageError(e, 'pull apply', 'the pull was undone and nothing changed here');
    dropUnfinishedCommitGroup(ctx, intent);
    ctx.local.reopenConnection();
    await recoverPull(ctx, intent);
    // The reopened connection needs its capture triggers, whichever way the recovery went.
    ctx.capture.enable(ctx.local.connection);
    throw error;
  }
  killPoint('pull:applied');
  await finishPull(ctx, intent);
  return true;
}

/**
 * Before anything is applied: once this client has pushed, the server's database holds its
 * position row for good, so the pulled state (base + downloaded pages, read in place) must hold
 * it, at or above the last position we recorded. A reset or replaced server's state does not;
 * a mix of two databases' pages may not even read (the table itself is scanned, not its index).
 */
function assertPulledStateHoldsOurPushes(ctx: EngineContext, base: SyncedBase, changes: ChangesFileReader): void {
  const runtime = ctx.local.runtime;
  const name = `${ctx.files.name}-pulled`;
  runtime.vfs.registerFile(name, new PulledStateFileStore(base, changes, PAGE_SIZE));
  let row: SyncRow | null = null;
  try {
    const db = openSnapshotConnection(runtime.sqlite3, name);
    try {
      row = readSyncRowOnTable(db, ctx.clientId);
    } finally {
      db.close();
    }
  } catch {
    row = null;
  } finally {
    runtime.vfs.unregisterFile(name);
  }
  if (!holdsOurPushes(ctx.meta, row)) {
    changes.clear();
    throw serverResetError(changes.summary.revision, ctx.meta.revision);
  }
}

/** Streams the server's answer into the changes file; returns it ready to read, or null if the wait was stopped. */
async function downloadChanges(
  ctx: EngineContext,
  remote: SyncRemote,
  stopWaiting: AbortSignal | undefined,
  history: HistorySampler | null,
  timing: DownloadTiming,
): Promise<ChangesFileReader | null> {
  const revision = ctx.meta.revision;
  const asked = performance.now();
  const longPollMs = ctx.config.longPollTimeoutMs;
  // Only a long poll (which needs a revision to wait from) may be cut short, and only while the
  // server is silent: a stopped wait returns before the changes file is opened.
  const response =
    stopWaiting && longPollMs > 0 && revision !== null
      ? await ctx.counted(remote, () => remote.pullUpdates(revision, longPollMs, { stopWaiting }))
      : await ctx.counted(remote, () => remote.pullUpdates(revision, longPollMs));
  if (response === null) return null;
  const answered = performance.now();
  timing.answerMs = msSince(asked);
  const writer = new ChangesFileWriter(ctx.files.changes, PAGE_SIZE);
  await ctx.counted(remote, async () => {
    for await (const page of response.pages) {
      writer.add(page.pgno, page.data);
      history?.saw(page.pgno);
    }
  });
  timing.streamMs = msSince(answered);
  writer.finish(response.revision, response.dbSizePages);
  const reader = ChangesFileReader.open(ctx.files.changes, PAGE_SIZE);
  if (!reader) throw new WalsyncError('INTERNAL', 'the finished changes file does not read back');
  return reader;
}

/**
 * After a failed append of the pull's commit group (out of space, typically): if its commit
 * frame is not in the log, cut the frames that did get written, giving their space back.
 * SQLite would ignore them anyway (no commit frame); a durable group is left for recoverPull.
 */
function dropUnfinishedCommitGroup(ctx: EngineContext, intent: PullIntent): void {
  try {
    const log = ctx.log();
    const state = log.state();
    if (state.frames < intent.applyEndFrame && ctx.files.wal.size() > 0) log.truncateAt(Math.min(state.frames, intent.localEndFrame), state);
  } catch {
    // Best effort: the frames are harmless where they are.
  }
}

/**
 * The history sample of a pull (server-identity.ts, historySample): its read starts as soon as the
 * download has streamed enough overwritten pages to choose it, and runs beside the rest.
 * @internal Exported for its unit test.
 */
export class HistorySampler {
  readonly #ctx: EngineContext;
  readonly #remote: SyncRemote;
  readonly #revision: string;
  readonly #basePages: number;
  /** How many overwritten pages the sample takes (historySampleExtras). */
  readonly #extras: number;
  readonly #overwritten: number[] = [];
  #read: Promise<ServerPages> | null = null;

  constructor(ctx: EngineContext, remote: SyncRemote, revision: string) {
    this.#ctx = ctx;
    this.#remote = remote;
    this.#revision = revision;
    this.#basePages = ctx.meta.basePages;
    this.#extras = historySampleExtras(this.#basePages);
  }

  /**
   * A page arrived: once the sample's overwritten pages are known, its read starts. The order of
   * pages is unspecified (sync-protocol.md §2.4), so a page past our base's end says nothing of
   * those still to come: with fewer overwritten pages than the sample takes, it waits for the end.
   */
  saw(pgno: number): void {
    if (this.#read !== null) return;
    if (pgno > HISTORY_SAMPLE_PAGES && pgno <= this.#basePages) this.#overwritten.push(pgno);
    // Known once it has all the overwritten pages it takes: from the first page on for a base no
    // larger than its fixed pages (a client that bootstrapped an empty database, say).
    if (this.#overwritten.length === this.#extras) this.#start(this.#overwritten);
  }

  /** The sample read (started now if the answer had fewer overwritten pages than it takes). */
  pages(pgnos: readonly number[]): Promise<ServerPages> {
    return this.#read ?? this.#start(pgnos);
  }

  #start(overwritten: readonly number[]): Promise<ServerPages> {
    this.#read = readServerPages(this.#ctx, this.#remote, this.#revision, overwritten);
    // Observed at once: if the download fails first, nobody awaits this read (and a failure
    // unobserved would be an unhandled rejection).
    this.#read.catch(() => undefined);
    return this.#read;
  }
}
