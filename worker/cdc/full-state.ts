/**
 * The whole local database as statements for a server: the schema (tables, indexes, views; no
 * triggers, which stay local), then every row of every synced table as an upsert by primary key
 * (or rowid). resetSync() sends them to a server that was reset or replaced, so every row this
 * device holds reaches it, whoever wrote the row first.
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import type { PushStatement } from '../protocol/remote.js';
import { CDC_TABLE, cdcTableExists } from './cdc-log.js';
import { decodeRecord } from './record.js';
import { rowChangeSql } from './row-change-sql.js';
import { idempotentDdl } from './schema-change.js';
import { isInternalTable, listSyncedTables, quoteId, readTableInfo, rowidName } from './table-info.js';

/** Schema statements in an order that creates what later ones depend on: tables, indexes, views. */
export function schemaStatements(db: Database): PushStatement[] {
  const rows = db.selectArrays(
    `SELECT name, tbl_name, sql FROM main.sqlite_schema
     WHERE sql IS NOT NULL AND type IN ('table', 'index', 'view') AND sql NOT LIKE 'CREATE VIRTUAL%'
     ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid`,
  ) as [string, string, string][];
  return rows
    .filter(([name, table]) => !isInternalTable(name) && !isInternalTable(table))
    .map(([, , sql]) => ({ sql: idempotentDdl(sql), args: [] }));
}

/**
 * Every row of the synced tables (not those in `ignore`, whose rows stay on this device), read as
 * records by `walsync_record()` so that stored types survive (REAL 2.0 stays REAL). The
 * connection must have change capture enabled (it registers the function).
 */
export function rowStatements(db: Database, ignore: ReadonlySet<string>): PushStatement[] {
  const out: PushStatement[] = [];
  for (const table of listSyncedTables(db, ignore)) {
    const info = readTableInfo(db, table);
    if (!info || info.columns.length === 0) continue;
    const rowid = rowidName(info);
    const select = `SELECT ${rowid ? quoteId(rowid) : 'NULL'}, walsync_record(${info.columns.map(quoteId).join(', ')}) FROM ${quoteId(table)}`;
    for (const [id, record] of db.selectArrays(select) as [number | bigint | null, Uint8Array][]) {
      out.push(...rowChangeSql(info, { changeType: 'insert', id, before: null, after: decodeRecord(record) }));
    }
  }
  return out;
}

/** The id of the newest change in the local log (0 if none): the position a full copy covers. */
export function lastChangeId(db: Database): number {
  if (!cdcTableExists(db)) return 0;
  return Number(db.selectValue(`SELECT coalesce(max(change_id), 0) FROM ${CDC_TABLE}`) ?? 0);
}
