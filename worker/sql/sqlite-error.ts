/** Turns SQLite failures into WalsyncErrors carrying SQLite's own message ("no such table: x"). */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import { SQLITE_FULL, SQLITE_IOERR } from '../../contract/sqlite-codes.js';

export function sqliteError(sqlite3: Sqlite3Static, db: Database | null, rc: number, sql?: string): WalsyncError {
  const message = db?.pointer ? sqlite3.capi.sqlite3_errmsg(db.pointer) : sqlite3.capi.sqlite3_errstr(rc);
  const primary = rc & 0xff;
  const code = primary === SQLITE_FULL ? 'QUOTA_EXCEEDED' : primary === SQLITE_IOERR ? 'IO_ERROR' : 'SQLITE_ERROR';
  const context = sql === undefined ? {} : { sql: sql.length > 500 ? `${sql.slice(0, 500)}…` : sql };
  return new WalsyncError(code, message, { sqliteCode: rc, context });
}

/** Converts anything thrown by sqlite-wasm's oo1 layer; other errors pass through unchanged. */
export function toWalsyncError(sqlite3: Sqlite3Static, db: Database | null, e: unknown, sql?: string): unknown {
  if (e instanceof WalsyncError) return e;
  if (e instanceof sqlite3.SQLite3Error) {
    const rc = (e as { resultCode?: number }).resultCode ?? 1;
    const err = sqliteError(sqlite3, db, rc, sql);
    // oo1 raises some errors itself (e.g. a bind index out of range) with no SQLite message behind them.
    if (err.message === 'not an error' || err.message === 'unknown error') {
      return new WalsyncError(err.code, e.message.replace(/^SQLITE_\w+: (sqlite3 result code \d+: )?/, ''), {
        sqliteCode: rc,
        context: err.context,
      });
    }
    return err;
  }
  return e;
}
