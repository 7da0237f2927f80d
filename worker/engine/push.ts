/**
 * Push (ARCHITECTURE.md §5): read this client's high-water mark on the server, send the local
 * changes above it as SQL in all-or-nothing server transactions that also move the mark.
 * The phases alternate between network (no database access) and local work, so the worker keeps
 * serving queries while a push waits for the server: beginPush (network), then preparePushChunk
 * (local) and sendPushChunk (network) per chunk, then finishPush (local).
 * Crash argument: each chunk's server transaction moves our mark with it, and nothing local
 * changes until finishPush records how far the server is. A lost response or a crash anywhere is
 * harmless: the next push re-reads the mark and resumes after it.
 */
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import type { LocalDatabase } from '../local-database.js';
import type { CapturedChange, ChangeCapture } from '../cdc/change-capture.js';
import { CHANGE_BATCH, type EngineContext, describeIds, msSince, nowSeconds } from './engine-context.js';
import { killPoint } from './kill-points.js';
import { mergeUpserts } from './push-statements.js';
import type { HighWaterMark, PushStatement, SyncRemote } from '../protocol/remote.js';
import { type ServerPages, assertSameDatabase, holdsOurPushes, readServerPages, serverLostPushesError } from './server-identity.js';
import { readSyncRow } from '../protocol/sync-table.js';

/** A push sends at most about this many changes per server transaction, split between local transactions. */
export const PUSH_CHUNK_CHANGES = 5000;

/** One push, from beginPush() to finishPush(). */
export interface PushProgress {
  readonly remote: SyncRemote;
  /** This client's position on the server when the push began (null: the server has none). */
  readonly mark: HighWaterMark | null;
  /** The local change-log generation, read in the first local phase. */
  localPullGen: number | null;
  /** The last change id the server holds. */
  last: number;
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
  serverPages: ServerPages | undefined;
}

/** The statements of one chunk of whole local transactions, ready to send. */
export interface PushChunk {
  readonly statements: PushStatement[];
  /** The change each statement comes from (same index). */
  readonly owners: CapturedChange[];
  /** The last logged change id the chunk covers: the mark it moves the server to. */
  readonly end: number;
  /** Some change in it stands for several logged ones (a refusal then retries it as logged). */
  readonly merged: boolean;
}

/** Push, network phase: reads this client's position on the server. */
export async function beginPush(ctx: EngineContext, remote: SyncRemote): Promise<PushProgress> {
  ctx.assertNoReseedPending();
  // A client that never pushed has no position to look for: before its first push, the server's
  // pages as of our revision (a sample) must be our base's (compared in the local phase). Both
  // reads only read, so they go out together: one round trip instead of two.
  const synced = ctx.meta.revision;
  const [mark, serverPages] = await ctx.counted(remote, () =>
    Promise.all([
      remote.readHighWater(ctx.clientId),
      ctx.meta.pushedToServer !== true && synced !== null ? readServerPages(ctx, remote, synced) : undefined,
    ]),
  );
  // Checked before anything is sent: a push to a server that lost our earlier pushes would put
  // only the newest changes on a database that lacks the rest.
  if (!holdsOurPushes(ctx.meta, mark)) throw serverLostPushesError(mark, ctx.meta);
  ctx.trace('info', 'push.begin', { serverPullGen: mark?.pullGen ?? null, serverChangeId: mark?.changeId ?? null });
  return { remote, mark, localPullGen: null, last: 0, committed: false, fallback: null, serverPages };
}

/** Push, local phase: the next chunk of whole transactions as statements; null when none is left. */
export async function preparePushChunk(ctx: EngineContext, push: PushProgress): Promise<PushChunk | null> {
  const db = ctx.local.connection;
  const { capture } = ctx;
  if (push.serverPages !== undefined) assertSameDatabase(ctx, push.serverPages, ctx.meta.revision ?? '');
  push.serverPages = undefined;
  if (push.localPullGen === null) {
    // Read under the local phase: a pull between the phases would have moved it (pushes and pulls
    // do not overlap, so it is stable from here to finishPush()).
    const localPullGen = readSyncRow(db, ctx.clientId)?.pullGen ?? 0;
    const { mark } = push;
    if (mark && mark.pullGen > localPullGen) {
      throw new WalsyncError('PROTOCOL_ERROR', `the server knows change-log generation ${mark.pullGen} of this client, which is newer than the local ${localPullGen}`);
    }
    push.localPullGen = localPullGen;
    push.last = mark && mark.pullGen === localPullGen ? mark.changeId : 0;
  }
  const logged = readWholeTransactions(capture, db, push.last, PUSH_CHUNK_CHANGES);
  if (logged.length === 0) return null;
  // The net effect per row, so that a row fixed after a refusal goes as fixed (net-changes.ts);
  // as logged when the server refused the net form of this chunk.
  const chunk = push.fallback ? logged : capture.coalesce(db, logged);
  const merged = chunk.length !== logged.length || chunk.some((c) => c.changeIds.length > 1);
  const results = await ctx.transform(db, chunk);
  const statements: PushStatement[] = [];
  const owners: CapturedChange[] = [];
  chunk.forEach((change, i) => {
    for (const stmt of capture.pushStatements(db, change, results[i]!)) {
      statements.push(stmt);
      owners.push(change);
    }
  });
  return { statements, owners, end: logged[logged.length - 1]!.changeId, merged };
}

/**
 * Push, network phase: sends the prepared chunk in one server transaction. A refused net chunk
 * returns normally with `push.fallback` set (the next prepare sends it as logged); any other
 * failure throws and ends the push.
 */
export async function sendPushChunk(ctx: EngineContext, push: PushProgress, chunk: PushChunk, localPullGen: number): Promise<void> {
  const mark = { pullGen: localPullGen, changeId: chunk.end };
  const started = performance.now();
  const sent = push.remote.sentBytes;
  const send = (statements: readonly PushStatement[]) => ctx.counted(push.remote, () => push.remote.push(statements, ctx.clientId, mark));
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
    ctx.trace('warn', 'push.chunk.refused', { fromChangeId: push.last, toChangeId: chunk.end, error: e instanceof Error ? e.message : String(e) });
    if (isWalsyncError(e, 'PUSH_REJECTED') && chunk.merged && !push.fallback) {
      // Nothing was applied: the next prepare sends this chunk as logged (see PushProgress.fallback).
      push.fallback = { error: e };
      return;
    }
    throw isWalsyncError(e, 'PUSH_REJECTED') && push.fallback ? push.fallback.error : e;
  }
  ctx.trace('info', 'push.chunk', {
    fromChangeId: push.last,
    toChangeId: chunk.end,
    changes: new Set(chunk.owners).size,
    statements: chunk.statements.length,
    sentStatements: merged.statements.length,
    asLogged: push.fallback !== null,
    sentBytes: push.remote.sentBytes - sent,
    ms: msSince(started),
  });
  push.fallback = null;
  push.last = chunk.end;
  push.committed = true;
  killPoint('push:sent');
}

/** Push, local phase: records how far the server is. */
export async function finishPush(ctx: EngineContext, push: PushProgress): Promise<void> {
  ctx.trace('info', 'push.finish', { pullGen: push.localPullGen, changeId: push.last, committed: push.committed });
  killPoint('push:before-metadata');
  await ctx.saveMeta({
    ...ctx.meta,
    lastPushedChangeId: push.last,
    lastPushedPullGen: push.localPullGen ?? ctx.meta.lastPushedPullGen,
    lastPushUnixTime: nowSeconds(),
    pushedToServer: ctx.meta.pushedToServer === true || push.committed,
  });
}

/** Reads up to about `limit` changes after `after`, never ending in the middle of a transaction. */
export function readWholeTransactions<C extends CapturedChange>(capture: Pick<ChangeCapture<C>, 'read'>, db: LocalDatabase['connection'], after: number, limit: number): C[] {
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
export function nameRejectedChange(
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
