/**
 * Row change → SQL, for pushing to the server and for replaying local changes after a pull
 * (sync-protocol.md §6). Rows are addressed by primary key (`IS`, so NULL key parts match), or by
 * rowid for tables without one. Identifiers are always quoted; values are always bound.
 */
import type { SqlValue } from '../rpc.js';
import { type TableInfo, quoteId, rowidName } from './table-info.js';

/** A one-row `INSERT … VALUES (?,…) ON CONFLICT … DO UPDATE …` as its parts: `head` + row tuples + `tail`. */
export interface UpsertShape {
  readonly head: string;
  readonly tail: string;
  /** Placeholders per row. */
  readonly width: number;
}

export interface ChangeStatement {
  readonly sql: string;
  readonly args: readonly SqlValue[];
  /** For a keyed insert: its parts, so a push can send many rows in one statement. */
  readonly upsert?: UpsertShape;
}

export interface RowImages {
  readonly changeType: 'insert' | 'update' | 'delete';
  readonly id: number | bigint | null;
  readonly before: readonly SqlValue[] | null;
  readonly after: readonly SqlValue[] | null;
}

/** Two stored values are the same value of the same type. */
export function sameValue(a: SqlValue | undefined, b: SqlValue | undefined): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  // Decoding is canonical (bigint only beyond 2^53), so === is exact for everything else.
  return a === b;
}

/** Column indexes an update changed (a column the before image lacks counts as changed). */
export function changedColumns(before: readonly SqlValue[], after: readonly SqlValue[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < after.length; i++) if (i >= before.length || !sameValue(before[i], after[i])) out.push(i);
  return out;
}

export function rowChangeSql(info: TableInfo, change: RowImages): ChangeStatement[] {
  const table = quoteId(info.name);
  const keyIndexes = info.primaryKey.map((k) => info.columns.indexOf(k));
  const hasKey = keyIndexes.length > 0 && keyIndexes.every((i) => i >= 0);
  const rowid = rowidName(info);
  if (!hasKey && (!rowid || change.id === null)) {
    throw new Error(`table ${info.name} has neither a primary key nor a rowid to address its rows by`);
  }
  const keyWhere = hasKey ? info.primaryKey.map((k) => `${quoteId(k)} IS ?`).join(' AND ') : `${quoteId(rowid!)} = ?`;
  const keyArgs = (image: readonly SqlValue[]): SqlValue[] => (hasKey ? keyIndexes.map((i) => image[i] ?? null) : [change.id]);

  switch (change.changeType) {
    case 'insert': {
      const after = change.after ?? [];
      const columns = info.columns.slice(0, after.length);
      const names = columns.map(quoteId);
      if (!hasKey) {
        // No key of its own: keep the local rowid, so later updates and deletes find the same row.
        return [
          {
            sql: `INSERT OR REPLACE INTO ${table}(${[quoteId(rowid!), ...names].join(', ')}) VALUES (${['?', ...names.map(() => '?')].join(',')})`,
            args: [change.id, ...after],
          },
        ];
      }
      const out: ChangeStatement[] = [];
      const key = keyArgs(after);
      // ON CONFLICT never matches a key with a NULL part (NULLs are distinct): clear such a row first.
      if (key.some((v) => v === null)) out.push({ sql: `DELETE FROM ${table} WHERE ${keyWhere}`, args: key });
      const upsert: UpsertShape = {
        head: `INSERT INTO ${table}(${names.join(', ')}) VALUES `,
        tail: ` ON CONFLICT(${info.primaryKey.map(quoteId).join(',')}) DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(',')}`,
        width: names.length,
      };
      out.push({ sql: `${upsert.head}${rowTuple(upsert.width)}${upsert.tail}`, args: after, upsert });
      return out;
    }
    case 'update': {
      const before = change.before ?? [];
      const after = change.after ?? [];
      const changed = changedColumns(before, after).filter((i) => i < info.columns.length);
      if (changed.length === 0) return [];
      return [
        {
          sql: `UPDATE ${table} SET ${changed.map((i) => `${quoteId(info.columns[i]!)} = ?`).join(', ')} WHERE ${keyWhere}`,
          args: [...changed.map((i) => after[i] ?? null), ...keyArgs(before)],
        },
      ];
    }
    case 'delete':
      return [{ sql: `DELETE FROM ${table} WHERE ${keyWhere}`, args: keyArgs(change.before ?? []) }];
  }
}

/** `(?,?,…)` for one row of `width` values. */
export function rowTuple(width: number): string {
  return `(${new Array<string>(width).fill('?').join(',')})`;
}
