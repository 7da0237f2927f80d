/**
 * The revert store (`<db>-revert`): synced-base versions of pages that local changes overwrote,
 * saved before a checkpoint folds those changes into the database file. With it the synced base
 * stays reconstructible: base page P = newest WAL frame ≤ watermark, else the revert store's P,
 * else the database file's P (ARCHITECTURE.md section 3).
 *
 * Layout: a 16-byte header (magic, version, entry count, base page count), then entries of
 * [pgno u32][page]. Entries are written and flushed before the header's count is raised, so a crash
 * mid-append leaves the store as it was.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { FileStore } from '../vfs/file-store.js';
import type { PageImage } from '../vfs/wal-log.js';

const MAGIC = 0x57535256; // "WSRV"
const VERSION = 1;
const HEADER_SIZE = 16;

export class RevertStore {
  readonly #file: FileStore;
  readonly #pageSize: number;
  #offsets = new Map<number, number>();
  #basePages = 0;

  constructor(file: FileStore, pageSize: number) {
    this.#file = file;
    this.#pageSize = pageSize;
    this.#load();
  }

  has(pgno: number): boolean {
    return this.#offsets.has(pgno);
  }

  pgnos(): number[] {
    return [...this.#offsets.keys()];
  }

  read(pgno: number): Uint8Array | null {
    const offset = this.#offsets.get(pgno);
    if (offset === undefined) return null;
    const page = new Uint8Array(this.#pageSize);
    this.#file.read(page, offset);
    return page;
  }

  /** Saves base versions of pages not saved yet; durable when this returns. */
  append(pages: readonly PageImage[], basePages: number): void {
    const fresh = pages.filter((p) => !this.#offsets.has(p.pgno));
    if (fresh.length === 0 && basePages === this.#basePages && this.#file.size() >= HEADER_SIZE) return;
    const entrySize = 4 + this.#pageSize;
    let offset = HEADER_SIZE + this.#offsets.size * entrySize;
    const added = new Map<number, number>();
    for (const page of fresh) {
      const entry = new Uint8Array(entrySize);
      new DataView(entry.buffer).setUint32(0, page.pgno);
      entry.set(page.data, 4);
      this.#file.write(entry, offset);
      added.set(page.pgno, offset + 4);
      offset += entrySize;
    }
    this.#file.flush();
    this.#writeHeader(this.#offsets.size + added.size, basePages);
    for (const [pgno, at] of added) this.#offsets.set(pgno, at);
    this.#basePages = basePages;
  }

  clear(): void {
    // Usually empty already (no local write since the last pull); an OPFS truncate and flush cost
    // milliseconds even then. An empty file is durable as such: every clear flushes.
    if (this.#file.size() > 0) {
      this.#file.truncate(0);
      this.#file.flush();
    }
    this.#offsets = new Map();
    this.#basePages = 0;
  }

  #writeHeader(count: number, basePages: number): void {
    const header = new Uint8Array(HEADER_SIZE);
    const v = new DataView(header.buffer);
    v.setUint32(0, MAGIC);
    v.setUint32(4, VERSION);
    v.setUint32(8, count);
    v.setUint32(12, basePages);
    this.#file.write(header, 0);
    this.#file.flush();
  }

  #load(): void {
    if (this.#file.size() < HEADER_SIZE) return;
    const header = new Uint8Array(HEADER_SIZE);
    this.#file.read(header, 0);
    const v = new DataView(header.buffer);
    if (v.getUint32(0) !== MAGIC || v.getUint32(4) !== VERSION) {
      throw new WalsyncError('INTERNAL', 'the revert store is not in a format this version understands');
    }
    const count = v.getUint32(8);
    this.#basePages = v.getUint32(12);
    const entrySize = 4 + this.#pageSize;
    const pgnoBytes = new Uint8Array(4);
    for (let i = 0; i < count; i++) {
      const at = HEADER_SIZE + i * entrySize;
      this.#file.read(pgnoBytes, at);
      this.#offsets.set(new DataView(pgnoBytes.buffer).getUint32(0), at + 4);
    }
  }
}
