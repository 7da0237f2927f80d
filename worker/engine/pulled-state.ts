/**
 * The database as a pull would leave it, readable before anything is applied: the synced base with
 * the downloaded pages laid over it, cut to the server's size. The engine opens a read-only
 * connection on it to check that the server holds this client's pushes (a reset or replaced server
 * does not) before the pull touches the local database.
 */
import { PageViewFile } from '../vfs/page-view-file.js';
import type { ChangesFileReader } from './changes-file.js';
import type { SyncedBase } from './synced-base.js';

const IN_HEADER_DB_SIZE_OFFSET = 28;

export class PulledStateFileStore extends PageViewFile {
  readonly #base: SyncedBase;
  readonly #changes: ChangesFileReader;
  /** Downloaded pages: page number → entry index in the changes file. */
  readonly #pulled = new Map<number, number>();

  constructor(base: SyncedBase, changes: ChangesFileReader, pageSize: number) {
    super(pageSize, changes.summary.dbSizePages);
    this.#base = base;
    this.#changes = changes;
    changes.pgnos().forEach((pgno, index) => this.#pulled.set(pgno, index));
  }

  protected readPage(pgno: number, inPage: number, out: Uint8Array): void {
    const page = this.#page(pgno);
    if (page) out.set(page.subarray(inPage, inPage + out.length));
    else out.fill(0);
  }

  #page(pgno: number): Uint8Array | null {
    const index = this.#pulled.get(pgno);
    const page = index !== undefined ? this.#changes.pageAt(index) : this.#base.page(pgno);
    if (!page || pgno !== 1) return page;
    // As the apply does: the header's page count is the server's (SQLite trusts it when valid).
    const header = page.slice();
    new DataView(header.buffer).setUint32(IN_HEADER_DB_SIZE_OFFSET, this.sizePages);
    return header;
  }
}
