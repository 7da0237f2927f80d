/**
 * A read-only file made of whole database pages that a subclass supplies, for opening a second,
 * read-only SQLite connection on a state that exists only as pages: the WAL as of an older frame
 * (a pull's replay reads the old local state there), or the state a pull would produce (checked
 * before it is applied). Page 1 is presented in rollback-journal form (file-format bytes 18/19 = 1)
 * so that SQLite opens the view with no WAL of its own.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { FileStore } from './file-store.js';

/** The header's file-format write and read versions: 1 = rollback journal, 2 = WAL. */
const FILE_FORMAT_VERSION_OFFSETS = [18, 19] as const;

export abstract class PageViewFile implements FileStore {
  protected readonly pageSize: number;
  protected readonly sizePages: number;

  constructor(pageSize: number, sizePages: number) {
    this.pageSize = pageSize;
    this.sizePages = sizePages;
  }

  /** Copies bytes `inPage` … `inPage + out.length` of page `pgno` into `out` (zeros for a page that has none). */
  protected abstract readPage(pgno: number, inPage: number, out: Uint8Array): void;

  read(dest: Uint8Array, at: number): number {
    const total = Math.max(0, Math.min(dest.length, this.size() - at));
    for (let done = 0; done < total; ) {
      const pos = at + done;
      const pgno = Math.floor(pos / this.pageSize) + 1;
      const inPage = pos % this.pageSize;
      const out = dest.subarray(done, done + Math.min(this.pageSize - inPage, total - done));
      this.readPage(pgno, inPage, out);
      if (pgno === 1) patchRollbackMode(out, inPage);
      done += out.length;
    }
    return total;
  }

  size(): number {
    return this.sizePages * this.pageSize;
  }

  write(): void {
    throw new WalsyncError('INTERNAL', 'a page view of the database is read-only');
  }

  truncate(): void {
    throw new WalsyncError('INTERNAL', 'a page view of the database is read-only');
  }

  flush(): void {}

  close(): void {}
}

/** Sets the file-format versions to 1 (rollback journal) within a slice of page 1 starting at `sliceStart`. */
function patchRollbackMode(slice: Uint8Array, sliceStart: number): void {
  for (const offset of FILE_FORMAT_VERSION_OFFSETS) {
    const i = offset - sliceStart;
    if (i >= 0 && i < slice.length) slice[i] = 1;
  }
}
