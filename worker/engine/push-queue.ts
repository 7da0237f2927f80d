/**
 * The push queue as the app sees it: the local changes not yet pushed (pendingChanges) and
 * discarding some of them (discardChanges).
 * Crash argument for a discard: `rebaseOnPull` is saved before the changes leave the log, so a
 * crash in between costs one needless rollback and replay; the removal itself is one transaction.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { PendingChange } from '../../contract/worker-api.js';
import type { LocalDatabase } from '../local-database.js';
import { CHANGE_BATCH, type EngineContext } from './engine-context.js';
import { readSyncRow } from '../protocol/sync-table.js';

/** The last local change id the server holds, as far as this client knows. */
export function pushedUpTo(ctx: EngineContext, db: LocalDatabase['connection']): number {
  const localPullGen = readSyncRow(db, ctx.clientId)?.pullGen ?? 0;
  return ctx.meta.lastPushedPullGen === localPullGen ? ctx.meta.lastPushedChangeId : 0;
}

/** Local changes not yet pushed (local-only ones excluded), oldest first. */
export function pendingChanges(ctx: EngineContext, afterChangeId: number, limit: number): PendingChange[] {
  const db = ctx.local.connection;
  const { capture } = ctx;
  const out: PendingChange[] = [];
  for (let after = Math.max(afterChangeId, pushedUpTo(ctx, db)); out.length < limit; ) {
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
export async function discardChanges(ctx: EngineContext, changeIds: readonly number[]): Promise<number> {
  const db = ctx.local.connection;
  const { capture } = ctx;
  const ids = [...new Set(changeIds)];
  const upTo = pushedUpTo(ctx, db);
  const pending = new Set<number>();
  for (const id of ids) {
    if (!Number.isSafeInteger(id)) throw new WalsyncError('INVALID_ARGUMENT', `discardChange(): ${String(id)} is not a change id`, { context: { changeId: String(id) } });
    const [change] = capture.read(db, id - 1, 1);
    if (change && change.changeId === id && id > upTo && !change.localOnly) pending.add(id);
  }
  const missing = ids.filter((id) => !pending.has(id));
  if (missing.length > 0) {
    throw new WalsyncError('INVALID_ARGUMENT', `discardChange(): change ${missing.join(', ')} is not waiting to be pushed (pushed already, discarded, local-only, or never logged); nothing was discarded`, {
      context: { changeIds: missing },
    });
  }
  if (ids.length === 0) return 0;
  // The mark first: a crash after it and before the delete costs one needless rollback and replay.
  if (!ctx.meta.rebaseOnPull) await ctx.saveMeta({ ...ctx.meta, rebaseOnPull: true });
  db.exec('BEGIN IMMEDIATE');
  try {
    const removed = capture.discard(db, ids);
    db.exec('COMMIT');
    return removed;
  } catch (e) {
    if (!ctx.local.isAutocommit()) db.exec('ROLLBACK');
    throw e;
  }
}
