/**
 * Splits SQL text into its statements by asking SQLite's own parser (prepare + tail), so comments,
 * string literals and triggers' inner semicolons are handled exactly as SQLite sees them.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { sqliteError } from './sqlite-error.js';

export function splitStatements(sqlite3: Sqlite3Static, db: Database, sql: string): string[] {
  // Raw pointer work the typings do not describe.
  const { capi, wasm } = sqlite3 as unknown as { capi: any; wasm: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const statements: string[] = [];
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
      statements.push(capi.sqlite3_sql(pStmt));
      capi.sqlite3_finalize(pStmt);
    }
  } finally {
    wasm.scopedAllocPop(stack);
  }
  return statements;
}
