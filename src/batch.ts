/** batch() on the main thread: its input packed for the worker in one message, and the worker's results unpacked. */
import { transfer } from 'comlink';
import { WalsyncError } from '../contract/errors.js';
import type { BatchRequest, BatchResults } from '../contract/worker-api.js';
import { type Row, toRows } from './rows.js';
import { checkArgs } from './statement.js';

/** A statement for batch(): SQL text alone, or SQL with arguments (an array, or an object of named values). */
export type BatchInput = string | { sql: string; args?: readonly unknown[] | Readonly<Record<string, unknown>> };

/** What one statement of a batch returned. */
export interface BatchResultSet {
  readonly rows: Row[];
  readonly columns: string[];
  /** Rows changed by the statement. */
  readonly rowsAffected: number;
  readonly lastInsertRowid: number | bigint;
}

/** @internal Packs batch() input for the worker (see BatchRequest): SQL texts once, arguments flattened. */
export function toBatchRequest(statements: readonly BatchInput[]): BatchRequest {
  if (!Array.isArray(statements)) throw new WalsyncError('INVALID_ARGUMENT', 'batch() takes an array of statements');
  const sqls: string[] = [];
  const indexOf = new Map<string, number>();
  const sqlIndex = new Int32Array(statements.length);
  const argCount = new Int32Array(statements.length);
  const values: unknown[] = [];
  const named: Record<string, unknown>[] = [];
  statements.forEach((s, i) => {
    const sql = typeof s === 'string' ? s : typeof s === 'object' && s !== null && typeof s.sql === 'string' ? s.sql : null;
    if (sql === null) throw new WalsyncError('INVALID_ARGUMENT', `batch(): statement ${i} must be a string or { sql, args }`);
    let index = indexOf.get(sql);
    if (index === undefined) {
      index = sqls.push(sql) - 1;
      indexOf.set(sql, index);
    }
    sqlIndex[i] = index;
    const args = typeof s === 'string' ? [] : (s.args ?? []);
    if (Array.isArray(args)) {
      argCount[i] = args.length;
      checkArgs(args, i);
      for (const v of args) values.push(v);
    } else if (typeof args === 'object' && args !== null) {
      argCount[i] = -1;
      checkArgs(args, i);
      named.push(args as Record<string, unknown>);
    } else {
      throw new WalsyncError('INVALID_ARGUMENT', `batch(): the args of statement ${i} must be an array or an object of named values`);
    }
  });
  return transfer({ sqls, sqlIndex, argCount, values, named }, [sqlIndex.buffer, argCount.buffer]);
}

/** @internal Unpacks the worker's batch results into one result set per statement. */
export function toBatchResultSets(results: BatchResults): BatchResultSet[] {
  const out = new Array<BatchResultSet>(results.changes.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = { rows: [], columns: [], rowsAffected: results.changes[i]!, lastInsertRowid: results.lastInsertRowid[i]! };
  }
  for (const set of results.rowSets) {
    out[set.index] = { ...out[set.index]!, rows: toRows(set.columns, set.rows), columns: set.columns };
  }
  return out;
}

