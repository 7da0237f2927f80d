/**
 * The second half of a pull, and its recovery: replay the local changes on the pulled state, or
 * undo the pull. Runs right after applyPull() appended the commit group, and on open when a crash
 * left a pull intent behind.
 * Crash argument: the replay is one SQLite transaction that also moves this client's change-log
 * generation (its sync row) to intent.localPullGen + 1, so a recovery sees whether it committed.
 * The metadata (new revision, watermark, base size) is saved only after the replay committed and
 * the revert store was cleared; until then the intent is what the next open reads. An undo cuts
 * the WAL back to intent.localEndFrame (the pre-pull state) before forgetting the intent.
 */
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import { openSnapshotConnection } from '../connection.js';
import { runWithValues } from '../sql/bind-args.js';
import type { CapturedChange } from '../cdc/change-capture.js';
import { CHANGE_BATCH, type EngineContext, describeIds, msSince, nowSeconds } from './engine-context.js';
import { killPoint } from './kill-points.js';
import type { PullIntent } from './metadata.js';
import { pullGroupInWal } from './pull-apply.js';
import { isCorruption, serverResetError } from './server-identity.js';
import { hasSyncRowOnTable, readSyncRow, writeSyncRow } from '../protocol/sync-table.js';

/**
 * Completes a pull whose commit group may or may not be durable. Not durable → forget the intent
 * (the old local state is intact). Durable → replay (unless the replay already committed), then
 * clear the revert store and record the new base.
 */
export async function recoverPull(ctx: EngineContext, intent: PullIntent): Promise<void> {
  if (!pullGroupInWal(ctx.log().state(), intent)) {
    ctx.trace('info', 'pull.recover.dropped', { revision: intent.revision, reason: 'commit group not durable' });
    await ctx.saveMeta({ ...ctx.meta, pullIntent: null });
    ctx.clearChanges();
    return;
  }
  await finishPull(ctx, intent);
}

/** With the commit group durable: replay (unless done), then record the new base. */
export async function finishPull(ctx: EngineContext, intent: PullIntent): Promise<void> {
  const started = performance.now();
  let replayStarted = started;
  try {
    // Reopening reads the pulled schema: pages that do not fit our base (another database's)
    // fail here, so the undo must cover it and leave the connection open on the old state.
    ctx.local.reopenConnection();
    replayStarted = performance.now();
    const db = ctx.local.connection;
    const replayed = (readSyncRow(db, ctx.clientId)?.pullGen ?? -1) === intent.localPullGen + 1;
    if (!replayed) {
      const attempt = { net: true, merged: false };
      try {
        await replayLocalChanges(ctx, intent, attempt);
      } catch (e) {
        // The net form of the changes failed on the pulled data: try them as logged (the replay
        // rolled back), which can succeed where the net form fails (see push.ts, PushProgress.fallback).
        // If that fails too, the error names the net change: fix or discard it.
        if (!(attempt.merged && isWalsyncError(e) && e.context.changeIds !== undefined)) throw e;
        ctx.trace('warn', 'pull.replay.as-logged', { error: e.message });
        await replayLocalChanges(ctx, intent, { net: false, merged: false }).catch(() => {
          throw e;
        });
      }
    }
  } catch (e) {
    const error = ctx.storageError(e, 'pull replay', 'the pull was undone and nothing changed here');
    ctx.trace('warn', 'pull.undo', { revision: intent.revision, localEndFrame: intent.localEndFrame, error: e instanceof Error ? e.message : String(e) });
    await undoPull(ctx, intent);
    // A pulled state SQLite finds malformed is another database's pages over ours.
    throw isCorruption(e) ? serverResetError(intent.revision, ctx.meta.revision, e) : error;
  }
  killPoint('pull:replayed');
  const recordStarted = performance.now();
  // The base now lives in WAL frames ≤ applyEndFrame; the saved pre-images are obsolete.
  ctx.revert.clear();
  killPoint('pull:revert-cleared');
  await ctx.saveMeta({
    ...ctx.meta,
    revision: intent.revision,
    watermark: { frame: intent.applyEndFrame, salt1: intent.salt1, salt2: intent.salt2 },
    basePages: intent.dbSizePages,
    pullIntent: null,
    lastPullUnixTime: nowSeconds(),
    lastPushedChangeId: 0,
    lastPushedPullGen: intent.localPullGen + 1,
    rebaseOnPull: false,
  });
  ctx.clearChanges();
  killPoint('pull:finished');
  ctx.trace('debug', 'pull.finished', {
    revision: intent.revision,
    reopenMs: Math.round((replayStarted - started) * 10) / 10,
    replayMs: Math.round((recordStarted - replayStarted) * 10) / 10,
    recordMs: msSince(recordStarted),
  });
  await ctx.afterWrite();
}

/** Which logged changes a replay re-applies: those the server lacks (above `floor`), and every local-only one. */
export function changesToReplay<C extends Pick<CapturedChange, 'changeId' | 'localOnly'>>(read: readonly C[], floor: number): C[] {
  return read.filter((change) => change.changeId > floor || change.localOnly);
}

/**
 * Replays local changes the server does not have yet on top of the pulled state, in one
 * transaction. The old local state is read from a snapshot of the WAL cut at the intent's local
 * end frame; the replay re-captures every change into a fresh log (new ids, generation + 1).
 */
async function replayLocalChanges(ctx: EngineContext, intent: PullIntent, attempt: { readonly net: boolean; merged: boolean }): Promise<void> {
  const { capture, files } = ctx;
  const runtime = ctx.local.runtime;
  const db = ctx.local.connection;
  const remoteRow = readSyncRow(db, ctx.clientId);
  if (remoteRow && remoteRow.pullGen > intent.localPullGen) {
    throw new WalsyncError('PROTOCOL_ERROR', `the server knows change-log generation ${remoteRow.pullGen} of this client, which is newer than the local ${intent.localPullGen}`);
  }
  if (ctx.meta.pushedToServer && !hasSyncRowOnTable(db, ctx.clientId)) {
    // Our pushes left our row on the server for good; a state without it is another database
    // (pages of two databases mixed: hence a scan of the table itself, not of its index).
    // Thrown before the replay: the caller undoes the pull, so nothing changes here.
    throw serverResetError(intent.revision, ctx.meta.revision);
  }
  const floor = remoteRow && remoteRow.pullGen === intent.localPullGen ? remoteRow.changeId : 0;
  const started = performance.now();
  let replayed = 0;
  const snapshotName = `${files.name}-snapshot`;
  runtime.vfs.registerFile(snapshotName, ctx.log().snapshotAt(intent.localEndFrame));
  const snapshot = openSnapshotConnection(runtime.sqlite3, snapshotName);
  try {
    // From the log's start: local-only changes below the floor never reached the server, so
    // they come back only by replay (the rollback removed them with everything local).
    let read = capture.read(snapshot, 0, CHANGE_BATCH);
    if (read.length === 0 && remoteRow === null) {
      // Nothing to replay, and the server holds no position of ours: no generation to move
      // (change ids matter only against a position), so no transaction either. A crash before
      // the pull's metadata is saved comes back here and finds the same.
      capture.enable(db, true);
      ctx.trace('info', 'pull.replay', { changes: 0, serverFloor: 0, net: attempt.net, pullGen: null, ms: msSince(started) });
      return;
    }
    db.exec('BEGIN IMMEDIATE');
    try {
      // Nothing to replay: the capture triggers wait for the app's first write (enable lazily),
      // and the pull does not pay for creating them.
      capture.enable(db, read.length === 0);
      for (let after = 0; ; read = capture.read(snapshot, after, CHANGE_BATCH)) {
        if (read.length === 0) break;
        after = read[read.length - 1]!.changeId;
        const pending = changesToReplay(read, floor);
        // The net effect per row, within this batch of the log.
        const batch = attempt.net ? capture.coalesce(db, pending) : pending;
        if (batch.length !== pending.length || batch.some((c) => c.changeIds.length > 1)) attempt.merged = true;
        const results = await ctx.transform(db, batch);
        replayed += batch.length;
        batch.forEach((change, i) => {
          for (const stmt of capture.replayStatements(db, change, results[i]!)) {
            try {
              // Guarded like app SQL: a transform's rewrite is the app's SQL too.
              capture.around(db, stmt.sql, () => capture.guard(db, () => runWithValues(runtime.sqlite3, db, stmt.sql, stmt.args)));
            } catch (e) {
              const storage = ctx.storageError(e, stmt.sql, 'the pull was undone and nothing changed here');
              if (isWalsyncError(storage, 'QUOTA_EXCEEDED')) throw storage;
              throw new WalsyncError('SQLITE_ERROR', `a local change could not be replayed on the pulled data: ${errorMessage(e)} (change ${describeIds(change)} on table ${change.tableName}); the pull was undone: fix the row locally, or discard the change (discardChange) or skip or rewrite it with transform`, {
                context: { changeId: change.changeId, changeIds: [...change.changeIds], tableName: change.tableName, sql: stmt.sql },
                cause: e,
              });
            }
          }
        });
      }
      writeSyncRow(db, ctx.clientId, { pullGen: intent.localPullGen + 1, changeId: 0 });
      db.exec('COMMIT');
      ctx.trace('info', 'pull.replay', { changes: replayed, serverFloor: floor, net: attempt.net, pullGen: intent.localPullGen + 1, ms: msSince(started) });
    } catch (e) {
      if (!ctx.local.isAutocommit()) db.exec('ROLLBACK');
      throw e;
    }
  } finally {
    snapshot.close();
    runtime.vfs.unregisterFile(snapshotName);
  }
}

/** Cuts the WAL back to the pre-pull local state: as if the pull never happened. */
async function undoPull(ctx: EngineContext, intent: PullIntent): Promise<void> {
  ctx.local.closeConnection();
  ctx.log().truncateAt(intent.localEndFrame);
  ctx.local.reopenConnection();
  ctx.capture.enable(ctx.local.connection);
  await ctx.saveMeta({ ...ctx.meta, pullIntent: null });
  ctx.clearChanges();
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
