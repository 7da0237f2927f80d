/**
 * A FileStore for the WAL that turns SQLite's two writes per frame (its 24-byte header, then the
 * page) into one. Each OPFS write is a call into the browser's storage layer whose cost hardly
 * depends on its size, so an autocommit insert (one frame) paid for two.
 *
 * Only a small append is held back, and only until the next call: SQLite writes a frame's header
 * and its page back to back (and the log header right before the first frame), so the write that
 * follows a held one continues it, and both go out as one. Any other call (read, size, truncate,
 * flush, close, a write elsewhere) first writes out what is held, so nothing observable changes and
 * nothing held outlives the frame it belongs to: the last write of a transaction is always a page,
 * so a commit is fully handed to the file before SQLite returns (with or without a flush).
 */
import type { FileStore } from './file-store.js';

/** Writes up to this size are held (a frame header is 24 bytes, the log header 32). */
const HOLD_MAX_BYTES = 64;

export class AppendCoalescingStore implements FileStore {
  readonly #inner: FileStore;
  /** Bytes held for offset #heldAt; #heldLength of them are valid. */
  readonly #held = new Uint8Array(HOLD_MAX_BYTES);
  #heldAt = 0;
  #heldLength = 0;
  #scratch = new Uint8Array(0);

  constructor(inner: FileStore) {
    this.#inner = inner;
  }

  read(dest: Uint8Array, at: number): number {
    this.#writeHeld();
    return this.#inner.read(dest, at);
  }

  write(src: Uint8Array, at: number): void {
    const continuesHeld = this.#heldLength > 0 && at === this.#heldAt + this.#heldLength;
    if (this.#heldLength > 0 && !continuesHeld) this.#writeHeld();
    if (this.#heldLength + src.length <= HOLD_MAX_BYTES) {
      if (this.#heldLength === 0) this.#heldAt = at;
      this.#held.set(src, this.#heldLength);
      this.#heldLength += src.length;
      return;
    }
    if (this.#heldLength === 0) {
      this.#inner.write(src, at);
      return;
    }
    const total = this.#heldLength + src.length;
    if (this.#scratch.length < total) this.#scratch = new Uint8Array(total);
    const joined = this.#scratch.subarray(0, total);
    joined.set(this.#held.subarray(0, this.#heldLength));
    joined.set(src, this.#heldLength);
    const heldAt = this.#heldAt;
    // Dropped before the write: if it throws, SQLite sees the error and nothing stale is retried.
    this.#heldLength = 0;
    this.#inner.write(joined, heldAt);
  }

  size(): number {
    this.#writeHeld();
    return this.#inner.size();
  }

  truncate(size: number): void {
    this.#writeHeld();
    this.#inner.truncate(size);
  }

  flush(): void {
    this.#writeHeld();
    this.#inner.flush();
  }

  close(): void {
    try {
      this.#writeHeld();
    } finally {
      this.#inner.close();
    }
  }

  #writeHeld(): void {
    if (this.#heldLength === 0) return;
    const length = this.#heldLength;
    this.#heldLength = 0;
    this.#inner.write(this.#held.subarray(0, length), this.#heldAt);
  }
}
