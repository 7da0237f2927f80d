/**
 * The JSON text of a Hrana float, chosen so that the server reads back exactly this double.
 *
 * `tursodb` reads JSON numbers the fast, inexact way (serde_json without `float_roundtrip`): the
 * decimal digits as a 64-bit integer, rounded to a double, then one multiplication or division by a
 * power of ten (itself rounded). Whenever that takes two roundings, the result can be one unit in
 * the last place off: about a quarter of all doubles written in JavaScript's shortest form arrive
 * changed (211.25322001787606 is stored as 211.2532200178761). Any decimal text that names the same
 * double is as valid, so among those we pick one that this reading also gets right: a correctly
 * rounding reader (another server) reads the same double from it. For about 1 double in 500 no
 * such text exists; it is sent in its shortest form (and arrives one unit off on such a server).
 */

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const POW10 = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));

/**
 * The JSON number text for `d` (finite), or null when JSON.stringify's own text is read exactly
 * (the common case, decided cheaply).
 */
export function floatText(d: number): string | null {
  if (Object.is(d, -0)) return '-0.0';
  if (d === 0) return null;
  const a = Math.abs(d);
  const shortest = String(a);
  if (isExactlyRead(shortest, a)) return null;
  const sign = d < 0 ? '-' : '';
  for (const digits of [17, 18, 19, 20, 16]) {
    const found = searchDigits(a, digits);
    if (found !== null) return sign + found;
  }
  return null;
}

/** True if the fast reader reads `text` (a JavaScript number text) as `a`. */
function isExactlyRead(text: string, a: number): boolean {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (!m) return true;
  const intPart = m[1]!;
  const fraction = m[2] ?? '';
  const exponent = Number(m[3] ?? 0);
  // Digits below 10^15 and a power of ten up to 10^22 are both exact doubles: one rounding only.
  const digits = (intPart + fraction).replace(/^0+/, '').length;
  const scale = exponent - fraction.length;
  if (digits <= 15 && scale >= -22 && scale <= 22) return true;
  return fastRead(intPart, fraction, exponent) === a;
}

/** Looks for an `n`-digit decimal that names `a` and that the fast reader reads as `a`. */
function searchDigits(a: number, n: number): string | null {
  const [mantissa, e] = a.toExponential(n - 1).split('e') as [string, string];
  const center = BigInt(mantissa.replace('.', ''));
  if (center > U64_MAX) return null;
  const exponent = Number(e) - (n - 1);
  // The fast reader rounds the digits to a double first: only one text per representable value
  // matters, so step by the spacing of doubles at this size.
  const bits = center.toString(2).length;
  const step = bits > 53 ? 1n << BigInt(bits - 53) : 1n;
  const half = step / 2n;
  const base = (center / step) * step;
  for (const direction of [1n, -1n]) {
    for (let k = direction === 1n ? 0n : 1n; k < 64n; k++) {
      const rounded = base + direction * k * step;
      if (rounded <= 0n || rounded > U64_MAX) break;
      let inside = false;
      for (const digits of half > 1n ? [rounded, rounded - half + 1n, rounded + half - 1n] : [rounded]) {
        if (digits > U64_MAX) continue;
        const text = `${digits}e${exponent}`;
        // Number() rounds correctly: the text names `a` for any correct reader.
        if (Number(text) !== a) continue;
        inside = true;
        if (fastRead(digits.toString(), '', exponent) === a) return text;
      }
      if (!inside && k > 2n) break;
    }
  }
  return null;
}

/**
 * What the fast reader makes of `<intPart>.<fraction>e<exponent>`: digits accumulated into a u64
 * (integer digits past its range raise the exponent, fraction digits past it are dropped), rounded
 * to a double, then scaled by one power of ten (by 10^308 steps below 10^-308).
 */
export function fastRead(intPart: string, fraction: string, exponent: number): number {
  // Up to 19 digits always fit a u64, and Number() rounds an integer text to the nearest double
  // exactly as the u64-to-double conversion does: no bigint needed.
  if (intPart.length + fraction.length <= 19) return scaleByPowerOfTen(Number(intPart + fraction), exponent - fraction.length);
  let significand = 0n;
  let scale = exponent;
  let overflow = false;
  for (const c of intPart) {
    if (!overflow) {
      const next = significand * 10n + BigInt(c.charCodeAt(0) - 48);
      if (next <= U64_MAX) {
        significand = next;
        continue;
      }
      overflow = true;
    }
    scale++;
  }
  for (const c of fraction) {
    if (overflow) break;
    const next = significand * 10n + BigInt(c.charCodeAt(0) - 48);
    if (next > U64_MAX) break;
    significand = next;
    scale--;
  }
  return scaleByPowerOfTen(Number(significand), scale);
}

function scaleByPowerOfTen(significand: number, exponent: number): number {
  let f = significand;
  let scale = exponent;
  for (;;) {
    const pow = POW10[Math.abs(scale)];
    if (pow !== undefined) {
      f = scale >= 0 ? f * pow : f / pow;
      break;
    }
    if (f === 0 || scale >= 0) break;
    f /= 1e308;
    scale += 308;
  }
  return f;
}
