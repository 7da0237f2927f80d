/**
 * The local change log, `turso_cdc`: one row per captured change, in commit order. It lives in the
 * database itself, so a change and its log row commit (or roll back) together. Columns follow
 * Turso's CDC table where they mean the same thing; `txn_id` groups the changes of one local
 * transaction, `ddl` holds the text of a schema change, and `local_only` marks changes that are
 * never pushed but replayed by every pull (rows of `tablesIgnore` tables, the user's triggers).
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { rowReader } from '../sql/read-row.js';
import { tableExists } from '../sql/schema.js';

export const CDC_TABLE = 'turso_cdc';

export const CREATE_CDC_TABLE = `CREATE TABLE IF NOT EXISTS ${CDC_TABLE} (
  change_id INTEGER PRIMARY KEY AUTOINCREMENT,
  change_time INTEGER NOT NULL,
  change_type INTEGER NOT NULL,
  table_name TEXT NOT NULL,
  id INTEGER,
  before BLOB,
  after BLOB,
  updates BLOB,
  txn_id INTEGER NOT NULL,
  ddl TEXT,
  local_only INTEGER NOT NULL DEFAULT 0
)`;

/** `change_type` values: Turso's for row changes, plus one for schema changes. */
export const ChangeType = { delete: -1, update: 0, insert: 1, schema: 2 } as const;

/** One row of the log as read back. Record blobs are SQLite records (see record.ts). */
export interface CdcRow {
  readonly changeId: number;
  readonly changeTime: number;
  readonly changeType: number;
  readonly tableName: string;
  readonly id: number | bigint | null;
  readonly before: Uint8Array | null;
  readonly after: Uint8Array | null;
  readonly txnId: number;
  readonly ddl: string | null;
  readonly localOnly: boolean;
}

export function cdcTableExists(db: Database): boolean {
  return tableExists(db, CDC_TABLE);
}

/**
 * Up to `limit` changes with id > `afterChangeId`, oldest first; none if there is no log. Rows are
 * read with the worker's own row reader: sqlite-wasm's selectArrays() costs several times more per
 * column, which a push of 10k changes felt (it read the log at about a third of its time).
 */
export function readCdcRows(sqlite3: Sqlite3Static, db: Database, afterChangeId: number, limit: number): CdcRow[] {
  if (!cdcTableExists(db)) return [];
  const rows: unknown[][] = [];
  const reader = rowReader(sqlite3);
  const stmt = db.prepare(
    `SELECT change_id, change_time, change_type, table_name, id, before, after, txn_id, ddl, local_only FROM ${CDC_TABLE}
     WHERE change_id > ? ORDER BY change_id LIMIT ?`,
  );
  try {
    stmt.bind([afterChangeId, limit]);
    while (stmt.step()) rows.push(reader.row(stmt));
  } finally {
    stmt.finalize();
  }
  return rows.map((r) => ({
    changeId: Number(r[0]),
    changeTime: Number(r[1]),
    changeType: Number(r[2]),
    tableName: String(r[3]),
    id: (r[4] ?? null) as number | bigint | null,
    before: (r[5] ?? null) as Uint8Array | null,
    after: (r[6] ?? null) as Uint8Array | null,
    txnId: Number(r[7]),
    ddl: (r[8] ?? null) as string | null,
    localOnly: Number(r[9]) !== 0,
  }));
}

/** Changes after `afterChangeId` that a push would send (local-only ones are never pushed). */
export function countCdcRowsAfter(db: Database, afterChangeId: number): number {
  if (!cdcTableExists(db)) return 0;
  return Number(db.selectValue(`SELECT count(*) FROM ${CDC_TABLE} WHERE change_id > ? AND local_only = 0`, [afterChangeId]) ?? 0);
}

/** Deletes the log rows with these change ids; returns how many there were. */
export function deleteCdcRows(db: Database, changeIds: readonly number[]): number {
  if (!cdcTableExists(db) || changeIds.length === 0) return 0;
  let deleted = 0;
  for (const id of changeIds) {
    db.exec({ sql: `DELETE FROM ${CDC_TABLE} WHERE change_id = ?`, bind: [id] });
    deleted += db.changes();
  }
  return deleted;
}

export function maxTxnId(db: Database): number {
  if (!cdcTableExists(db)) return 0;
  return Number(db.selectValue(`SELECT coalesce(max(txn_id), 0) FROM ${CDC_TABLE}`) ?? 0);
}

export function insertSchemaChange(db: Database, tableName: string, ddl: string, txnId: number, localOnly: boolean): void {
  db.exec({
    sql: `INSERT INTO ${CDC_TABLE}(change_time, change_type, table_name, txn_id, ddl, local_only) VALUES (unixepoch(), ?, ?, ?, ?, ?)`,
    bind: [ChangeType.schema, tableName, txnId, ddl, localOnly ? 1 : 0],
  });
}
