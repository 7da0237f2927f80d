import type { SqlValue } from '../contract/worker-api.js';

/** A result row keyed by column name, like better-sqlite3 and Turso's clients return. */
export type Row = Record<string, SqlValue>;

export function toRow(columns: readonly string[], values: readonly SqlValue[]): Row {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i]!;
  return row;
}

export function toRows(columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Row[] {
  const out = new Array<Row>(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = toRow(columns, rows[r]!);
  return out;
}
