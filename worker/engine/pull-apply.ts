/**
 * Pull step 3: one WAL commit group that rolls the database back to the synced base and lays the
 * pulled pages over it, so that after it the database equals the remote at the new revision.
 * Frames: base versions of pages changed locally since the watermark, then revert-store pages, then
 * the pulled pages, then page 1 with a bumped schema cookie, the commit frame carrying the new size.
 * Pages the pull overwrites anyway are not rolled back first. Runs with the connection closed.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { PageImage, WalLog, WalState } from '../vfs/wal-log.js';
import type { ChangesFileReader } from './changes-file.js';
import type { PullIntent } from './metadata.js';
import type { RevertStore } from './revert-store.js';
import type { SyncedBase } from './synced-base.js';

const SCHEMA_COOKIE_OFFSET = 40;
const IN_HEADER_DB_SIZE_OFFSET = 28;

export interface PullApplyPlan {
  /** Frames the commit group will add. */
  readonly frameCount: number;
  readonly dbSizePages: number;
  /** Streams the group's pages in order (page data is read lazily). */
  pages(): Iterable<PageImage>;
}

export function planPullApply(args: {
  log: WalLog;
  state: WalState;
  base: SyncedBase;
  revert: RevertStore;
  changes: ChangesFileReader;
}): PullApplyPlan {
  const { log, state, base, revert, changes } = args;
  const dbSizePages = changes.summary.dbSizePages;
  if (dbSizePages < 1) throw new WalsyncError('PROTOCOL_ERROR', 'the server sent pages for an empty database');
  const pulled = new Set(changes.pgnos());
  // Pages past the base's end are new since our revision: the server must send every one of them.
  // (The stream has no end marker; this catches an answer cut off cleanly between two pages.)
  for (let p = base.pageCount + 1; p <= dbSizePages; p++) {
    if (!pulled.has(p)) {
      throw new WalsyncError('PROTOCOL_ERROR', `the server's answer grows the database to ${dbSizePages} pages but misses page ${p}: it is incomplete`);
    }
  }
  const keep = (p: number) => p !== 1 && p <= base.pageCount && p <= dbSizePages && !pulled.has(p);
  const rollback = log.changedPagesAfter(base.watermark, state).filter(keep);
  const rolledBack = new Set(rollback);
  const revertOnly = revert.pgnos().filter((p) => keep(p) && !rolledBack.has(p));
  const pulledOther = [...pulled].filter((p) => p !== 1 && p <= dbSizePages);
  if (!pulled.has(1) && base.pageCount < 1) {
    throw new WalsyncError('PROTOCOL_ERROR', 'the server did not send the database header page for a database we do not have');
  }
  const localPage1 = log.readPage(1, state.frames, state);
  const localCookie = localPage1 ? readU32(localPage1, SCHEMA_COOKIE_OFFSET) : 0;

  return {
    frameCount: rollback.length + revertOnly.length + pulledOther.length + 1,
    dbSizePages,
    *pages() {
      for (const pgno of rollback) yield { pgno, data: base.page(pgno)! };
      for (const pgno of revertOnly) yield { pgno, data: revert.read(pgno)! };
      let page1: Uint8Array | null = null;
      for (const page of changes.pages()) {
        if (page.pgno > dbSizePages) continue;
        if (page.pgno === 1) page1 = page.data.slice();
        else yield page;
      }
      page1 ??= base.page(1)!;
      const cookie = Math.max(localCookie, readU32(page1, SCHEMA_COOKIE_OFFSET)) + 1;
      writeU32(page1, SCHEMA_COOKIE_OFFSET, cookie >>> 0);
      // SQLite trusts this field only when the change counters agree; keep it true either way.
      writeU32(page1, IN_HEADER_DB_SIZE_OFFSET, dbSizePages);
      yield { pgno: 1, data: page1 };
    },
  };
}

/** Appends the plan to the WAL; returns the new WAL state (its frame count is the new watermark). */
export function applyPullPlan(log: WalLog, state: WalState, plan: PullApplyPlan, saltsForNewLog?: readonly [number, number]): WalState {
  return log.appendCommitGroup(plan.pages(), plan.dbSizePages, state, saltsForNewLog);
}

/**
 * Whether the intent's commit group is in the WAL (a crash may have come before its commit frame
 * was durable): same salts, frames up to its end, the last one the group's commit frame (page 1,
 * the pulled size) and no commit frame between the local end and it. The shape check keeps an
 * intent the browser failed to forget from mistaking local commits made after an undone pull for
 * the group: SQLite writes a commit's pages in page order, so its commit frame is page 1 only when
 * its last write held page 1 alone.
 */
export function pullGroupInWal(state: WalState, intent: PullIntent): boolean {
  if (state.header === null || state.header.salt1 !== intent.salt1 || state.header.salt2 !== intent.salt2) return false;
  if (state.frames < intent.applyEndFrame || intent.applyEndFrame <= intent.localEndFrame) return false;
  const last = intent.applyEndFrame - 1;
  if (state.framePgnos[last] !== 1 || state.frameCommitSizes[last] !== intent.dbSizePages) return false;
  for (let f = intent.localEndFrame; f < last; f++) if (state.frameCommitSizes[f] !== 0) return false;
  return true;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, value);
}
