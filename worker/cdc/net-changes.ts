/**
 * The net effect of a run of logged changes, per row: what a push sends and a pull replays. A row
 * inserted then updated becomes one insert of its final values; inserted then deleted, nothing;
 * updated several times, one update of every column any of them changed (final values); deleted
 * then inserted again, one insert of the new row (an upsert/replace by key). So a row the user
 * fixed after the server refused it is sent as fixed, not replayed through the refused state.
 *
 * Each row's net change takes the place of the row's first change in the run. Rows are matched by
 * the address the server finds them at (primary key, or rowid); changes that cannot be merged
 * safely stay as they were and close what they touch:
 * - a schema change closes the open rows of its table (every table's, when `allTables`): row
 *   changes are never merged across a DDL of their table;
 * - an update that moves a row to another key closes both keys' rows, so that changes at one key
 *   keep their order (a later row at a key never jumps before an earlier one at the same key);
 * - a change without an address (a NULL key part, which the server matches with IS) and changes
 *   that do not follow from the row's state (an insert over a present row) are not merged.
 * Pure: no SQLite, so it is tested in Node.
 */
import { type EngineValue, Real } from '../../contract/sql-value.js';
import { changedColumns } from './row-change-sql.js';

export type RowChangeType = 'insert' | 'update' | 'delete';

/** One logged change, as the merge sees it. */
export type LoggedChange =
  | {
      readonly kind: 'row';
      readonly tableName: string;
      readonly changeType: RowChangeType;
      /** The row's address before the change (update, delete) or after it (insert); null: never merged. */
      readonly address: string | null;
      /** For an update that changes the row's key: the address after it. */
      readonly movedTo?: string | null;
      readonly before: readonly EngineValue[] | null;
      readonly after: readonly EngineValue[] | null;
    }
  | { readonly kind: 'schema'; readonly tableName: string; readonly allTables: boolean }
  /** A change the merge leaves alone and that closes nothing (e.g. a local-only change). */
  | { readonly kind: 'other' };

/** A merged row change: the images and columns to build its statement from. */
export interface NetRowChange {
  readonly changeType: RowChangeType;
  readonly before: readonly EngineValue[] | null;
  readonly after: readonly EngineValue[] | null;
  /** Update only: the column indexes to set (every column one of the merged updates changed). */
  readonly changed?: readonly number[];
}

export interface NetEntry {
  /** Indexes of the input changes this entry stands for, ascending. */
  readonly sources: readonly number[];
  /** null: send the single source as it was logged. 'nothing': the changes cancel out. */
  readonly net: NetRowChange | 'nothing' | null;
}

interface Chain {
  readonly entry: number;
  readonly sources: number[];
  readonly startExists: boolean;
  exists: boolean;
  /** Deleted and inserted again: the end state is a whole new row, not an update. */
  replaced: boolean;
  readonly firstBefore: readonly EngineValue[] | null;
  lastAfter: readonly EngineValue[] | null;
  readonly changed: Set<number>;
}

/** Merges `changes` (oldest first) into net entries, in the order of each entry's first change. */
export function netChanges(changes: readonly LoggedChange[]): NetEntry[] {
  const entries: { sources: number[]; net: NetEntry['net'] }[] = [];
  const chains: (Chain | null)[] = [];
  const open = new Map<string, Map<string, Chain>>();

  const close = (table: string, address: string | null | undefined) => {
    if (address != null) open.get(table)?.delete(address);
  };
  const alone = (i: number) => {
    entries.push({ sources: [i], net: null });
    chains.push(null);
  };

  changes.forEach((change, i) => {
    if (change.kind === 'other') return alone(i);
    if (change.kind === 'schema') {
      if (change.allTables) open.clear();
      else open.delete(change.tableName);
      return alone(i);
    }
    const table = change.tableName;
    const moved = change.changeType === 'update' && change.movedTo !== undefined && change.movedTo !== change.address;
    if (change.address === null || moved) {
      close(table, change.address);
      if (moved) close(table, change.movedTo);
      return alone(i);
    }
    const rows = open.get(table) ?? new Map<string, Chain>();
    open.set(table, rows);
    const chain = rows.get(change.address);
    if (chain && extend(chain, change, i)) return;
    const started: Chain = {
      entry: entries.length,
      sources: [i],
      startExists: change.changeType !== 'insert',
      exists: change.changeType !== 'delete',
      replaced: false,
      firstBefore: change.before,
      lastAfter: change.after,
      changed: new Set(change.changeType === 'update' ? changedColumns(change.before ?? [], change.after ?? []) : []),
    };
    rows.set(change.address, started);
    entries.push({ sources: started.sources, net: null });
    chains.push(started);
  });

  return entries.map((entry, k) => {
    const chain = chains[k];
    if (!chain || chain.sources.length === 1) return { sources: entry.sources, net: null };
    return { sources: entry.sources, net: finish(chain) };
  });
}

/** Adds a change to its row's chain; false if it does not follow from the row's state. */
function extend(chain: Chain, change: Extract<LoggedChange, { kind: 'row' }>, index: number): boolean {
  switch (change.changeType) {
    case 'insert':
      if (chain.exists) return false;
      chain.exists = true;
      chain.lastAfter = change.after;
      if (chain.startExists) chain.replaced = true;
      break;
    case 'update':
      if (!chain.exists) return false;
      for (const c of changedColumns(change.before ?? [], change.after ?? [])) chain.changed.add(c);
      chain.lastAfter = change.after;
      break;
    case 'delete':
      if (!chain.exists) return false;
      chain.exists = false;
      break;
  }
  chain.sources.push(index);
  return true;
}

function finish(chain: Chain): NetRowChange | 'nothing' {
  if (!chain.startExists) return chain.exists ? { changeType: 'insert', before: null, after: chain.lastAfter } : 'nothing';
  if (!chain.exists) return { changeType: 'delete', before: chain.firstBefore, after: null };
  if (chain.replaced) return { changeType: 'insert', before: null, after: chain.lastAfter };
  return { changeType: 'update', before: chain.firstBefore, after: chain.lastAfter, changed: [...chain.changed].sort((a, b) => a - b) };
}

/** A canonical text for a row address (key values with their types), for matching rows. */
export function addressOf(values: readonly EngineValue[]): string | null {
  const parts: string[] = [];
  for (const v of values) {
    if (v === null || v === undefined) return null;
    if (v instanceof Uint8Array) parts.push(`x${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')}`);
    else if (typeof v === 'string') parts.push(`s${JSON.stringify(v)}`);
    // Integers and reals with the same value address the same row (SQLite compares them equal).
    else parts.push(`n${String(v instanceof Real ? v.value : v)}`);
  }
  return parts.join(',');
}
