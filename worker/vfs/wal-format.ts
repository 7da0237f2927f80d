/**
 * SQLite's WAL file format: the 32-byte header, 24-byte frame headers and the cumulative checksum.
 * See https://www.sqlite.org/fileformat2.html#walformat. All header integers are big-endian; the
 * checksum reads the data as 32-bit words in the byte order named by the magic number.
 */

export const WAL_HEADER_SIZE = 32;
export const WAL_FRAME_HEADER_SIZE = 24;
/** Magic with the low bit clear: checksum words are little-endian (what SQLite writes on wasm/x86). */
export const WAL_MAGIC_LE = 0x377f0682;
export const WAL_MAGIC_BE = 0x377f0683;
export const WAL_FORMAT_VERSION = 3007000;

export interface WalHeader {
  readonly bigEndianChecksum: boolean;
  readonly pageSize: number;
  readonly checkpointSeq: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checksum1: number;
  readonly checksum2: number;
}

export interface WalFrameHeader {
  readonly pgno: number;
  /** Database size in pages after this commit; 0 for a frame that is not a commit frame. */
  readonly dbSizeAfterCommit: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checksum1: number;
  readonly checksum2: number;
}

export type Checksum = readonly [number, number];

/** Whether this machine stores a u32 most significant byte first (WAL checksums read words in a given order). */
const HOST_BIG_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 0;

/**
 * SQLite's WAL checksum over `data` (length a multiple of 8), continuing from `seed`.
 * s1 += x[i] + s2; s2 += x[i+1] + s1, all mod 2^32.
 */
export function walChecksum(data: Uint8Array, seed: Checksum, bigEndian: boolean): Checksum {
  if (data.length % 8 !== 0) throw new RangeError(`WAL checksum input must be a multiple of 8 bytes, got ${data.length}`);
  let s1 = seed[0] >>> 0;
  let s2 = seed[1] >>> 0;
  if (bigEndian === HOST_BIG_ENDIAN && data.byteOffset % 4 === 0) {
    // The words in the host's byte order: read them as a Uint32Array, several times faster than a
    // DataView per word (every pulled page and every WAL scan goes through here).
    const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
    for (let i = 0; i < words.length; i += 2) {
      s1 = (s1 + words[i]! + s2) >>> 0;
      s2 = (s2 + words[i + 1]! + s1) >>> 0;
    }
    return [s1, s2];
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const littleEndian = !bigEndian;
  for (let i = 0; i < data.length; i += 8) {
    s1 = (s1 + view.getUint32(i, littleEndian) + s2) >>> 0;
    s2 = (s2 + view.getUint32(i + 4, littleEndian) + s1) >>> 0;
  }
  return [s1, s2];
}

export function decodeWalHeader(bytes: Uint8Array): WalHeader | null {
  if (bytes.length < WAL_HEADER_SIZE) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, WAL_HEADER_SIZE);
  const magic = v.getUint32(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return null;
  if (v.getUint32(4) !== WAL_FORMAT_VERSION) return null;
  const header: WalHeader = {
    bigEndianChecksum: magic === WAL_MAGIC_BE,
    pageSize: v.getUint32(8) === 1 ? 65536 : v.getUint32(8),
    checkpointSeq: v.getUint32(12),
    salt1: v.getUint32(16),
    salt2: v.getUint32(20),
    checksum1: v.getUint32(24),
    checksum2: v.getUint32(28),
  };
  const [c1, c2] = walChecksum(bytes.subarray(0, 24), [0, 0], header.bigEndianChecksum);
  return c1 === header.checksum1 && c2 === header.checksum2 ? header : null;
}

export function encodeWalHeader(h: Omit<WalHeader, 'checksum1' | 'checksum2'>): Uint8Array {
  const bytes = new Uint8Array(WAL_HEADER_SIZE);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, h.bigEndianChecksum ? WAL_MAGIC_BE : WAL_MAGIC_LE);
  v.setUint32(4, WAL_FORMAT_VERSION);
  v.setUint32(8, h.pageSize === 65536 ? 1 : h.pageSize);
  v.setUint32(12, h.checkpointSeq);
  v.setUint32(16, h.salt1);
  v.setUint32(20, h.salt2);
  const [c1, c2] = walChecksum(bytes.subarray(0, 24), [0, 0], h.bigEndianChecksum);
  v.setUint32(24, c1);
  v.setUint32(28, c2);
  return bytes;
}

export function decodeWalFrameHeader(bytes: Uint8Array): WalFrameHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, WAL_FRAME_HEADER_SIZE);
  return {
    pgno: v.getUint32(0),
    dbSizeAfterCommit: v.getUint32(4),
    salt1: v.getUint32(8),
    salt2: v.getUint32(12),
    checksum1: v.getUint32(16),
    checksum2: v.getUint32(20),
  };
}

/**
 * Encodes one frame (header + page) into `out` (WAL_FRAME_HEADER_SIZE + page.length bytes),
 * continuing the checksum chain from `previous`; returns the checksum the next frame continues from.
 * Writing in place spares a pull a copy and an allocation per page.
 */
export function encodeWalFrame(
  out: Uint8Array,
  header: Pick<WalHeader, 'salt1' | 'salt2' | 'bigEndianChecksum'>,
  pgno: number,
  dbSizeAfterCommit: number,
  page: Uint8Array,
  previous: Checksum,
): Checksum {
  const v = new DataView(out.buffer, out.byteOffset, WAL_FRAME_HEADER_SIZE);
  v.setUint32(0, pgno);
  v.setUint32(4, dbSizeAfterCommit);
  v.setUint32(8, header.salt1);
  v.setUint32(12, header.salt2);
  const body = out.subarray(WAL_FRAME_HEADER_SIZE, WAL_FRAME_HEADER_SIZE + page.length);
  body.set(page);
  let checksum = walChecksum(out.subarray(0, 8), previous, header.bigEndianChecksum);
  // Over the copy: it is aligned for the fast path whatever the source's offset.
  checksum = walChecksum(body, checksum, header.bigEndianChecksum);
  v.setUint32(16, checksum[0]);
  v.setUint32(20, checksum[1]);
  return checksum;
}

export function walFrameOffset(frame: number, pageSize: number): number {
  // Frames are numbered from 1, as SQLite does.
  return WAL_HEADER_SIZE + (frame - 1) * (WAL_FRAME_HEADER_SIZE + pageSize);
}
