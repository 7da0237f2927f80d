/**
 * The changes file (`<db>-changes`): pages of one pull, streamed to disk as they arrive so a large
 * pull never sits in memory. Layout: a header page (magic, version, db size, page count, revision),
 * then entries of [pgno u32][page]. The header is written last, after the entries are flushed: a
 * file without a complete header is an unfinished download and is ignored.
 */
import { WalsyncError } from '../errors.js';
import type { FileStore } from '../vfs/file-store.js';

const MAGIC = 0x57534348; // "WSCH"
const VERSION = 1;
const HEADER_SIZE = 4096;

export interface ChangesSummary {
  readonly revision: string;
  readonly dbSizePages: number;
  readonly pageCount: number;
}

export class ChangesFileWriter {
  readonly #file: FileStore;
  readonly #pageSize: number;
  #count = 0;
  readonly #seen = new Map<number, number>();

  constructor(file: FileStore, pageSize: number) {
    this.#file = file;
    this.#pageSize = pageSize;
    this.#file.truncate(0);
  }

  /** Adds a page; a page sent twice keeps its last version. */
  add(pgno: number, data: Uint8Array): void {
    if (data.length !== this.#pageSize) {
      throw new WalsyncError('PROTOCOL_ERROR', `the server sent a ${data.length}-byte page; pages must be ${this.#pageSize} bytes`);
    }
    const entry = new Uint8Array(4 + this.#pageSize);
    new DataView(entry.buffer).setUint32(0, pgno);
    entry.set(data, 4);
    const existing = this.#seen.get(pgno);
    const index = existing ?? this.#count++;
    this.#seen.set(pgno, index);
    this.#file.write(entry, HEADER_SIZE + index * entry.length);
  }

  /** Makes the download durable and complete. */
  finish(revision: string, dbSizePages: number): ChangesSummary {
    this.#file.flush();
    const header = new Uint8Array(HEADER_SIZE);
    const v = new DataView(header.buffer);
    const revisionBytes = new TextEncoder().encode(revision);
    if (revisionBytes.length > HEADER_SIZE - 20) throw new WalsyncError('PROTOCOL_ERROR', 'the server revision is too long');
    v.setUint32(0, MAGIC);
    v.setUint32(4, VERSION);
    v.setUint32(8, dbSizePages);
    v.setUint32(12, this.#count);
    v.setUint32(16, revisionBytes.length);
    header.set(revisionBytes, 20);
    this.#file.write(header, 0);
    this.#file.flush();
    return { revision, dbSizePages, pageCount: this.#count };
  }
}

export class ChangesFileReader {
  readonly #file: FileStore;
  readonly #pageSize: number;
  readonly summary: ChangesSummary;

  /** Returns null when the file holds no complete download. */
  static open(file: FileStore, pageSize: number): ChangesFileReader | null {
    if (file.size() < HEADER_SIZE) return null;
    const header = new Uint8Array(HEADER_SIZE);
    file.read(header, 0);
    const v = new DataView(header.buffer);
    if (v.getUint32(0) !== MAGIC || v.getUint32(4) !== VERSION) return null;
    const revision = new TextDecoder().decode(header.subarray(20, 20 + v.getUint32(16)));
    return new ChangesFileReader(file, pageSize, { revision, dbSizePages: v.getUint32(8), pageCount: v.getUint32(12) });
  }

  private constructor(file: FileStore, pageSize: number, summary: ChangesSummary) {
    this.#file = file;
    this.#pageSize = pageSize;
    this.summary = summary;
  }

  /** Page numbers in the file, in file order (no data read). */
  pgnos(): number[] {
    const out: number[] = [];
    const buf = new Uint8Array(4);
    for (let i = 0; i < this.summary.pageCount; i++) {
      this.#file.read(buf, HEADER_SIZE + i * (4 + this.#pageSize));
      out.push(new DataView(buf.buffer).getUint32(0));
    }
    return out;
  }

  /** Streams the pages from disk, one at a time. */
  *pages(): Generator<{ pgno: number; data: Uint8Array }> {
    const entrySize = 4 + this.#pageSize;
    for (let i = 0; i < this.summary.pageCount; i++) {
      const entry = new Uint8Array(entrySize);
      this.#file.read(entry, HEADER_SIZE + i * entrySize);
      yield { pgno: new DataView(entry.buffer).getUint32(0), data: entry.subarray(4) };
    }
  }

  clear(): void {
    this.#file.truncate(0);
    this.#file.flush();
  }
}
