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
import { WalsyncError } from '../errors.js';
import type { CapturedChange, ChangeCapture } from '../engine/change-capture.js';
import type { PushStatement } from '../engine/remote.js';
import type { DatabaseRowMutation, DatabaseRowTransformResult, SqlValue } from '../rpc.js';
import { registerCaptureFunctions } from './capture-functions.js';
import { refreshCaptureTriggers } from './capture-triggers.js';
import { CREATE_CDC_TABLE, ChangeType, type CdcRow, countCdcRowsAfter, insertSchemaChange, maxTxnId, readCdcRows } from './cdc-log.js';
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
import { type TableInfo, readTableInfo } from './table-info.js';

export interface CdcChange extends CapturedChange {
  readonly row: CdcRow;
}

export function createChangeCapture(sqlite3: Sqlite3Static, tablesIgnore: readonly string[]): ChangeCapture<CdcChange> {
  return new TriggerChangeCapture(sqlite3, new Set(tablesIgnore));
}

const VACUUM = /^VACUUM\b/i;

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

  constructor(sqlite3: Sqlite3Static, ignore: ReadonlySet<string>) {
    this.#sqlite3 = sqlite3;
    this.#ignore = ignore;
    this.#guard = new InternalTableGuard(sqlite3);
  }

  enable(db: Database): void {
    db.exec(CREATE_CDC_TABLE);
    registerCaptureFunctions(this.#sqlite3, db, () => this.#txnId());
    refreshCaptureTriggers(db, this.#ignore);
    this.#guard.install(db);
    this.#tables.clear();
    this.#txn = null;
    this.#nextTxn = Math.max(this.#nextTxn, maxTxnId(db) + 1);
  }

  guard<T>(_db: Database, work: () => T): T {
    return this.#guard.run(work);
  }

  around<T>(db: Database, sql: string, run: () => T): T {
    const autocommit = this.#isAutocommit(db);
    // Outside a transaction every statement starts a new one.
    if (autocommit) this.#txn = null;
    // Every statement of a synced database passes here: strip its leading comments once.
    const text = stripLeadingComments(sql);
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
      if (!this.#isAutocommit(db)) db.exec('ROLLBACK TO walsync_logged_statement; RELEASE walsync_logged_statement');
      throw e;
    }
  }

  read(db: Database, afterChangeId: number, limit: number): CdcChange[] {
    return readCdcRows(db, afterChangeId, limit).map((row) => ({
      changeId: row.changeId,
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

  mutation(db: Database, change: CdcChange): DatabaseRowMutation | null {
    // Local-only rows are replayed as they are; the transform hook is about what goes to the server.
    if (change.isSchemaChange || change.localOnly) return null;
    const info = this.#table(db, change.tableName);
    if (!info) return null;
    const { row } = change;
    const before = row.before ? decodeRecord(row.before) : null;
    const after = row.after ? decodeRecord(row.after) : null;
    const named = (values: readonly SqlValue[], indexes: Iterable<number> = values.keys()) => {
      const out: Record<string, SqlValue> = {};
      for (const i of indexes) if (i < info.columns.length) out[info.columns[i]!] = values[i] ?? null;
      return out;
    };
    const changeType = CHANGE_TYPES[row.changeType]!;
    return {
      changeTime: row.changeTime,
      tableName: row.tableName,
      id: row.id,
      changeType,
      ...(before ? { before: named(before) } : {}),
      ...(after ? { after: named(after) } : {}),
      ...(changeType === 'update' && before && after ? { updates: named(after, changedColumns(before, after)) } : {}),
    };
  }

  pushStatements(db: Database, change: CdcChange, transformed: DatabaseRowTransformResult): PushStatement[] {
    if (change.localOnly) return [];
    if (change.isSchemaChange) {
      const ddl = change.row.ddl ?? '';
      // Another client may have added the same column first: that is not a reason to refuse the push.
      return [{ sql: idempotentDdl(ddl), args: [], ignoreError: parseAddColumn(ddl) !== null }];
    }
    return this.#rowStatements(db, change, transformed);
  }

  replayStatements(db: Database, change: CdcChange, transformed: DatabaseRowTransformResult): ChangeStatement[] {
    if (change.isSchemaChange) {
      const ddl = change.row.ddl ?? '';
      const added = parseAddColumn(ddl);
      if (added && this.#table(db, added.table)?.columns.some((c) => c.toLowerCase() === added.column.toLowerCase())) return [];
      return [{ sql: idempotentDdl(ddl), args: [] }];
    }
    return this.#rowStatements(db, change, transformed);
  }

  #rowStatements(db: Database, change: CdcChange, transformed: DatabaseRowTransformResult): ChangeStatement[] {
    if (transformed?.operation === 'skip') return [];
    if (transformed?.operation === 'rewrite') return [{ sql: transformed.stmt.sql, args: transformed.stmt.values }];
    // A table dropped after the change: its rows are gone wherever the drop arrives.
    const info = this.#table(db, change.tableName);
    if (!info) return [];
    const { row } = change;
    return rowChangeSql(info, {
      changeType: CHANGE_TYPES[row.changeType]!,
      id: row.id,
      before: row.before ? decodeRecord(row.before) : null,
      after: row.after ? decodeRecord(row.after) : null,
    });
  }

  #table(db: Database, name: string): TableInfo | null {
    if (!this.#tables.has(name)) this.#tables.set(name, readTableInfo(db, name));
    return this.#tables.get(name)!;
  }

  #txnId(): number {
    this.#txn ??= this.#nextTxn++;
    return this.#txn;
  }

  #isAutocommit(db: Database): boolean {
    return this.#sqlite3.capi.sqlite3_get_autocommit(db.pointer!) !== 0;
  }
}
