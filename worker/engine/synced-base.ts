/**
 * The synced base: the exact remote database at the revision last pulled, rebuilt on demand from
 * the WAL frames up to the watermark, the revert store and the database file (ARCHITECTURE.md §3).
 */
import type { WalLog, WalState } from '../vfs/wal-log.js';
import type { WalWatermark } from './metadata.js';
import type { RevertStore } from './revert-store.js';

/**
 * The watermark as a frame of the current WAL: 0 when the WAL was reset since it was recorded
 * (a checkpoint folded the base into the database file and the salts changed).
 */
export function effectiveWatermark(watermark: WalWatermark, state: WalState): number {
  if (watermark.frame === 0 || !state.header) return 0;
  if (state.header.salt1 !== watermark.salt1 || state.header.salt2 !== watermark.salt2) return 0;
  return Math.min(watermark.frame, state.frames);
}

export class SyncedBase {
  readonly #log: WalLog;
  readonly #state: WalState;
  readonly #revert: RevertStore;
  readonly watermark: number;
  readonly pageCount: number;

  constructor(log: WalLog, state: WalState, revert: RevertStore, watermark: number, pageCount: number) {
    this.#log = log;
    this.#state = state;
    this.#revert = revert;
    this.watermark = watermark;
    this.pageCount = pageCount;
  }

  /** Base version of `pgno`, or null if the base has no such page. */
  page(pgno: number): Uint8Array | null {
    if (pgno < 1 || pgno > this.pageCount) return null;
    if (this.#log.frameOf(pgno, this.watermark, this.#state) !== 0) return this.#log.readPage(pgno, this.watermark, this.#state);
    const saved = this.#revert.read(pgno);
    if (saved) return saved;
    // The DB file may be shorter than the base (pages only in frames ≤ W that a checkpoint has not
    // folded yet would have been found above); a missing page reads as zeros like SQLite sees it.
    const page = this.#log.readDbFilePage(pgno);
    return page;
  }
}
