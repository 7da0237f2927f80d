/** Small questions about a connection's state that several layers ask, answered in one place. */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';

/** Whether `db` (its main schema) has a table named `name`. */
export function tableExists(db: Database, name: string): boolean {
  return db.selectValue("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", [name]) !== undefined;
}

/** Whether no transaction is open on `db`. Asked several times per statement: the raw export, not capi's checked wrapper. */
export function isAutocommit(sqlite3: Sqlite3Static, db: Database): boolean {
  return (sqlite3.wasm.exports as unknown as { sqlite3_get_autocommit(db: number): number }).sqlite3_get_autocommit(db.pointer as unknown as number) !== 0;
}
