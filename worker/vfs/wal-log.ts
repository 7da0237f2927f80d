/**
 * Frame-level access to a database's WAL, for the sync engine. SQLite owns the WAL while a connection
 * is open; the engine reads it any time, but appends or truncates only while the connection is closed
 * (SQLite keeps its wal-index in heap memory in exclusive locking mode and would not see our frames).
 */
import { WalsyncError } from '../../contract/errors.js';
import type { FileStore } from './file-store.js';
import { PageViewFile } from './page-view-file.js';
import {
  type Checksum,
  type WalHeader,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  decodeWalFrameHeader,
  decodeWalHeader,
  encodeWalFrame,
  encodeWalHeader,
  walChecksum,
  walFrameOffset,
} from './wal-format.js';

export interface WalState {
  /** The WAL header, or null when the WAL is empty or its header is not valid. */
  readonly header: WalHeader | null;
  /** Frames SQLite's recovery would accept: every valid frame up to and including the last commit frame. */
  readonly frames: number;
  /** Database size in pages as of the last commit frame (from the DB file when there are no frames). */
  readonly dbSizePages: number;
  /** Checksum after the last accepted frame: the seed for the next appended frame. */
  readonly checksum: Checksum;
  /** pgno of frame i+1 (frames are 1-based). */
  readonly framePgnos: Uint32Array;
  /** Database size after frame i+1 if it is a commit frame, else 0. */
  readonly frameCommitSizes: Uint32Array;
}

export interface PageImage {
  readonly pgno: number;
  readonly data: Uint8Array;
}

/** How many frames to read per I/O call while scanning; keeps the call count low on large WALs. */
const SCAN_BATCH_FRAMES = 64;

export class WalLog {
  readonly #db: FileStore;
  readonly #wal: FileStore;
  readonly pageSize: number;
  /** The last state read, so the next read scans only newer frames. */
  #last: WalState | null = null;

  constructor(db: FileStore, wal: FileStore, pageSize: number) {
    this.#db = db;
    this.#wal = wal;
    this.pageSize = pageSize;
  }

  /**
   * The WAL as SQLite's recovery sees it: valid salts and checksum chain, up to the last commit.
   * Only frames after the last state read are scanned: while the header (salts) stays the same,
   * SQLite never rewrites a committed frame — it only appends, and a checkpoint that restarts the
   * log writes a new header. Our own truncateAt() forgets the remembered state.
   */
  state(): WalState {
    this.#last = this.#scan(this.#last ?? undefined);
    return this.#last;
  }

  /** Scans from scratch, or only after `known`, an earlier state of this same log. */
  #scan(known?: WalState): WalState {
    const dbFilePages = Math.floor(this.#db.size() / this.pageSize);
    const empty = (header: WalHeader | null): WalState => ({
      header,
      frames: 0,
      dbSizePages: dbFilePages,
      checksum: header ? [header.checksum1, header.checksum2] : [0, 0],
      framePgnos: new Uint32Array(0),
      frameCommitSizes: new Uint32Array(0),
    });
    const walSize = this.#wal.size();
    if (walSize < WAL_HEADER_SIZE) return empty(null);
    const headerBytes = new Uint8Array(WAL_HEADER_SIZE);
    this.#wal.read(headerBytes, 0);
    const header = decodeWalHeader(headerBytes);
    if (!header || header.pageSize !== this.pageSize) return empty(null);

    const frameSize = WAL_FRAME_HEADER_SIZE + this.pageSize;
    const maxFrames = Math.floor((walSize - WAL_HEADER_SIZE) / frameSize);
    const pgnos = new Uint32Array(maxFrames);
    const commitSizes = new Uint32Array(maxFrames);
    let checksum: Checksum = [header.checksum1, header.checksum2];
    let lastCommit = 0;
    let lastCommitChecksum = checksum;
    let lastCommitSize = dbFilePages;
    let start = 1;
    const sameLog =
      known?.header &&
      known.header.salt1 === header.salt1 &&
      known.header.salt2 === header.salt2 &&
      known.header.checksum1 === header.checksum1 &&
      known.header.checksum2 === header.checksum2 &&
      known.frames <= maxFrames;
    if (known && sameLog && known.frames > 0) {
      pgnos.set(known.framePgnos.subarray(0, known.frames));
      commitSizes.set(known.frameCommitSizes.subarray(0, known.frames));
      checksum = lastCommitChecksum = known.checksum;
      lastCommit = known.frames;
      lastCommitSize = known.dbSizePages;
      start = known.frames + 1;
    }
    const buf = new Uint8Array(frameSize * SCAN_BATCH_FRAMES);
    scan: for (let first = start; first <= maxFrames; first += SCAN_BATCH_FRAMES) {
      const count = Math.min(SCAN_BATCH_FRAMES, maxFrames - first + 1);
      const chunk = buf.subarray(0, count * frameSize);
      if (this.#wal.read(chunk, walFrameOffset(first, this.pageSize)) < chunk.length) break;
      for (let i = 0; i < count; i++) {
        const frameBytes = chunk.subarray(i * frameSize, (i + 1) * frameSize);
        const fh = decodeWalFrameHeader(frameBytes);
        if (fh.pgno === 0 || fh.salt1 !== header.salt1 || fh.salt2 !== header.salt2) break scan;
        checksum = walChecksum(frameBytes.subarray(0, 8), checksum, header.bigEndianChecksum);
        checksum = walChecksum(frameBytes.subarray(WAL_FRAME_HEADER_SIZE), checksum, header.bigEndianChecksum);
        if (checksum[0] !== fh.checksum1 || checksum[1] !== fh.checksum2) break scan;
        const frame = first + i;
        pgnos[frame - 1] = fh.pgno;
        commitSizes[frame - 1] = fh.dbSizeAfterCommit;
        if (fh.dbSizeAfterCommit !== 0) {
          lastCommit = frame;
          lastCommitChecksum = checksum;
          lastCommitSize = fh.dbSizeAfterCommit;
        }
      }
    }
    return {
      header,
      frames: lastCommit,
      dbSizePages: lastCommitSize,
      checksum: lastCommitChecksum,
      framePgnos: pgnos.slice(0, lastCommit),
      frameCommitSizes: commitSizes.slice(0, lastCommit),
    };
  }

  /** Pages written by frames after `frame` (exclusive) up to the last commit, in first-seen order. */
  changedPagesAfter(frame: number, state: WalState = this.state()): number[] {
    const seen = new Set<number>();
    for (let f = frame + 1; f <= state.frames; f++) seen.add(state.framePgnos[f - 1]!);
    return [...seen];
  }

  /** Database size in pages as seen by a reader at commit frame `frame` (0 = the DB file alone). */
  dbSizeAt(frame: number, state: WalState = this.state()): number {
    for (let f = Math.min(frame, state.frames); f >= 1; f--) {
      const size = state.frameCommitSizes[f - 1]!;
      if (size !== 0) return size;
    }
    return Math.floor(this.#db.size() / this.pageSize);
  }

  /** WAL frame holding the newest version of `pgno` at or before `asOfFrame`, or 0 if none. */
  frameOf(pgno: number, asOfFrame: number, state: WalState = this.state()): number {
    for (let f = Math.min(asOfFrame, state.frames); f >= 1; f--) {
      if (state.framePgnos[f - 1] === pgno) return f;
    }
    return 0;
  }

  /** Page `pgno` as a reader at frame `asOfFrame` sees it; null if the page did not exist then. */
  readPage(pgno: number, asOfFrame: number, state: WalState = this.state()): Uint8Array | null {
    if (pgno < 1 || pgno > this.dbSizeAt(asOfFrame, state)) return null;
    const page = new Uint8Array(this.pageSize);
    const frame = this.frameOf(pgno, asOfFrame, state);
    if (frame !== 0) {
      this.#wal.read(page, walFrameOffset(frame, this.pageSize) + WAL_FRAME_HEADER_SIZE);
    } else {
      // Past the end of the DB file the page reads as zeros, as SQLite itself would see it.
      this.#db.read(page, (pgno - 1) * this.pageSize);
    }
    return page;
  }

  /** Page `pgno` as stored in the database file itself, ignoring the WAL (zeros past its end). */
  readDbFilePage(pgno: number): Uint8Array {
    const page = new Uint8Array(this.pageSize);
    this.#db.read(page, (pgno - 1) * this.pageSize);
    return page;
  }

  /**
   * Appends one transaction: `pages` in order, the last frame marked as commit with `dbSizePages`.
   * Pages are consumed as they come (an iterator may stream them from disk). Anything after the last
   * commit frame (an uncommitted tail) is overwritten and cut off, so a stale frame can never extend
   * the checksum chain. Flushes before returning; the transaction exists once the flush is done.
   */
  appendCommitGroup(
    pages: Iterable<PageImage>,
    dbSizePages: number,
    state: WalState = this.state(),
    saltsForNewLog: readonly [number, number] = newWalSalts(),
  ): WalState {
    let header = state.header;
    let offset: number;
    if (!header) {
      const bytes = encodeWalHeader({
        bigEndianChecksum: false,
        pageSize: this.pageSize,
        checkpointSeq: 0,
        salt1: saltsForNewLog[0],
        salt2: saltsForNewLog[1],
      });
      header = decodeWalHeader(bytes)!;
      this.#wal.write(bytes, 0);
      offset = WAL_HEADER_SIZE;
    } else {
      offset = walFrameOffset(state.frames + 1, this.pageSize);
    }
    const frameHeader = header;
    const start = state.header ? state.frames : 0;
    let checksum: Checksum = state.header ? state.checksum : [header.checksum1, header.checksum2];
    const frameSize = WAL_FRAME_HEADER_SIZE + this.pageSize;
    const batch = new Uint8Array(frameSize * SCAN_BATCH_FRAMES);
    let inBatch = 0;
    const pgnos: number[] = [];
    const flushBatch = () => {
      this.#wal.write(batch.subarray(0, inBatch * frameSize), offset);
      offset += inBatch * frameSize;
      inBatch = 0;
    };
    // One page of lookahead: the commit mark goes on the last page, known only when the iterator ends.
    let pending: PageImage | undefined;
    const emit = (page: PageImage, commitSize: number) => {
      if (page.data.length !== this.pageSize) {
        throw new WalsyncError('INTERNAL', `page ${page.pgno} has ${page.data.length} bytes, expected ${this.pageSize}`);
      }
      checksum = encodeWalFrame(batch.subarray(inBatch * frameSize, (inBatch + 1) * frameSize), frameHeader, page.pgno, commitSize, page.data, checksum);
      pgnos.push(page.pgno);
      inBatch++;
      if (inBatch === SCAN_BATCH_FRAMES) flushBatch();
    };
    for (const page of pages) {
      if (pending) emit(pending, 0);
      pending = page;
    }
    if (!pending) throw new WalsyncError('INTERNAL', 'appendCommitGroup needs at least one page');
    emit(pending, dbSizePages);
    if (inBatch > 0) flushBatch();
    this.#wal.truncate(offset);
    this.#wal.flush();
    // The new state is what was just written: the frames need no second read and checksum. The
    // commit frame's header is read back, the check that the whole group reached the file.
    const frames = start + pgnos.length;
    const written = new Uint8Array(WAL_FRAME_HEADER_SIZE);
    this.#wal.read(written, walFrameOffset(frames, this.pageSize));
    const commit = decodeWalFrameHeader(written);
    if (commit.pgno !== pending.pgno || commit.dbSizeAfterCommit !== dbSizePages || commit.checksum1 !== checksum[0] || commit.checksum2 !== checksum[1]) {
      this.#last = null;
      throw new WalsyncError('INTERNAL', `the WAL commit frame ${frames} does not read back as written`);
    }
    const framePgnos = new Uint32Array(frames);
    const frameCommitSizes = new Uint32Array(frames);
    if (state.header) {
      framePgnos.set(state.framePgnos.subarray(0, start));
      frameCommitSizes.set(state.frameCommitSizes.subarray(0, start));
    }
    framePgnos.set(pgnos, start);
    frameCommitSizes[frames - 1] = dbSizePages;
    this.#last = { header, frames, dbSizePages, checksum, framePgnos, frameCommitSizes };
    return this.#last;
  }

  /** Cuts the WAL right after commit frame `frame` (0 empties it). Only whole transactions can be cut. */
  truncateAt(frame: number, state: WalState = this.state()): void {
    this.#last = null;
    if (frame === 0) {
      this.#wal.truncate(0);
    } else {
      if (frame > state.frames || state.frameCommitSizes[frame - 1] === 0) {
        throw new WalsyncError('INTERNAL', `WAL frame ${frame} is not a commit frame (WAL has ${state.frames})`);
      }
      this.#wal.truncate(walFrameOffset(frame + 1, this.pageSize));
    }
    this.#wal.flush();
  }

  /**
   * A read-only file presenting the database as of commit frame `frame`, in rollback-journal form
   * (header bytes 18/19 = 1) so a second connection can open it with no WAL at all.
   */
  snapshotAt(frame: number, state: WalState = this.state()): FileStore {
    const sizePages = this.dbSizeAt(frame, state);
    const framesByPage = new Map<number, number>();
    for (let f = 1; f <= Math.min(frame, state.frames); f++) framesByPage.set(state.framePgnos[f - 1]!, f);
    return new SnapshotFileStore(this.#db, this.#wal, this.pageSize, sizePages, framesByPage);
  }
}

class SnapshotFileStore extends PageViewFile {
  readonly #db: FileStore;
  readonly #wal: FileStore;
  readonly #framesByPage: Map<number, number>;

  constructor(db: FileStore, wal: FileStore, pageSize: number, sizePages: number, framesByPage: Map<number, number>) {
    super(pageSize, sizePages);
    this.#db = db;
    this.#wal = wal;
    this.#framesByPage = framesByPage;
  }

  protected readPage(pgno: number, inPage: number, out: Uint8Array): void {
    const frame = this.#framesByPage.get(pgno);
    if (frame !== undefined) {
      this.#wal.read(out, walFrameOffset(frame, this.pageSize) + WAL_FRAME_HEADER_SIZE + inPage);
      return;
    }
    const pos = (pgno - 1) * this.pageSize + inPage;
    if (this.#db.read(out, pos) < out.length) out.fill(0, Math.max(0, this.#db.size() - pos));
  }
}

/** Fresh random salts for a WAL header (callers that must know them in advance pass them in). */
export function newWalSalts(): [number, number] {
  const r = crypto.getRandomValues(new Uint32Array(2));
  return [r[0]!, r[1]!];
}
