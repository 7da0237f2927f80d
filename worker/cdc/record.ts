/**
 * SQLite's record format (https://www.sqlite.org/fileformat2.html#record_format): a varint header
 * length, one serial type per value, then the values. Change images are stored this way: compact,
 * exact for 64-bit integers and doubles, and blob-safe (JSON is none of these).
 */
import { type EngineValue, Real, narrowInteger, utf8Decoder } from '../../contract/sql-value.js';


/**
 * Encodes values as a record. A `Real` is a REAL (serial type 7) whatever its value, so an integral
 * double such as 2.0 keeps its type; a plain number is an INTEGER only if it is a safe integer other
 * than -0 (how walsync binds it), else a REAL.
 */
export function encodeRecord(values: readonly EngineValue[]): Uint8Array {
  const types: number[] = [];
  const bodies: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      types.push(0);
      bodies.push(new Uint8Array(0));
    } else if (typeof v === 'string') {
      const bytes = encoder.encode(v);
      types.push(bytes.length * 2 + 13);
      bodies.push(bytes);
    } else if (v instanceof Uint8Array) {
      types.push(v.length * 2 + 12);
      bodies.push(v);
    } else if (v instanceof Real || (typeof v === 'number' && (!Number.isSafeInteger(v) || Object.is(v, -0)))) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v instanceof Real ? v.value : v);
      types.push(7);
      bodies.push(b);
    } else {
      const big = BigInt(v as number | bigint);
      if (big === 0n) (types.push(8), bodies.push(new Uint8Array(0)));
      else if (big === 1n) (types.push(9), bodies.push(new Uint8Array(0)));
      else {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigInt64(0, big);
        types.push(6);
        bodies.push(b);
      }
    }
  }
  const typeBytes = types.map(encodeVarint);
  let headerLength = typeBytes.reduce((n, b) => n + b.length, 0);
  // The header length counts its own varint, which may itself grow a byte.
  let lengthVarint = encodeVarint(headerLength + 1);
  if (lengthVarint.length > 1) lengthVarint = encodeVarint(headerLength + lengthVarint.length);
  headerLength += lengthVarint.length;
  const total = headerLength + bodies.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  out.set(lengthVarint, at);
  at += lengthVarint.length;
  for (const t of typeBytes) (out.set(t, at), (at += t.length));
  for (const b of bodies) (out.set(b, at), (at += b.length));
  return out;
}

/** Decodes a record; REALs come back as `Real` (2.0 stays REAL) and text keeps a leading U+FEFF. */
export function decodeRecord(record: Uint8Array): EngineValue[] {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const [headerLength, first] = decodeVarint(record, 0);
  const types: number[] = [];
  for (let at = first; at < headerLength; ) {
    const [t, next] = decodeVarint(record, at);
    types.push(t);
    at = next;
  }
  const values: EngineValue[] = [];
  let at = headerLength;
  for (const t of types) {
    switch (t) {
      case 0:
        values.push(null);
        break;
      case 1:
        values.push(view.getInt8(at));
        at += 1;
        break;
      case 2:
        values.push(view.getInt16(at));
        at += 2;
        break;
      case 3:
        values.push((view.getInt8(at) << 16) | view.getUint16(at + 1));
        at += 3;
        break;
      case 4:
        values.push(view.getInt32(at));
        at += 4;
        break;
      case 5:
        values.push(view.getInt16(at) * 2 ** 32 + view.getUint32(at + 2));
        at += 6;
        break;
      case 6: {
        values.push(narrowInteger(view.getBigInt64(at)));
        at += 8;
        break;
      }
      case 7:
        values.push(new Real(view.getFloat64(at)));
        at += 8;
        break;
      case 8:
        values.push(0);
        break;
      case 9:
        values.push(1);
        break;
      default: {
        if (t < 12) throw new Error(`invalid record serial type ${t}`);
        const n = t % 2 === 0 ? (t - 12) / 2 : (t - 13) / 2;
        const bytes = record.subarray(at, at + n);
        values.push(t % 2 === 0 ? bytes.slice() : decodeText(bytes));
        at += n;
      }
    }
  }
  return values;
}

/** SQLite's big-endian varint (1–9 bytes). */
function encodeVarint(value: number): Uint8Array {
  if (value < 0x80) return Uint8Array.of(value);
  const bytes: number[] = [];
  let v = value;
  while (v > 0) {
    bytes.unshift(v & 0x7f);
    v = Math.floor(v / 128);
  }
  for (let i = 0; i < bytes.length - 1; i++) bytes[i]! |= 0x80;
  return Uint8Array.from(bytes);
}

function decodeVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const b = bytes[at + i]!;
    if (i === 8) return [value * 256 + b, at + 9];
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return [value, at + i + 1];
  }
  return [value, at + 9];
}

/** Text this long or shorter is tried as ASCII first (longer text goes straight to the decoder). */
const SHORT_TEXT_BYTES = 256;

/**
 * UTF-8 text of a record. A push or replay decodes one or more texts per changed row, and for
 * short text TextDecoder's fixed cost per call outweighs the work: ASCII is turned into a string
 * directly (the same string, as ASCII bytes are their own code points).
 */
function decodeText(bytes: Uint8Array): string {
  if (bytes.length > SHORT_TEXT_BYTES) return utf8Decoder.decode(bytes);
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return utf8Decoder.decode(bytes);
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}
