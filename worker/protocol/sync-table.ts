/**
 * `turso_sync_last_change_id`: per client, how far its change log is on the server. The server's
 * row is the push high-water mark; the local row carries this client's change-log generation
 * (pull_gen), bumped by every pull that rebuilds the log. Same SQL as Turso's clients use.
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import { tableExists } from '../sql/schema.js';

export const SYNC_TABLE = 'turso_sync_last_change_id';
export const CREATE_SYNC_TABLE = `CREATE TABLE IF NOT EXISTS ${SYNC_TABLE} (client_id TEXT PRIMARY KEY, pull_gen INTEGER, change_id INTEGER)`;
export const SELECT_SYNC_ROW = `SELECT pull_gen, change_id FROM ${SYNC_TABLE} WHERE client_id = ?`;
export const UPSERT_SYNC_ROW = `INSERT INTO ${SYNC_TABLE}(client_id, pull_gen, change_id) VALUES (?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET pull_gen=excluded.pull_gen, change_id=excluded.change_id`;

export interface SyncRow {
  readonly pullGen: number;
  readonly changeId: number;
}

/** This client's row in `db`'s copy of the table; null if the table or the row is absent. */
export function readSyncRow(db: Database, clientId: string): SyncRow | null {
  if (!tableExists(db, SYNC_TABLE)) return null;
  const row = db.selectArray(SELECT_SYNC_ROW, [clientId]) as [number, number] | undefined;
  return row ? { pullGen: Number(row[0] ?? 0), changeId: Number(row[1] ?? 0) } : null;
}

export function writeSyncRow(db: Database, clientId: string, row: SyncRow): void {
  db.exec(CREATE_SYNC_TABLE);
  db.exec({ sql: UPSERT_SYNC_ROW, bind: [clientId, row.pullGen, row.changeId] });
}

/**
 * Whether the table itself (not its index) holds this client's row: after pages of another
 * database were laid over ours, index and table can disagree, and only the table is evidence.
 */
export function hasSyncRowOnTable(db: Database, clientId: string): boolean {
  return readSyncRowOnTable(db, clientId) !== null;
}

/** This client's row as the table itself holds it (see hasSyncRowOnTable); null if absent or unreadable. */
export function readSyncRowOnTable(db: Database, clientId: string): SyncRow | null {
  try {
    if (!tableExists(db, SYNC_TABLE)) return null;
    const row = db.selectArray(`SELECT pull_gen, change_id FROM ${SYNC_TABLE} NOT INDEXED WHERE client_id = ?`, [clientId]) as
      | [number, number]
      | undefined;
    return row ? { pullGen: Number(row[0] ?? 0), changeId: Number(row[1] ?? 0) } : null;
  } catch {
    // Unreadable (a mix of two databases can be corrupt): not ours either.
    return null;
  }
}
