/**
 * Live queries, worker side: which tables each committed transaction changed, and which tables a
 * query reads. Both come from SQLite itself, never from parsing SQL:
 * - the preupdate hook names the table of every row change (rowid and WITHOUT ROWID tables alike,
 *   triggers and foreign-key actions included); the commit hook moves the transaction's tables to
 *   the "committed" set, the rollback hook forgets them, so a rolled-back transaction notifies nothing;
 * - a schema change (CREATE, ALTER, DROP: no row hook fires for those) shows as a new
 *   `schema_version` and counts as a change of every table;
 * - the program SQLite compiles for a query names every table it reads (through views and
 *   subqueries too): the root pages its read cursors open.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../contract/errors.js';
import { toWalsyncError } from './sql/sqlite-error.js';

/** The message the worker posts to the page when committed work changed tables (see WorkerChannel). */
export interface TablesChangedMessage {
  readonly type: 'walsync:tables-changed';
  /** Tables of the main database that changed (their names as the schema spells them). */
  readonly tables: string[];
  /** What changed them: the app's own statements, a pull, or the sync engine's bookkeeping (push). */
  readonly source: TableChangeSource;
}

/**
 * What changed tables: the app's statements, a pull, the sync engine's bookkeeping (push), or a
 * hand-over between tabs (`'handover'`, main thread only: another tab took over the database, and
 * writes made meanwhile sent this tab no notice, so every table is reported).
 */
export type TableChangeSource = 'local' | 'pull' | 'sync' | 'handover';

/**
 * The hook installers as sqlite-wasm really takes them (its .d.ts is off for these: the preupdate
 * hook takes a context argument, hooks may return nothing, and 0 uninstalls): JS functions are
 * bound to wasm function pointers by sqlite-wasm and released when replaced or the db closes.
 */
interface HookApi {
  sqlite3_preupdate_hook(db: number, hook: (ctx: number, db: number, op: number, zDb: string, zTable: string) => void, ctx: 0): unknown;
  sqlite3_commit_hook(db: number, hook: () => number, ctx: 0): unknown;
  sqlite3_rollback_hook(db: number, hook: () => void, ctx: 0): unknown;
  sqlite3_get_autocommit(db: number): number;
  sqlite3_stmt_readonly(stmt: number): number;
}

function hookApi(sqlite3: Sqlite3Static): HookApi {
  return sqlite3.capi as unknown as HookApi;
}

/**
 * Collects the tables changed by committed transactions on the connection it is attached to. The
 * worker attaches it (again) whenever the connection object changes: a pull reopens the connection,
 * and SQLite's hooks belong to one connection.
 */
export class TableChangeTracker {
  readonly #sqlite3: Sqlite3Static;
  #attached: Database | null = null;
  /** Tables written by the transaction open now (or the statement running in autocommit). */
  readonly #inTransaction = new Set<string>();
  readonly #committed = new Set<string>();
  #committedAny = false;
  /** Every table changed: a schema change, a pull, or hooks attached in the middle of a transaction. */
  #all = false;
  #allAtNextCommit = false;
  #schemaVersion: number | null = null;
  /** Table names at the last listing, so a dropped table is notified too. */
  #knownTables: string[] = [];

  constructor(sqlite3: Sqlite3Static) {
    this.#sqlite3 = sqlite3;
  }

  /** Installs the hooks on `db` unless they are installed there already. */
  attach(db: Database): void {
    if (this.#attached === db) return;
    const capi = hookApi(this.#sqlite3);
    const pointer = db.pointer as number;
    capi.sqlite3_preupdate_hook(
      pointer,
      (_ctx, _db, _op, zDb, zTable) => {
        if (zDb === 'main') this.#inTransaction.add(zTable);
      },
      0,
    );
    capi.sqlite3_commit_hook(
      pointer,
      () => {
        for (const t of this.#inTransaction) this.#committed.add(t);
        this.#inTransaction.clear();
        this.#committedAny = true;
        if (this.#allAtNextCommit) {
          this.#allAtNextCommit = false;
          this.#all = true;
        }
        return 0;
      },
      0,
    );
    capi.sqlite3_rollback_hook(
      pointer,
      () => {
        this.#inTransaction.clear();
        this.#allAtNextCommit = false;
      },
      0,
    );
    // Attached in the middle of a transaction: its earlier rows went unseen, so its commit counts as
    // a change of everything (a spurious re-run costs little; a missed one shows stale rows).
    if (capi.sqlite3_get_autocommit(pointer) === 0) this.#allAtNextCommit = true;
    if (this.#attached === null) this.#schemaVersion = readSchemaVersion(db);
    this.#attached = db;
  }

  /** Counts the next flush as a change of every table (a pull installs pages, not rows). */
  markAllChanged(): void {
    this.#all = true;
  }

  /**
   * The tables changed since the last call, or null if none. `db` is the open connection, read for
   * the schema version (a schema change touches every table) and, when needed, the table list.
   */
  take(db: Database): string[] | null {
    if (!this.#committedAny && !this.#all) return null;
    this.#committedAny = false;
    const version = readSchemaVersion(db);
    if (version !== this.#schemaVersion) {
      this.#schemaVersion = version;
      this.#all = true;
    }
    const tables = new Set(this.#committed);
    this.#committed.clear();
    if (this.#all) {
      this.#all = false;
      for (const t of this.#knownTables) tables.add(t);
      this.#knownTables = listTables(db);
      for (const t of this.#knownTables) tables.add(t);
    }
    for (const t of tables) if (t.toLowerCase().startsWith('sqlite_')) tables.delete(t);
    return tables.size > 0 ? [...tables] : null;
  }
}

/**
 * The tables `sql` reads, from the program SQLite compiles for it: every b-tree it opens for
 * reading (`OpenRead`, `ReopenIdx`) is a table's or one of its indexes' root page, named in the
 * schema (views resolve to their tables, subqueries and CTEs too). Not through the authorizer: a
 * connection has one, and the internal-table guard owns it on synced databases (replacing it,
 * even for a moment, would switch the guard off). Refuses a statement that writes: a live query
 * that changed a table it reads would re-run itself forever.
 */
export function tablesRead(sqlite3: Sqlite3Static, db: Database, sql: string): string[] {
  const capi = hookApi(sqlite3);
  let readonly: boolean;
  let program: unknown[][];
  try {
    const stmt = db.prepare(sql);
    try {
      readonly = capi.sqlite3_stmt_readonly(stmt.pointer as number) !== 0;
    } finally {
      stmt.finalize();
    }
    program = readonly ? (db.selectArrays(`EXPLAIN ${sql}`) as unknown[][]) : [];
  } catch (e) {
    throw toWalsyncError(sqlite3, db, e, sql);
  }
  if (!readonly) {
    throw new WalsyncError('INVALID_ARGUMENT', 'watch() takes a query that only reads (a SELECT): a live query that writes would trigger itself', {
      context: { sql: sql.slice(0, 500) },
    });
  }
  // Root page → table, per schema (0: main, 1: temp), as the program's p3 numbers them.
  const tableOf = new Map<string, string>();
  for (const [schemaIndex, schema] of [[0, 'main'], [1, 'temp']] as const) {
    for (const [rootpage, table] of db.selectArrays(`SELECT rootpage, tbl_name FROM ${schema}.sqlite_schema WHERE rootpage > 0`) as [number, string][]) {
      tableOf.set(`${schemaIndex}:${rootpage}`, table);
    }
  }
  const tables = new Set<string>();
  // EXPLAIN's columns: addr, opcode, p1, p2, p3, p4, p5, comment.
  for (const op of program) {
    if (op[1] !== 'OpenRead' && op[1] !== 'ReopenIdx') continue;
    const table = tableOf.get(`${Number(op[4])}:${Number(op[3])}`);
    if (table !== undefined) tables.add(table);
  }
  return [...tables].filter((t) => !t.toLowerCase().startsWith('sqlite_'));
}

/**
 * `tablesRead()` remembered per query text while the schema stays the same: a watch re-runs its
 * query at every change, and compiling its EXPLAIN and listing the schema cost more than most
 * queries (50 watches re-running after one insert spent most of their time there). A schema change
 * (main or temp: a new `schema_version`, which a pull bumps too) or another connection (a pull
 * reopens it) forgets everything. Failures are not remembered.
 */
export class TablesReadCache {
  readonly #sqlite3: Sqlite3Static;
  readonly #tables = new Map<string, string[]>();
  #db: Database | null = null;
  #schema = '';

  constructor(sqlite3: Sqlite3Static) {
    this.#sqlite3 = sqlite3;
  }

  /** The tables `sql` reads, as tablesRead() gives them (refusing a statement that writes). */
  get(db: Database, sql: string): string[] {
    const schema = `${readSchemaVersion(db)}:${Number(db.selectValue('PRAGMA temp.schema_version') ?? 0)}`;
    if (db !== this.#db || schema !== this.#schema) {
      this.#tables.clear();
      this.#db = db;
      this.#schema = schema;
    }
    let tables = this.#tables.get(sql);
    if (tables === undefined) {
      tables = tablesRead(this.#sqlite3, db, sql);
      // Bounded: an app that watches ever new query texts must not grow this forever.
      if (this.#tables.size >= 500) this.#tables.clear();
      this.#tables.set(sql, tables);
    }
    return [...tables];
  }
}

function readSchemaVersion(db: Database): number {
  return Number(db.selectValue('PRAGMA schema_version') ?? 0);
}

function listTables(db: Database): string[] {
  return db.selectValues("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'") as string[];
}
