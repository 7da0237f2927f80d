/**
 * A byte-addressed file with synchronous I/O: the shape SQLite's VFS needs (its callbacks cannot await).
 * In the browser it is an OPFS sync access handle; in Node tests and for SQLite's temp files it is memory.
 */
export interface FileStore {
  /** Reads into `dest` from offset `at`; returns the number of bytes read (short at end of file). */
  read(dest: Uint8Array, at: number): number;
  /** Writes all of `src` at offset `at`, extending the file if needed. */
  write(src: Uint8Array, at: number): void;
  size(): number;
  truncate(size: number): void;
  /** Makes written bytes durable. */
  flush(): void;
  close(): void;
}

/** A growable in-memory file. Used for temp files, `:memory:`-like tests and the Node unit tests. */
export class MemoryFileStore implements FileStore {
  #bytes: Uint8Array;
  #size = 0;

  constructor(initial?: Uint8Array) {
    this.#bytes = new Uint8Array(Math.max(4096, initial?.length ?? 0));
    if (initial) {
      this.#bytes.set(initial);
      this.#size = initial.length;
    }
  }

  read(dest: Uint8Array, at: number): number {
    const n = Math.max(0, Math.min(dest.length, this.#size - at));
    if (n > 0) dest.set(this.#bytes.subarray(at, at + n));
    return n;
  }

  write(src: Uint8Array, at: number): void {
    const end = at + src.length;
    this.#ensureCapacity(end);
    this.#bytes.set(src, at);
    if (end > this.#size) this.#size = end;
  }

  size(): number {
    return this.#size;
  }

  truncate(size: number): void {
    if (size > this.#size) this.#ensureCapacity(size);
    else this.#bytes.fill(0, size, this.#size);
    this.#size = size;
  }

  flush(): void {}

  close(): void {}

  #ensureCapacity(n: number): void {
    if (n <= this.#bytes.length) return;
    let cap = this.#bytes.length * 2;
    while (cap < n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#bytes.subarray(0, this.#size));
    this.#bytes = next;
  }
}
