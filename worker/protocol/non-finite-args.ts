/**
 * ±Infinity as SQL text. SQLite stores ±Infinity as a REAL, but JSON has no text for it: `tursodb`
 * refuses a whole request holding `1e999` ("number out of range"), and JSON.stringify writes `null`.
 * So a statement with an infinite argument gets that argument as a constant in its SQL
 * (`(9e999)`, which every SQLite reads as +Infinity) instead of as a bound value. The constant is
 * ours, never the app's text, so nothing is spliced. NaN binds as NULL in SQLite; it is sent as NULL.
 */
import { WalsyncError } from '../../contract/errors.js';
import { type EngineValue, Real } from '../../contract/sql-value.js';

/** The double of a float argument, or null for anything else. */
function floatOf(v: EngineValue): number | null {
  if (v instanceof Real) return v.value;
  return typeof v === 'number' ? v : null;
}

/** True if an argument is ±Infinity or NaN, which JSON cannot carry. */
export function isNonFinite(v: EngineValue): boolean {
  const f = floatOf(v);
  return f !== null && !Number.isFinite(f);
}

/**
 * The statement with each non-finite argument moved into its SQL: ±Infinity as `(9e999)` or
 * `(-9e999)`, NaN as `NULL`. Only statements whose parameters are all plain `?` can be rewritten
 * (every statement walsync generates; a `transform` rewrite may use others): with numbered or
 * named parameters it throws INVALID_ARGUMENT, and the change stays queued.
 */
export function inlineNonFinite(sql: string, args: readonly EngineValue[]): { sql: string; args: EngineValue[] } {
  const positions = plainParameterPositions(sql);
  if (positions === null) {
    throw new WalsyncError('INVALID_ARGUMENT', 'cannot send ±Infinity to the server in a statement with numbered or named parameters (use plain ?)', {
      context: { sql: sql.slice(0, 200) },
    });
  }
  if (positions.length !== args.length) {
    throw new WalsyncError('INVALID_ARGUMENT', `the statement has ${positions.length} parameters but ${args.length} values`, {
      context: { sql: sql.slice(0, 200) },
    });
  }
  let out = '';
  let from = 0;
  const kept: EngineValue[] = [];
  args.forEach((v, i) => {
    if (!isNonFinite(v)) {
      kept.push(v);
      return;
    }
    const f = floatOf(v)!;
    out += sql.slice(from, positions[i]) + (Number.isNaN(f) ? 'NULL' : f > 0 ? '(9e999)' : '(-9e999)');
    from = positions[i]! + 1;
  });
  return { sql: out + sql.slice(from), args: kept };
}

/**
 * The offsets of the `?` parameters of `sql`, outside string literals, quoted identifiers and
 * comments; null if it has a numbered (`?1`) or named (`:a`, `@a`, `$a`) parameter.
 */
export function plainParameterPositions(sql: string): number[] | null {
  const positions: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c);
    } else if (c === '[') {
      const end = sql.indexOf(']', i + 1);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '?') {
      if (isDigit(sql[i + 1])) return null;
      positions.push(i);
      i++;
    } else if ((c === ':' || c === '@' || c === '$') && !isIdentifierChar(sql[i - 1]) && isIdentifierChar(sql[i + 1])) {
      return null;
    } else {
      i++;
    }
  }
  return positions;
}

/** The offset just past a quoted token opened at `start` (a doubled quote is an escaped one). */
function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  for (;;) {
    const end = sql.indexOf(quote, i);
    if (end < 0) return sql.length;
    if (sql[end + 1] !== quote) return end + 1;
    i = end + 2;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f);
}
