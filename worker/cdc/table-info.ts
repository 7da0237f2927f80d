/** What change capture and replay need to know about a table, read from the current schema. */
import type { Database } from '@sqlite.org/sqlite-wasm';

export interface TableInfo {
  readonly name: string;
  /** Stored columns in table order (generated and hidden columns excluded). */
  readonly columns: readonly string[];
  /** Primary-key columns in key order; empty for tables without a declared key. */
  readonly primaryKey: readonly string[];
  readonly withoutRowid: boolean;
}

/** Double-quotes an identifier for generated SQL. */
export function quoteId(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal, for the few places SQL text cannot take a bound value (trigger bodies). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Names that are never synced: SQLite's, Turso's and walsync's own tables. */
export function isInternalTable(name: string): boolean {
  return (
    name.startsWith('sqlite_') ||
    name.startsWith('__turso_internal_') ||
    name.startsWith('walsync_') ||
    name === 'turso_cdc' ||
    name === 'turso_cdc_version' ||
    name === 'turso_sync_last_change_id'
  );
}

export function readTableInfo(db: Database, table: string): TableInfo | null {
  const list = db.selectArray('SELECT wr FROM pragma_table_list WHERE schema = ? AND name = ? AND type = ?', ['main', table, 'table']);
  if (!list) return null;
  const rows = db.selectArrays('SELECT name, pk, hidden FROM pragma_table_xinfo(?, ?) ORDER BY cid', [table, 'main']) as [string, number, number][];
  const columns = rows.filter(([, , hidden]) => hidden === 0).map(([name]) => name);
  const primaryKey = rows
    .filter(([, pk]) => pk > 0)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
  return { name: table, columns, primaryKey, withoutRowid: Number(list[0]) === 1 };
}

/** User tables that change capture covers (virtual tables cannot have triggers and are not synced). */
export function listSyncedTables(db: Database, ignore: ReadonlySet<string>): string[] {
  const names = db.selectValues(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
  ) as string[];
  return names.filter((name) => !isInternalTable(name) && !ignore.has(name));
}

/** How to address the rowid of a rowid table: the first of its three names no column shadows. */
export function rowidName(info: TableInfo): string | null {
  if (info.withoutRowid) return null;
  const taken = new Set(info.columns.map((c) => c.toLowerCase()));
  return ['rowid', '_rowid_', 'oid'].find((n) => !taken.has(n)) ?? null;
}
