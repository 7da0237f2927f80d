/**
 * Change capture on plain SQLite, as the engine's ChangeCapture: TEMP triggers log row changes
 * into `turso_cdc` (capture-triggers.ts), a wrapper around each user statement logs schema
 * changes (schema-change.ts), and row-change-sql.ts turns logged changes into SQL.
 *
 * Why triggers and not the preupdate hook: a trigger writes the log row inside the statement that
 * made the change, so change and log commit together even in autocommit mode and even for
 * statements SQLite runs on its own (FOREIGN KEY actions, user triggers). The preupdate hook would
 * collect changes in JS and need a second write before each commit, which autocommit statements
 * do not leave room for.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import type { CapturedChange, ChangeCapture } from './change-capture.js';
import type { PushStatement } from '../protocol/remote.js';
import { type LoggedChange, type NetRowChange, addressOf, netChanges } from './net-changes.js';
import type { DatabaseRowMutation, DatabaseRowTransformResult, PendingChange, SqlValue } from '../../contract/worker-api.js';
import { isAutocommit } from '../sql/schema.js';
import { countStatements } from '../sql/split-statements.js';
import { registerCaptureFunctions } from './capture-functions.js';
import { refreshCaptureTriggers } from './capture-triggers.js';
import { CREATE_CDC_TABLE, ChangeType, type CdcRow, countCdcRowsAfter, deleteCdcRows, insertSchemaChange, maxTxnId, readCdcRows } from './cdc-log.js';
import { type EngineValue, toSqlValue } from '../../contract/sql-value.js';
import { InternalTableGuard } from './internal-table-guard.js';
import { decodeRecord } from './record.js';
import { type ChangeStatement, changedColumns, rowChangeSql } from './row-change-sql.js';
import {
  changedSchemaObjects,
  headerSettingOf,
  idempotentDdl,
  isLocalOnlySchemaChange,
  looksLikeSchemaChange,
  parseAddColumn,
  readSchemaSnapshot,
  stripLeadingComments,
  userSchemaObjects,
} from './schema-change.js';
import { type TableInfo, readTableInfo, rowidName } from './table-info.js';

export interface CdcChange extends CapturedChange {
  /** The logged row (for a merged change: its last one, for the time and rowid). */
  readonly row: CdcRow;
  /** The change's images once coalesce() decoded (or merged) them; decoded from `row` otherwise. */
  readonly net?: NetRowChange;
}

/** A change's type and images, decoded. */
interface Images {
  readonly changeType: 'insert' | 'update' | 'delete';
  readonly before: readonly EngineValue[] | null;
  readonly after: readonly EngineValue[] | null;
  readonly changed?: readonly number[];
}

/** ALTER TABLE … RENAME TO: the one schema change that touches the rows of two table names. */
const RENAME_TABLE = /^ALTER\s+TABLE\b[\s\S]*\bRENAME\s+TO\b/i;

export function createChangeCapture(sqlite3: Sqlite3Static, tablesIgnore: readonly string[]): ChangeCapture<CdcChange> {
  return new TriggerChangeCapture(sqlite3, new Set(tablesIgnore));
}

const VACUUM = /^VACUUM\b/i;
/** Statements that open a transaction (sqlite3_stmt_readonly() calls them read-only). */
const TRANSACTION_START = /^(BEGIN|SAVEPOINT)\b/i;

/**
 * VACUUM may renumber the rowids of tables without an INTEGER PRIMARY KEY, by which sync addresses
 * their rows (no trigger sees it), and shrinking the file drops pages the synced base still needs.
 */
function vacuumRefused(sql: string): WalsyncError {
  return new WalsyncError(
    'INVALID_ARGUMENT',
    'VACUUM is not available on a synced database: it can renumber the rowids by which sync addresses rows, and shrinking the file would drop pages the synced state still needs',
    { context: { sql: sql.slice(0, 500) } },
  );
}

const CHANGE_TYPES: Record<number, 'insert' | 'update' | 'delete'> = {
  [ChangeType.insert]: 'insert',
  [ChangeType.update]: 'update',
  [ChangeType.delete]: 'delete',
};

class TriggerChangeCapture implements ChangeCapture<CdcChange> {
  readonly #sqlite3: Sqlite3Static;
  readonly #ignore: ReadonlySet<string>;
  /** The open transaction's id, assigned on its first change; null between transactions. */
  #txn: number | null = null;
  #nextTxn = 1;
  /** Table definitions by name, valid until the next schema change or reopen. */
  #tables = new Map<string, TableInfo | null>();
  readonly #guard: InternalTableGuard;
  /** False after a lazy enable() until the triggers exist and #nextTxn is known (see #startCapturing). */
  #capturing = false;

  constructor(sqlite3: Sqlite3Static, ignore: ReadonlySet<string>) {
    this.#sqlite3 = sqlite3;
    this.#ignore = ignore;
    this.#guard = new InternalTableGuard(sqlite3);
  }

  enable(db: Database, lazily = false): void {
    registerCaptureFunctions(this.#sqlite3, db, () => this.#txnId());
    this.#guard.install(db);
    this.#tables.clear();
    this.#txn = null;
    this.#capturing = false;
    if (!lazily) this.#startCapturing(db);
  }

  /**
   * Creates the log (if needed), the capture triggers and learns the next transaction id (a scan
   * of the whole log). None is needed to read (every reader of the log takes a missing one as
   * empty), so after a lazy enable() (the open) this waits for the first statement that may write:
   * the first query of a cold start does not pay for it, nor the first query after a bootstrap
   * for creating the log (a commit, with its flush, on a database that was just written).
   */
  #startCapturing(db: Database): void {
    db.exec(CREATE_CDC_TABLE);
    refreshCaptureTriggers(db, this.#ignore);
    this.#nextTxn = Math.max(this.#nextTxn, maxTxnId(db) + 1);
    // TEMP triggers created inside a transaction vanish if it rolls back: then the next statement
    // creates them again.
    this.#capturing = isAutocommit(this.#sqlite3, db);
  }

  guard<T>(_db: Database, work: () => T): T {
    return this.#guard.run(work);
  }

  around<T>(db: Database, sql: string, run: () => T, readonly?: boolean): T {
    const autocommit = isAutocommit(this.#sqlite3, db);
    // Outside a transaction every statement starts a new one.
    if (autocommit) this.#txn = null;
    // Every statement of a synced database passes here: strip its leading comments once.
    const text = stripLeadingComments(sql);
    // A transaction's first statement starts capture too: triggers it created would roll back with it.
    if (!this.#capturing && (readonly !== true || TRANSACTION_START.test(text))) this.#startCapturing(db);
    if (VACUUM.test(text)) throw vacuumRefused(text);
    const setting = headerSettingOf(text);
    if (setting) return this.#aroundHeaderSetting(db, setting, autocommit, run);
    if (!looksLikeSchemaChange(text)) return run();

    const before = readSchemaSnapshot(db);
    try {
      return this.#withLogRow(db, autocommit, () => {
        const result = run();
        const changed = userSchemaObjects(changedSchemaObjects(before, readSchemaSnapshot(db)));
        if (changed.length > 0) {
          insertSchemaChange(db, changed[0]!.tblName, text, this.#txnId(), isLocalOnlySchemaChange(changed));
        }
        refreshCaptureTriggers(db, this.#ignore);
        return result;
      });
    } finally {
      this.#tables.clear();
    }
  }

  /** Runs a header-setting PRAGMA and logs its resulting value as a local-only change. */
  #aroundHeaderSetting<T>(db: Database, setting: 'user_version' | 'application_id', autocommit: boolean, run: () => T): T {
    return this.#withLogRow(db, autocommit, () => {
      const result = run();
      const value = Number(db.selectValue(`PRAGMA ${setting}`));
      insertSchemaChange(db, setting, `PRAGMA ${setting} = ${value}`, this.#txnId(), true);
      return result;
    });
  }

  /**
   * A statement and the log row that records it must commit together: outside a transaction they
   * get a savepoint of their own, rolled back whole if either fails.
   */
  #withLogRow<T>(db: Database, autocommit: boolean, work: () => T): T {
    if (!autocommit) return work();
    db.exec('SAVEPOINT walsync_logged_statement');
    try {
      const result = work();
      db.exec('RELEASE walsync_logged_statement');
      return result;
    } catch (e) {
      if (!isAutocommit(this.#sqlite3, db)) db.exec('ROLLBACK TO walsync_logged_statement; RELEASE walsync_logged_statement');
      throw e;
    }
  }

  read(db: Database, afterChangeId: number, limit: number): CdcChange[] {
    return readCdcRows(this.#sqlite3, db, afterChangeId, limit).map((row) => ({
      changeId: row.changeId,
      changeIds: [row.changeId],
      txnId: row.txnId,
      tableName: row.tableName,
      isSchemaChange: row.changeType === ChangeType.schema,
      localOnly: row.localOnly,
      row,
    }));
  }

  countAfter(db: Database, afterChangeId: number): number {
    return countCdcRowsAfter(db, afterChangeId);
  }

  coalesce(db: Database, changes: readonly CdcChange[]): CdcChange[] {
    const images = changes.map((c) => (c.isSchemaChange || c.localOnly ? null : this.#images(c)));
    // Only inserts (beside schema and local-only changes), as a bulk load logs: an insert never
    // follows from a row that is present, so no two of them merge (net-changes.ts) and the net form
    // is the log itself. Skips working out every row's address for nothing.
    if (changes.every((c) => c.localOnly || c.isSchemaChange || c.row.changeType === ChangeType.insert)) {
      return changes.map((c, i) => (images[i] ? { ...c, net: images[i] } : c));
    }
    const logged = changes.map((c, i): LoggedChange => {
      if (c.localOnly) return { kind: 'other' };
      if (c.isSchemaChange) return { kind: 'schema', tableName: c.tableName, allTables: RENAME_TABLE.test(c.row.ddl ?? '') };
      const info = this.#table(db, c.tableName);
      const image = images[i]!;
      if (!info) return { kind: 'other' };
      const keyIndexes = info.primaryKey.map((k) => info.columns.indexOf(k));
      const hasKey = keyIndexes.length > 0 && keyIndexes.every((k) => k >= 0);
      // The server finds a row by its primary key, or by rowid for a table without one.
      const address = (values: readonly EngineValue[] | null): string | null =>
        hasKey ? addressOf(keyIndexes.map((k) => values?.[k] ?? null)) : c.row.id === null ? null : addressOf([c.row.id]);
      const { changeType, before, after } = image;
      return {
        kind: 'row',
        tableName: c.tableName,
        changeType,
        address: address(changeType === 'insert' ? after : before),
        ...(changeType === 'update' ? { movedTo: address(after) } : {}),
        before,
        after,
      };
    });
    const out: CdcChange[] = [];
    for (const entry of netChanges(logged)) {
      const sources = entry.sources.map((i) => changes[i]!);
      if (entry.net === 'nothing') continue;
      if (entry.net === null) {
        // As logged; its images are decoded already (kept, so that they are not decoded twice).
        const image = images[entry.sources[0]!];
        out.push(image ? { ...sources[0]!, net: image } : sources[0]!);
        continue;
      }
      const last = sources[sources.length - 1]!;
      out.push({
        changeId: sources[0]!.changeId,
        changeIds: sources.map((c) => c.changeId),
        txnId: last.txnId,
        tableName: last.tableName,
        isSchemaChange: false,
        localOnly: false,
        row: last.row,
        net: entry.net,
      });
    }
    return out;
  }

  mutation(db: Database, change: CdcChange): DatabaseRowMutation | null {
    // Local-only changes are replayed as they are; the transform hook is about what goes to the server.
    if (change.localOnly) return null;
    const { row } = change;
    if (change.isSchemaChange) {
      return { changeTime: row.changeTime, tableName: row.tableName, id: null, changeType: 'schema', sql: row.ddl ?? '' };
    }
    const info = this.#table(db, change.tableName);
    if (!info) return null;
    const { changeType, before, after, changed } = this.#images(change);
    const named = this.#named(info);
    return {
      changeTime: row.changeTime,
      tableName: row.tableName,
      id: row.id,
      changeType,
      ...(before ? { before: named(before) } : {}),
      ...(after ? { after: named(after) } : {}),
      ...(changeType === 'update' && before && after ? { updates: named(after, changed ?? changedColumns(before, after)) } : {}),
    };
  }

  describe(db: Database, change: CdcChange): PendingChange {
    const { row } = change;
    const common = { changeId: row.changeId, transactionId: row.txnId, changeTime: row.changeTime, tableName: row.tableName, id: row.id };
    if (change.isSchemaChange) return { ...common, changeType: 'schema', isSchemaChange: true, sql: row.ddl ?? '' };
    const { changeType, before, after } = this.#images(change);
    const info = this.#table(db, change.tableName);
    if (!info) return { ...common, changeType, isSchemaChange: false };
    const named = this.#named(info);
    const keyIndexes = info.primaryKey.map((k) => info.columns.indexOf(k));
    const image = before ?? after ?? [];
    const rowid = rowidName(info);
    const key =
      keyIndexes.length > 0 && keyIndexes.every((k) => k >= 0)
        ? named(image, keyIndexes)
        : rowid && row.id !== null
          ? { [rowid]: row.id }
          : undefined;
    return {
      ...common,
      changeType,
      isSchemaChange: false,
      ...(key ? { key } : {}),
      ...(before ? { before: named(before) } : {}),
      ...(after ? { after: named(after) } : {}),
    };
  }

  discard(db: Database, changeIds: readonly number[]): number {
    return deleteCdcRows(db, changeIds);
  }

  /** Values of a row image keyed by column name (the given column indexes, or all). */
  #named(info: TableInfo) {
    // The app sees plain values: a REAL is a number there.
    return (values: readonly EngineValue[], indexes: Iterable<number> = values.keys()) => {
      const out: Record<string, SqlValue> = {};
      for (const i of indexes) if (i < info.columns.length) out[info.columns[i]!] = toSqlValue(values[i] ?? null);
      return out;
    };
  }

  #images(change: CdcChange): Images {
    if (change.net) return change.net;
    const { row } = change;
    return {
      changeType: CHANGE_TYPES[row.changeType]!,
      before: row.before ? decodeRecord(row.before) : null,
      after: row.after ? decodeRecord(row.after) : null,
    };
  }

  pushStatements(db: Database, change: CdcChange, transformed: DatabaseRowTransformResult): PushStatement[] {
    if (change.localOnly) return [];
    if (change.isSchemaChange && transformed) return this.#transformedStatements(db, transformed);
    if (change.isSchemaChange) {
      const ddl = change.row.ddl ?? '';
      // Another client may have added the same column first: that is not a reason to refuse the push.
      return [{ sql: idempotentDdl(ddl), args: [], ignoreError: parseAddColumn(ddl) !== null }];
    }
    return this.#rowStatements(db, change, transformed);
  }

  replayStatements(db: Database, change: CdcChange, transformed: DatabaseRowTransformResult): ChangeStatement[] {
    if (change.isSchemaChange && transformed) return this.#transformedStatements(db, transformed);
    if (change.isSchemaChange) {
      const ddl = change.row.ddl ?? '';
      const added = parseAddColumn(ddl);
      if (added && this.#table(db, added.table)?.columns.some((c) => c.toLowerCase() === added.column.toLowerCase())) return [];
      return [{ sql: idempotentDdl(ddl), args: [] }];
    }
    return this.#rowStatements(db, change, transformed);
  }

  #rowStatements(db: Database, change: CdcChange, transformed: DatabaseRowTransformResult): ChangeStatement[] {
    if (transformed) return this.#transformedStatements(db, transformed);
    // A table dropped after the change: its rows are gone wherever the drop arrives.
    const info = this.#table(db, change.tableName);
    if (!info) return [];
    return rowChangeSql(info, { id: change.row.id, ...this.#images(change) });
  }

  #transformedStatements(db: Database, transformed: NonNullable<DatabaseRowTransformResult>): ChangeStatement[] {
    if (transformed.operation === 'skip') return [];
    const { sql, values } = transformed.stmt;
    // A rewrite is one statement: a replay runs one prepared statement, a push sends one, so the
    // rest of a script would be dropped without a word. (SQL that does not prepare here, e.g. on
    // a table only the server has, is left for the server or the replay to report.)
    let count = 1;
    try {
      count = countStatements(this.#sqlite3, db, sql);
    } catch {
      count = 1;
    }
    if (count !== 1) {
      throw new WalsyncError('INVALID_ARGUMENT', `transform returned a rewrite with ${count === 0 ? 'no' : 'more than one'} SQL statement; a rewrite must be exactly one statement`, {
        context: { sql: sql.slice(0, 500) },
      });
    }
    return [{ sql, args: values }];
  }

  #table(db: Database, name: string): TableInfo | null {
    if (!this.#tables.has(name)) this.#tables.set(name, readTableInfo(db, name));
    return this.#tables.get(name)!;
  }

  #txnId(): number {
    this.#txn ??= this.#nextTxn++;
    return this.#txn;
  }
}
