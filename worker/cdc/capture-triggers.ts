/**
 * Row-change capture with TEMP triggers: AFTER INSERT / UPDATE / DELETE on every synced table,
 * writing the row's before/after images into `turso_cdc` in the same transaction as the change.
 * TEMP triggers live on the connection, not in the database file, so pulled pages never carry
 * them and the schema that other clients see stays exactly the user's. They are recreated on every
 * open and after every schema change.
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import { CDC_TABLE, ChangeType } from './cdc-log.js';
import { type TableInfo, listSyncedTables, quoteId, quoteLiteral, readTableInfo, rowidName } from './table-info.js';

/** Names of the capture triggers start with it (the guard keeps app SQL off them). */
export const TRIGGER_PREFIX = 'walsync_cdc_';

/**
 * Drops every capture trigger and creates them again for the user's tables now. Tables in
 * `tablesIgnore` are captured too: their rows are not pushed, but a pull must replay them.
 */
export function refreshCaptureTriggers(db: Database, localTables: ReadonlySet<string>): void {
  const existing = db.selectValues("SELECT name FROM temp.sqlite_schema WHERE type = 'trigger' AND name LIKE 'walsync\\_cdc\\_%' ESCAPE '\\'") as string[];
  for (const name of existing) db.exec(`DROP TRIGGER IF EXISTS temp.${quoteId(name)}`);
  for (const table of listSyncedTables(db, new Set())) {
    const info = readTableInfo(db, table);
    if (info) for (const sql of captureTriggerSql(info, localTables.has(table))) db.exec(sql);
  }
}

/** The CREATE TEMP TRIGGER statements for one table; `localOnly` marks its changes as never pushed. */
export function captureTriggerSql(info: TableInfo, localOnly: boolean): string[] {
  const table = `main.${quoteId(info.name)}`;
  const name = (kind: string) => quoteId(`${TRIGGER_PREFIX}${kind}_${info.name}`);
  const image = (row: 'NEW' | 'OLD') => `walsync_record(${info.columns.map((c) => `${row}.${quoteId(c)}`).join(', ')})`;
  const rowid = info.withoutRowid ? null : rowidName(info);
  const id = (row: 'NEW' | 'OLD') => (rowid ? `${row}.${quoteId(rowid)}` : 'NULL');
  const log = (type: number, row: 'NEW' | 'OLD', before: string, after: string) =>
    `INSERT INTO main.${CDC_TABLE}(change_time, change_type, table_name, id, before, after, txn_id, local_only) ` +
    `VALUES (unixepoch(), ${type}, ${quoteLiteral(info.name)}, ${id(row)}, ${before}, ${after}, walsync_txn(), ${localOnly ? 1 : 0});`;
  // `IS NOT` compares numerically (2 IS 2.0): a value that changed only its type (INTEGER 2 to REAL
  // 2.0, possible in a column without REAL or INTEGER affinity) is a change too.
  const changed = info.columns.map((c) => `OLD.${quoteId(c)} IS NOT NEW.${quoteId(c)} OR typeof(OLD.${quoteId(c)}) <> typeof(NEW.${quoteId(c)})`).join(' OR ');
  const sameRow = rowid ? `OLD.${quoteId(rowid)} IS NEW.${quoteId(rowid)} AND ` : '';

  const statements = [
    `CREATE TEMP TRIGGER ${name('insert')} AFTER INSERT ON ${table} BEGIN ${log(ChangeType.insert, 'NEW', 'NULL', image('NEW'))} END`,
    `CREATE TEMP TRIGGER ${name('delete')} AFTER DELETE ON ${table} BEGIN ${log(ChangeType.delete, 'OLD', image('OLD'), 'NULL')} END`,
    // Updates that change nothing are not logged: there is nothing to send.
    `CREATE TEMP TRIGGER ${name('update')} AFTER UPDATE ON ${table} WHEN ${sameRow}(${changed}) BEGIN ` +
      `${log(ChangeType.update, 'NEW', image('OLD'), image('NEW'))} END`,
  ];
  if (rowid) {
    // A new rowid is a new row: log it as delete + insert, so both sides address rows by the right id.
    statements.push(
      `CREATE TEMP TRIGGER ${name('move')} AFTER UPDATE ON ${table} WHEN OLD.${quoteId(rowid)} IS NOT NEW.${quoteId(rowid)} BEGIN ` +
        `${log(ChangeType.delete, 'OLD', image('OLD'), 'NULL')} ${log(ChangeType.insert, 'NEW', 'NULL', image('NEW'))} END`,
    );
  }
  return statements;
}
