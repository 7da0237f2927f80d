/**
 * Row change → SQL, for pushing to the server and for replaying local changes after a pull
 * (sync-protocol.md §6). Rows are addressed by primary key (`IS`, so NULL key parts match), or by
 * rowid for tables without one. Identifiers are always quoted; values are always bound.
 */
import { type EngineValue, Real } from '../../contract/sql-value.js';
import { type UpsertShape, rowTuple } from '../sql/upsert-shape.js';
import { type TableInfo, quoteId, rowidName } from './table-info.js';

export interface ChangeStatement {
  readonly sql: string;
  /** REALs read from the change log stay `Real`, so that 2.0 is sent and replayed as a REAL. */
  readonly args: readonly EngineValue[];
  /** For a keyed insert: its parts, so a push can send many rows in one statement. */
  readonly upsert?: UpsertShape;
}

export interface RowImages {
  readonly changeType: 'insert' | 'update' | 'delete';
  readonly id: number | bigint | null;
  readonly before: readonly EngineValue[] | null;
  readonly after: readonly EngineValue[] | null;
  /** Update only: the column indexes to set; default: those whose value differs between the images. */
  readonly changed?: readonly number[];
}

/** Two stored values are the same value of the same type. */
export function sameValue(a: EngineValue | undefined, b: EngineValue | undefined): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  if (a instanceof Real && b instanceof Real) return Object.is(a.value, b.value);
  // Decoding is canonical (bigint only beyond 2^53), so === is exact for everything else.
  return a === b;
}

/** Column indexes an update changed (a column the before image lacks counts as changed). */
export function changedColumns(before: readonly EngineValue[], after: readonly EngineValue[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < after.length; i++) if (i >= before.length || !sameValue(before[i], after[i])) out.push(i);
  return out;
}

/**
 * What a table's statements share, built once per table definition (TableInfo objects are cached
 * until the schema changes): pushing 10k rows of one table builds its SQL text once, not 10k times.
 */
interface TableSql {
  readonly table: string;
  readonly keyIndexes: number[];
  readonly hasKey: boolean;
  readonly rowid: string | null;
  readonly keyWhere: string;
  /** Statement texts and upsert shapes by a key such as `insert:3` or `update:0,2`. */
  readonly texts: Map<string, string>;
  readonly upserts: Map<number, UpsertShape>;
}

const tableSqlCache = new WeakMap<TableInfo, TableSql>();

function tableSql(info: TableInfo): TableSql {
  let cached = tableSqlCache.get(info);
  if (!cached) {
    const keyIndexes = info.primaryKey.map((k) => info.columns.indexOf(k));
    const hasKey = keyIndexes.length > 0 && keyIndexes.every((i) => i >= 0);
    const rowid = rowidName(info);
    cached = {
      table: quoteId(info.name),
      keyIndexes,
      hasKey,
      rowid,
      keyWhere: hasKey ? info.primaryKey.map((k) => `${quoteId(k)} IS ?`).join(' AND ') : rowid ? `${quoteId(rowid)} = ?` : '',
      texts: new Map(),
      upserts: new Map(),
    };
    tableSqlCache.set(info, cached);
  }
  return cached;
}

function text(t: TableSql, key: string, build: () => string): string {
  let sql = t.texts.get(key);
  if (sql === undefined) t.texts.set(key, (sql = build()));
  return sql;
}

export function rowChangeSql(info: TableInfo, change: RowImages): ChangeStatement[] {
  const t = tableSql(info);
  const { table, keyIndexes, hasKey, rowid, keyWhere } = t;
  if (!hasKey && (!rowid || change.id === null)) {
    throw new Error(`table ${info.name} has neither a primary key nor a rowid to address its rows by`);
  }
  const keyArgs = (image: readonly EngineValue[]): EngineValue[] => (hasKey ? keyIndexes.map((i) => image[i] ?? null) : [change.id]);
  const deleteSql = () => text(t, 'delete', () => `DELETE FROM ${table} WHERE ${keyWhere}`);

  switch (change.changeType) {
    case 'insert': {
      const after = change.after ?? [];
      const width = Math.min(after.length, info.columns.length);
      const names = () => info.columns.slice(0, width).map(quoteId);
      if (!hasKey) {
        // No key of its own: keep the local rowid, so later updates and deletes find the same row.
        const sql = text(t, `replace:${width}`, () => `INSERT OR REPLACE INTO ${table}(${[quoteId(rowid!), ...names()].join(', ')}) VALUES ${rowTuple(width + 1)}`);
        return [{ sql, args: [change.id, ...after.slice(0, width)] }];
      }
      const out: ChangeStatement[] = [];
      const key = keyArgs(after);
      // ON CONFLICT never matches a key with a NULL part (NULLs are distinct): clear such a row first.
      if (key.some((v) => v === null)) out.push({ sql: deleteSql(), args: key });
      let upsert = t.upserts.get(width);
      if (!upsert) {
        const quoted = names();
        upsert = {
          head: `INSERT INTO ${table}(${quoted.join(', ')}) VALUES `,
          tail: ` ON CONFLICT(${info.primaryKey.map(quoteId).join(',')}) DO UPDATE SET ${quoted.map((n) => `${n} = excluded.${n}`).join(',')}`,
          width,
        };
        t.upserts.set(width, upsert);
      }
      const shape = upsert;
      const sql = text(t, `insert:${width}`, () => `${shape.head}${rowTuple(shape.width)}${shape.tail}`);
      out.push({ sql, args: after.length === width ? after : after.slice(0, width), upsert });
      return out;
    }
    case 'update': {
      const before = change.before ?? [];
      const after = change.after ?? [];
      const changed = (change.changed ?? changedColumns(before, after)).filter((i) => i < info.columns.length);
      if (changed.length === 0) return [];
      const sql = text(t, `update:${changed.join(',')}`, () => `UPDATE ${table} SET ${changed.map((i) => `${quoteId(info.columns[i]!)} = ?`).join(', ')} WHERE ${keyWhere}`);
      return [{ sql, args: [...changed.map((i) => after[i] ?? null), ...keyArgs(before)] }];
    }
    case 'delete':
      return [{ sql: deleteSql(), args: keyArgs(change.before ?? []) }];
  }
}
