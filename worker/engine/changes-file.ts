/**
 * The changes file (`<db>-changes`): pages of one pull, streamed to disk as they arrive so a large
 * pull never sits in memory. Layout: a header page (magic, version, db size, page count, revision),
 * then entries of [pgno u32][page], then the entries' pgnos (u32 each, so the set of pulled pages
 * costs one read). The header is written last, after everything else is flushed: a
 * file without a complete header is an unfinished download and is ignored.
 * Before a pull touches the WAL, the header page also gets the pull's intent (at INTENT_OFFSET,
 * flushed): recovery reads it from here, beside the data, since the browser may lose the last
 * IndexedDB write on power loss while OPFS keeps what was flushed.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { FileStore } from '../vfs/file-store.js';
import type { PageImage } from '../vfs/wal-log.js';
import type { PullIntent } from './metadata.js';
import { utf8Decoder } from '../../contract/sql-value.js';

const MAGIC = 0x57534348; // "WSCH"
const VERSION = 2;
const HEADER_SIZE = 4096;
/** Where in the header page the pull intent lives (the revision ends before it). */
const INTENT_OFFSET = 3072;
const INTENT_MAGIC = 0x57535049; // "WSPI"
/** magic, localEndFrame, applyEndFrame, salt1, salt2, localPullGen, check: u32 each. */
const INTENT_SIZE = 28;
/** Entries gathered per file write or read (about 1 MiB): one I/O call per batch, not per page. */
const BATCH_ENTRIES = 256;

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
  /** New entries not written yet: entries #count - #buffered … #count - 1. */
  readonly #buffer: Uint8Array;
  readonly #view: DataView;
  #buffered = 0;

  constructor(file: FileStore, pageSize: number) {
    this.#file = file;
    this.#pageSize = pageSize;
    this.#buffer = new Uint8Array(BATCH_ENTRIES * (4 + pageSize));
    this.#view = new DataView(this.#buffer.buffer);
    // Usually empty already (the last pull cleared it); an OPFS truncate costs ms even then.
    if (this.#file.size() > 0) this.#file.truncate(0);
  }

  /** Adds a page; a page sent twice keeps its last version. */
  add(pgno: number, data: Uint8Array): void {
    if (data.length !== this.#pageSize) {
      throw new WalsyncError('PROTOCOL_ERROR', `the server sent a ${data.length}-byte page; pages must be ${this.#pageSize} bytes`);
    }
    const entrySize = 4 + this.#pageSize;
    const existing = this.#seen.get(pgno);
    if (existing !== undefined) {
      // Rare (servers send each page once): put it in place, in the buffer or in the file.
      const inBuffer = existing - (this.#count - this.#buffered);
      if (inBuffer >= 0) {
        this.#buffer.set(data, inBuffer * entrySize + 4);
      } else {
        const entry = new Uint8Array(entrySize);
        new DataView(entry.buffer).setUint32(0, pgno);
        entry.set(data, 4);
        this.#file.write(entry, HEADER_SIZE + existing * entrySize);
      }
      return;
    }
    this.#seen.set(pgno, this.#count++);
    this.#view.setUint32(this.#buffered * entrySize, pgno);
    this.#buffer.set(data, this.#buffered * entrySize + 4);
    if (++this.#buffered === BATCH_ENTRIES) this.#writeBuffer();
  }

  #writeBuffer(): void {
    if (this.#buffered === 0) return;
    const entrySize = 4 + this.#pageSize;
    this.#file.write(this.#buffer.subarray(0, this.#buffered * entrySize), HEADER_SIZE + (this.#count - this.#buffered) * entrySize);
    this.#buffered = 0;
  }

  /** Makes the download durable and complete. */
  finish(revision: string, dbSizePages: number): ChangesSummary {
    this.#writeBuffer();
    const index = new Uint8Array(this.#count * 4);
    const indexView = new DataView(index.buffer);
    for (const [pgno, at] of this.#seen) indexView.setUint32(at * 4, pgno);
    this.#file.write(index, HEADER_SIZE + this.#count * (4 + this.#pageSize));
    this.#file.flush();
    const header = new Uint8Array(HEADER_SIZE);
    const v = new DataView(header.buffer);
    const revisionBytes = new TextEncoder().encode(revision);
    if (revisionBytes.length > INTENT_OFFSET - 20) throw new WalsyncError('PROTOCOL_ERROR', 'the server revision is too long');
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
    const revision = utf8Decoder.decode(header.subarray(20, 20 + v.getUint32(16)));
    return new ChangesFileReader(file, pageSize, { revision, dbSizePages: v.getUint32(8), pageCount: v.getUint32(12) });
  }

  private constructor(file: FileStore, pageSize: number, summary: ChangesSummary) {
    this.#file = file;
    this.#pageSize = pageSize;
    this.summary = summary;
  }

  /** Page numbers in the file, in file order (from the index after the entries). */
  pgnos(): number[] {
    const index = new Uint8Array(this.summary.pageCount * 4);
    this.#file.read(index, HEADER_SIZE + this.summary.pageCount * (4 + this.#pageSize));
    const view = new DataView(index.buffer);
    return Array.from({ length: this.summary.pageCount }, (_, i) => view.getUint32(i * 4));
  }

  /** The page of entry `index` (in file order, as pgnos() lists them), as its own copy. */
  pageAt(index: number): Uint8Array {
    const data = new Uint8Array(this.#pageSize);
    this.#file.read(data, HEADER_SIZE + index * (4 + this.#pageSize) + 4);
    return data;
  }

  /** Streams the pages from disk, a batch of entries per read; each page is its own copy. */
  *pages(): Generator<PageImage> {
    const entrySize = 4 + this.#pageSize;
    for (let first = 0; first < this.summary.pageCount; first += BATCH_ENTRIES) {
      const count = Math.min(BATCH_ENTRIES, this.summary.pageCount - first);
      const batch = new Uint8Array(count * entrySize);
      this.#file.read(batch, HEADER_SIZE + first * entrySize);
      const view = new DataView(batch.buffer);
      for (let i = 0; i < count; i++) {
        yield { pgno: view.getUint32(i * entrySize), data: batch.subarray(i * entrySize + 4, (i + 1) * entrySize) };
      }
    }
  }

  /** Records (durably) that these changes are being applied: the pull's intent. */
  writeIntent(intent: PullIntent): void {
    if (intent.revision !== this.summary.revision || intent.dbSizePages !== this.summary.dbSizePages) {
      throw new WalsyncError('INTERNAL', 'a pull intent for other changes than the downloaded ones');
    }
    const fields = [INTENT_MAGIC, intent.localEndFrame, intent.applyEndFrame, intent.salt1 >>> 0, intent.salt2 >>> 0, intent.localPullGen];
    const block = new Uint8Array(INTENT_SIZE);
    const v = new DataView(block.buffer);
    fields.forEach((value, i) => v.setUint32(i * 4, value));
    v.setUint32(fields.length * 4, intentCheck(fields));
    this.#file.write(block, INTENT_OFFSET);
    this.#file.flush();
  }

  /** The pull intent recorded with these changes, or null. */
  intent(): PullIntent | null {
    const block = new Uint8Array(INTENT_SIZE);
    if (this.#file.read(block, INTENT_OFFSET) !== INTENT_SIZE) return null;
    const v = new DataView(block.buffer);
    const fields = Array.from({ length: 6 }, (_, i) => v.getUint32(i * 4));
    if (fields[0] !== INTENT_MAGIC || v.getUint32(24) !== intentCheck(fields)) return null;
    const [, localEndFrame, applyEndFrame, salt1, salt2, localPullGen] = fields as [number, number, number, number, number, number];
    return { revision: this.summary.revision, dbSizePages: this.summary.dbSizePages, localEndFrame, applyEndFrame, salt1, salt2, localPullGen };
  }

  clear(): void {
    this.#file.truncate(0);
    this.#file.flush();
  }
}

/** Tells a whole intent block from a torn or stale one. */
function intentCheck(fields: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const f of fields) h = Math.imul(h ^ f, 0x01000193) >>> 0;
  return h;
}
