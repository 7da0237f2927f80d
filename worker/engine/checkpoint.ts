/**
 * Checkpoint for a synced database: keeps the WAL bounded without losing the synced base.
 * 1. Save the base version of every page changed since the watermark into the revert store
 *    (durable before step 2 touches the database file).
 * 2. Fold the whole WAL into the database file (TRUNCATE checkpoint).
 * 3. The watermark becomes 0: the base is now the database file with the revert store laid over it.
 * A crash between 1 and 2 leaves extra (correct) base pages saved; a crash after 2 leaves metadata
 * naming the old WAL salts, which effectiveWatermark() reads as 0 — the state step 3 records.
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import type { WalLog } from '../vfs/wal-log.js';
import type { WalWatermark } from './metadata.js';
import type { RevertStore } from './revert-store.js';
import { SyncedBase, effectiveWatermark } from './synced-base.js';

export interface SyncedCheckpointResult {
  readonly watermark: WalWatermark;
  readonly framesCheckpointed: number;
  readonly pagesSaved: number;
}

export function checkpointSyncedDatabase(args: {
  connection: Database;
  log: WalLog;
  revert: RevertStore;
  watermark: WalWatermark;
  basePages: number;
  /** Test hook: called between the named steps (crash tests kill the worker there). */
  step?: (name: 'revert-saved' | 'checkpointed') => void;
}): SyncedCheckpointResult {
  const { connection, log, revert, basePages } = args;
  const state = log.state();
  const w = effectiveWatermark(args.watermark, state);
  const base = new SyncedBase(log, state, revert, w, basePages);
  const toSave = log
    .changedPagesAfter(w, state)
    .filter((p) => p <= basePages && !revert.has(p))
    .map((pgno) => ({ pgno, data: base.page(pgno)! }));
  revert.append(toSave, basePages);
  args.step?.('revert-saved');
  const row = connection.selectArray('PRAGMA wal_checkpoint(TRUNCATE)') as number[] | undefined;
  if (!row || row[0] !== 0 || log.state().frames !== 0) {
    throw new WalsyncError('INTERNAL', 'the checkpoint could not fold the whole WAL into the database file');
  }
  args.step?.('checkpointed');
  return { watermark: { frame: 0, salt1: 0, salt2: 0 }, framesCheckpointed: state.frames, pagesSaved: toSave.length };
}
