/**
 * `POST /pull-updates` (sync-protocol.md §2): the protobuf request, and a streaming parser for the
 * response — varint-length-prefixed messages, a header then pages — that holds at most one
 * incomplete message in memory, so a bootstrap of any size streams.
 */
import { WalsyncError } from '../../contract/errors.js';
import { utf8Decoder } from '../../contract/sql-value.js';

/** The sync protocol moves 4096-byte pages: every walsync database uses this page size (connection.ts). */
export const PAGE_SIZE = 4096;
/** Largest message we accept: a page message is ~4.1 KB; headers are tiny. */
const MAX_MESSAGE_BYTES = 1 << 20;

export interface PullRequest {
  /** Revision we have; null asks for the whole database. */
  readonly clientRevision: string | null;
  readonly longPollTimeoutMs: number;
  /** Pin the answer to this revision of the server (empty: its latest). */
  readonly serverRevision?: string;
  /** Only these pages (a serialized RoaringBitmap of zero-based page ids); absent: all. */
  readonly pagesSelector?: Uint8Array;
}

/**
 * A RoaringBitmap of zero-based page ids in the portable format (array containers only, so at
 * most 4096 ids per block of 65536): the `server_pages_selector` for a few chosen pages.
 */
export function pagesSelector(zeroBasedIds: readonly number[]): Uint8Array {
  const byKey = new Map<number, number[]>();
  for (const id of [...new Set(zeroBasedIds)].sort((a, b) => a - b)) {
    const key = Math.floor(id / 65536);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(id % 65536);
  }
  const keys = [...byKey.keys()];
  if (keys.some((k) => byKey.get(k)!.length > 4096)) throw new Error('pagesSelector: too many pages for array containers');
  const headerSize = 8 + keys.length * 8;
  const size = headerSize + zeroBasedIds.length * 2;
  const view = new DataView(new ArrayBuffer(size));
  view.setUint32(0, 12346, true);
  view.setUint32(4, keys.length, true);
  let offset = headerSize;
  keys.forEach((key, i) => {
    const values = byKey.get(key)!;
    view.setUint16(8 + i * 4, key, true);
    view.setUint16(8 + i * 4 + 2, values.length - 1, true);
    view.setUint32(8 + keys.length * 4 + i * 4, offset, true);
    for (const v of values) {
      view.setUint16(offset, v, true);
      offset += 2;
    }
  });
  return new Uint8Array(view.buffer, 0, offset);
}

export interface PullHeader {
  readonly revision: string;
  readonly dbSizePages: number;
}

export interface PullPage {
  readonly pgno: number;
  readonly data: Uint8Array;
}

/** Encodes PullUpdatesRequest. encoding (RAW) and stream_kind (PAGES) are 0, i.e. omitted. */
export function encodePullRequest(request: PullRequest): Uint8Array {
  const out: number[] = [];
  if (request.serverRevision) {
    const rev = new TextEncoder().encode(request.serverRevision);
    out.push(0x12, ...varint(rev.length), ...rev);
  }
  if (request.clientRevision) {
    const rev = new TextEncoder().encode(request.clientRevision);
    out.push(0x1a, ...varint(rev.length), ...rev);
    if (request.longPollTimeoutMs > 0) out.push(0x20, ...varint(request.longPollTimeoutMs));
  }
  if (request.pagesSelector) out.push(0x2a, ...varint(request.pagesSelector.length), ...request.pagesSelector);
  return Uint8Array.from(out);
}

function varint(n: number): number[] {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

/** Reads protobuf fields from one message. */
class FieldReader {
  #pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#pos >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.bytes.length) throw malformed('a field ends early');
      const b = this.bytes[this.#pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw malformed('a varint is longer than 10 bytes');
  }

  lengthDelimited(): Uint8Array {
    const n = this.varint();
    if (this.#pos + n > this.bytes.length) throw malformed('a field ends early');
    const out = this.bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.#pos += 8;
        break;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.#pos += 4;
        break;
      default:
        throw malformed(`unknown protobuf wire type ${wireType}`);
    }
    if (this.#pos > this.bytes.length) throw malformed('a field ends early');
  }
}

function malformed(what: string): WalsyncError {
  return new WalsyncError('PROTOCOL_ERROR', `malformed /pull-updates response: ${what}`);
}

export function decodePullHeader(bytes: Uint8Array): PullHeader {
  const r = new FieldReader(bytes);
  let revision = '';
  let dbSizePages = 0;
  let raw = false;
  let zstd = false;
  let streamKind = 0;
  let applyMode = 0;
  let protocol = 0;
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) revision = utf8Decoder.decode(r.lengthDelimited());
    else if (field === 2 && wire === 0) dbSizePages = r.varint();
    else if (field === 3 && wire === 2) (r.lengthDelimited(), (raw = true));
    else if (field === 4 && wire === 2) (r.lengthDelimited(), (zstd = true));
    else if (field === 5 && wire === 0) streamKind = r.varint();
    else if (field === 6 && wire === 0) applyMode = r.varint();
    else if (field === 8 && wire === 0) protocol = r.varint();
    else r.skip(wire);
  }
  if (protocol === 2 || streamKind !== 0) {
    throw new WalsyncError('PROTOCOL_ERROR', 'the server speaks the MVCC logical-log sync protocol, which walsync does not support (it needs page streams)');
  }
  if (applyMode !== 0) throw new WalsyncError('PROTOCOL_ERROR', 'the server sent a replace-base page stream, which walsync does not support');
  if (zstd || !raw) throw new WalsyncError('PROTOCOL_ERROR', 'the server sent pages in an encoding walsync does not support (only raw pages)');
  if (dbSizePages > 0x7fffffff) throw malformed(`database size ${dbSizePages} pages is out of range`);
  return { revision, dbSizePages };
}

export function decodePullPage(bytes: Uint8Array): PullPage {
  const r = new FieldReader(bytes);
  let pageId = 0;
  let data: Uint8Array | null = null;
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 0) pageId = r.varint();
    else if (field === 2 && wire === 2) data = r.lengthDelimited();
    else r.skip(wire);
  }
  if (!data) throw malformed('a page message has no page data');
  if (data.length !== PAGE_SIZE) {
    throw new WalsyncError('PROTOCOL_ERROR', `the server sent a ${data.length}-byte page; walsync needs ${PAGE_SIZE}-byte pages`);
  }
  // A view into the received bytes (never reused by the stream), not a copy: callers copy it once,
  // into their write buffer.
  return { pgno: pageId + 1, data };
}

/**
 * Splits a byte stream into length-delimited messages as the bytes arrive. Messages are views into
 * the received chunks; only a message that straddles two chunks is copied (with its prefix), so the
 * stream is not copied as a whole.
 */
export async function* readDelimitedMessages(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    let buffer = chunk;
    let pos = 0;
    if (carry.length > 0) {
      // Complete the straddling message from the head of this chunk.
      const joined = concat(carry, chunk.subarray(0, 10));
      const prefix = readPrefix(joined, 0);
      const total = prefix ? prefix[0] + prefix[1] : Infinity;
      if (prefix && prefix[0] > MAX_MESSAGE_BYTES) throw malformed(`a message claims ${prefix[0]} bytes`);
      if (carry.length + chunk.length < total) {
        carry = concat(carry, chunk);
        continue;
      }
      const message = concat(carry, chunk.subarray(0, total - carry.length));
      yield message.subarray(prefix![1]);
      pos = total - carry.length;
      carry = new Uint8Array(0);
    }
    for (;;) {
      const prefix = readPrefix(buffer, pos);
      if (!prefix) break;
      const [length, start] = prefix;
      if (length > MAX_MESSAGE_BYTES) throw malformed(`a message claims ${length} bytes`);
      if (start + length > buffer.length) break;
      yield buffer.subarray(start, start + length);
      pos = start + length;
    }
    carry = buffer.subarray(pos);
  }
  if (carry.length > 0) {
    throw new WalsyncError('PROTOCOL_ERROR', 'the /pull-updates response was cut off in the middle of a message (truncated)');
  }
}

/** [length, start of message] of the varint prefix at `pos`, or null if it is not complete yet. */
function readPrefix(buffer: Uint8Array, pos: number): [number, number] | null {
  let length = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buffer.length) return null;
    const b = buffer[pos + i]!;
    length += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [length, pos + i + 1];
    scale *= 128;
  }
  throw malformed('a length prefix is longer than 10 bytes');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
