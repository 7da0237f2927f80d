/**
 * A FileStore for the WAL that grows its file ahead in zero-filled chunks, so the commits that follow
 * write inside space the file system has already allocated. Measured in Chromium on ext4
 * (bench/opfs-write-probe.ts): a write followed by a flush costs about a third less when it
 * overwrites existing zeros than when it extends the file (the flush must then also commit the new
 * size and blocks); without a flush the two cost the same, so `durability: 'normal'` neither gains
 * nor loses.
 *
 * The store keeps the file's logical size (the end of what was written or truncated to) apart from
 * its physical size, and answers size() and reads with the logical one; past it lie only zeros.
 *
 * Why this is crash safe:
 * - Every write goes to the file first, exactly as without this store; the chunk of zeros is added
 *   after it. A crash between the two leaves what exact growth leaves, and a write that fits in the
 *   quota is never refused because of the chunk: a refused chunk (QuotaExceededError, or any other
 *   failure) only leaves the file at its exact size, and no chunk is tried again until the file
 *   shrinks.
 * - Past the logical end there are only zeros this store wrote, or bytes SQLite wrote itself and
 *   left there (an uncommitted tail), as without this store. A shrink (SQLite's truncating
 *   checkpoint, the sync engine cutting frames off) truncates the file itself to the exact size,
 *   so frames that were cut never wait past the logical end to be found again.
 * - After a crash the file is reopened with logical size = physical size: the zero tail is part of
 *   the log as SQLite and our WalLog see it. Both scan frames from the start and stop at the first
 *   frame that is not valid; a zero frame has page number 0 and salts that are not the log's, so
 *   it never is, and SQLite writes its next frame right after the last valid commit, inside the
 *   tail. The only cost is a scan of at most one chunk more, and an automatic checkpoint that may
 *   come up to one chunk early. A clean close trims the file back to its logical size.
 */
import type { FileStore } from './file-store.js';

/** How far ahead the file grows: a 4 KB-page frame is 4120 bytes, so about 250 commits per chunk. */
export const WAL_PREALLOCATION_CHUNK = 1024 * 1024;

/**
 * Only writes up to this size grow the file ahead: SQLite's, a frame at a time, each commit's
 * followed by a flush in 'full'. The sync engine appends frames in batches of 64 (264 KiB) and
 * flushes once per group: zeros ahead of those would only double the bytes written.
 */
const GROW_AHEAD_MAX_WRITE = 64 * 1024;

export class PreallocatingStore implements FileStore {
  readonly #inner: FileStore;
  readonly #chunk: number;
  #logical: number;
  #physical: number;
  /** Set when growing ahead failed (near the quota): grow exactly until the file shrinks again. */
  #refused = false;
  #zeros: Uint8Array | null = null;

  constructor(inner: FileStore, chunkBytes = WAL_PREALLOCATION_CHUNK) {
    this.#inner = inner;
    this.#chunk = chunkBytes;
    // A tail of zeros left by a crash is indistinguishable from the log's end: see the top of the file.
    this.#logical = this.#physical = inner.size();
  }

  read(dest: Uint8Array, at: number): number {
    const n = Math.max(0, Math.min(dest.length, this.#logical - at));
    return n === 0 ? 0 : this.#inner.read(n === dest.length ? dest : dest.subarray(0, n), at);
  }

  write(src: Uint8Array, at: number): void {
    const end = at + src.length;
    // The data first, exactly as without preallocation: its success never depends on the chunk.
    this.#inner.write(src, at);
    if (end > this.#logical) this.#logical = end;
    if (end > this.#physical) {
      this.#physical = end;
      if (src.length <= GROW_AHEAD_MAX_WRITE) this.#growAhead();
    }
  }

  size(): number {
    return this.#logical;
  }

  truncate(size: number): void {
    // Always the file itself, to the exact size: cut frames must not survive past the logical end.
    this.#inner.truncate(size);
    this.#logical = this.#physical = size;
    this.#refused = false;
  }

  flush(): void {
    this.#inner.flush();
  }

  close(): void {
    try {
      // Only zeros lie between the two sizes; shrinking needs no quota.
      if (this.#physical > this.#logical) this.#inner.truncate(this.#logical);
    } finally {
      this.#inner.close();
    }
  }

  /** Writes zeros from the physical end to the next chunk boundary past it. */
  #growAhead(): void {
    if (this.#refused) return;
    const target = (Math.floor(this.#physical / this.#chunk) + 1) * this.#chunk;
    const length = target - this.#physical;
    this.#zeros ??= new Uint8Array(this.#chunk);
    try {
      this.#inner.write(this.#zeros.subarray(0, length), this.#physical);
      this.#physical = target;
    } catch {
      // Out of quota, typically: the data is written; stay exact. Whatever part of the zeros got
      // written is zeros past the logical end, harmless; the file's own size says where it ends.
      this.#refused = true;
      try {
        this.#physical = Math.max(this.#logical, this.#inner.size());
      } catch {
        // The next write or truncate reports a broken file.
      }
    }
  }
}
