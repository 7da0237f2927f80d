/**
 * A FileStore that serves sequential reads from one larger read. SQLite reads a page per call; a
 * scan of a freshly bootstrapped or pulled database (the first `count(*)`) reads every page in file
 * order, and each OPFS read is a call into the browser's storage layer whose cost hardly depends on
 * its size: 5,600 calls for 22 MB, against 22 for the same bytes read a megabyte at a time.
 *
 * Only a read that continues the previous one (or the buffered range) reads ahead, and the window
 * grows from 64 KiB to 1 MiB while the reads stay sequential, so point lookups still read one page.
 * Any write or truncate drops the buffer first: a read never returns bytes older than the file's.
 * This worker holds the file's only access handle, so nothing else can change it underneath.
 */
import type { FileStore } from './file-store.js';

const MIN_WINDOW = 64 * 1024;
const MAX_WINDOW = 1024 * 1024;
/** A read starting this far past the previous one still counts as sequential (a WAL frame's 24-byte header). */
const SEQUENTIAL_GAP = 64;

export class ReadAheadStore implements FileStore {
  readonly #inner: FileStore;
  #buffer: Uint8Array | null = null;
  /** File offset of #buffer[0]; #valid bytes of it hold file data (fewer at the end of the file). */
  #bufferAt = 0;
  #valid = 0;
  /** End offset of the last read served. */
  #lastEnd = -1;
  #window = MIN_WINDOW;

  constructor(inner: FileStore) {
    this.#inner = inner;
  }

  read(dest: Uint8Array, at: number): number {
    const end = at + dest.length;
    if (this.#valid > 0 && at >= this.#bufferAt && end <= this.#bufferAt + this.#valid) {
      dest.set(this.#buffer!.subarray(at - this.#bufferAt, end - this.#bufferAt));
      this.#lastEnd = end;
      return dest.length;
    }
    const bufferEnd = this.#bufferAt + this.#valid;
    const sequential = isNear(at, this.#lastEnd) || (this.#valid > 0 && isNear(at, bufferEnd));
    this.#lastEnd = end;
    if (!sequential || dest.length >= this.#window) {
      this.#window = MIN_WINDOW;
      return this.#inner.read(dest, at);
    }
    this.#buffer ??= new Uint8Array(MAX_WINDOW);
    this.#bufferAt = at;
    this.#valid = this.#inner.read(this.#buffer.subarray(0, this.#window), at);
    this.#window = Math.min(MAX_WINDOW, this.#window * 2);
    const n = Math.max(0, Math.min(dest.length, this.#valid));
    dest.set(this.#buffer.subarray(0, n));
    return n;
  }

  write(src: Uint8Array, at: number): void {
    this.#drop();
    this.#inner.write(src, at);
  }

  size(): number {
    return this.#inner.size();
  }

  truncate(size: number): void {
    this.#drop();
    this.#inner.truncate(size);
  }

  flush(): void {
    this.#inner.flush();
  }

  close(): void {
    this.#drop();
    this.#buffer = null;
    this.#inner.close();
  }

  #drop(): void {
    this.#valid = 0;
    this.#lastEnd = -1;
    this.#window = MIN_WINDOW;
  }
}

function isNear(at: number, end: number): boolean {
  return end >= 0 && at >= end && at - end <= SEQUENTIAL_GAP;
}
