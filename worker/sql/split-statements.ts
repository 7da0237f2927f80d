/**
 * Walks SQL text statement by statement using SQLite's own parser (prepare + tail), so comments,
 * string literals and triggers' inner semicolons are handled exactly as SQLite sees them. Each
 * statement is prepared only after the previous one was handed out, so a script whose later
 * statements depend on earlier ones (CREATE TABLE then INSERT) works.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { sqliteError } from './sqlite-error.js';

/** Calls `onStatement` with each statement's text in order; stop early by returning false. */
export function forEachStatement(
  sqlite3: Sqlite3Static,
  db: Database,
  sql: string,
  onStatement: (text: string) => boolean | void,
): void {
  // Raw pointer work the typings do not describe.
  const { capi, wasm } = sqlite3 as unknown as { capi: any; wasm: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const stack = wasm.scopedAllocPush();
  try {
    let byteLen: number = wasm.jstrlen(sql);
    const ppStmt = wasm.scopedAlloc(2 * wasm.ptr.size + byteLen + 1);
    const pzTail = wasm.ptr.add(ppStmt, wasm.ptr.size);
    let pSql = wasm.ptr.add(pzTail, wasm.ptr.size);
    const pEnd = wasm.ptr.add(pSql, byteLen);
    wasm.jstrcpy(sql, wasm.heap8(), pSql, byteLen, false);
    wasm.poke8(pEnd, 0);
    while (pSql && wasm.peek8(pSql)) {
      wasm.pokePtr([ppStmt, pzTail], 0);
      const rc = capi.sqlite3_prepare_v3(db.pointer, pSql, byteLen, 0, ppStmt, pzTail);
      if (rc !== 0) throw sqliteError(sqlite3, db, rc, sql);
      const pStmt = wasm.peekPtr(ppStmt);
      pSql = wasm.peekPtr(pzTail);
      byteLen = Number(pEnd) - Number(pSql);
      if (!pStmt) continue; // whitespace or a comment
      const text: string = capi.sqlite3_sql(pStmt);
      capi.sqlite3_finalize(pStmt);
      if (onStatement(text) === false) return;
    }
  } finally {
    wasm.scopedAllocPop(stack);
  }
}

/**
 * How many statements `sql` holds, counting at most 2 ("more than one"). Text after the first
 * statement that does not prepare still counts as a second statement.
 */
export function countStatements(sqlite3: Sqlite3Static, db: Database, sql: string): number {
  let count = 0;
  try {
    forEachStatement(sqlite3, db, sql, () => ++count < 2);
  } catch (e) {
    if (count === 0) throw e;
    return 2;
  }
  return count;
}
