/**
 * The database as a pull would leave it, readable before anything is applied: the synced base with
 * the downloaded pages laid over it, cut to the server's size. The engine opens a read-only
 * connection on it to check that the server holds this client's pushes (a reset or replaced server
 * does not) before the pull touches the local database.
 */
import type { FileStore } from '../vfs/file-store.js';
import type { ChangesFileReader } from './changes-file.js';
import type { SyncedBase } from './synced-base.js';

const IN_HEADER_DB_SIZE_OFFSET = 28;
const FILE_FORMAT_WRITE_VERSION = 18;
const FILE_FORMAT_READ_VERSION = 19;

export class PulledStateFileStore implements FileStore {
  readonly #base: SyncedBase;
  readonly #changes: ChangesFileReader;
  readonly #pageSize: number;
  readonly #sizePages: number;
  /** Downloaded pages: page number → entry index in the changes file. */
  readonly #pulled = new Map<number, number>();

  constructor(base: SyncedBase, changes: ChangesFileReader, pageSize: number) {
    this.#base = base;
    this.#changes = changes;
    this.#pageSize = pageSize;
    this.#sizePages = changes.summary.dbSizePages;
    changes.pgnos().forEach((pgno, index) => this.#pulled.set(pgno, index));
  }

  read(dest: Uint8Array, at: number): number {
    const total = Math.max(0, Math.min(dest.length, this.size() - at));
    let done = 0;
    while (done < total) {
      const pos = at + done;
      const pgno = Math.floor(pos / this.#pageSize) + 1;
      const inPage = pos % this.#pageSize;
      const n = Math.min(this.#pageSize - inPage, total - done);
      const page = this.#page(pgno);
      if (page) dest.set(page.subarray(inPage, inPage + n), done);
      else dest.fill(0, done, done + n);
      done += n;
    }
    return total;
  }

  #page(pgno: number): Uint8Array | null {
    const index = this.#pulled.get(pgno);
    const page = index !== undefined ? this.#changes.pageAt(index) : this.#base.page(pgno);
    if (!page || pgno !== 1) return page;
    // As the apply does: the header's page count is the server's (SQLite trusts it when valid).
    const header = page.slice();
    new DataView(header.buffer).setUint32(IN_HEADER_DB_SIZE_OFFSET, this.#sizePages);
    // Read as a rollback-journal database: a read-only view has no WAL of its own.
    header[FILE_FORMAT_WRITE_VERSION] = 1;
    header[FILE_FORMAT_READ_VERSION] = 1;
    return header;
  }

  size(): number {
    return this.#sizePages * this.#pageSize;
  }

  write(): void {
    throw new Error('the pulled state is read-only');
  }

  truncate(): void {
    throw new Error('the pulled state is read-only');
  }

  flush(): void {}

  close(): void {}
}
