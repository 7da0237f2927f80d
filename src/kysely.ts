/**
 * `walsync/kysely`: a Kysely dialect for walsync. Kysely's own SQLite query compiler, adapter and
 * introspector; a driver that runs the compiled queries on a walsync `Database` and maps Kysely's
 * transactions to walsync's.
 *
 * ```ts
 * import { Kysely } from 'kysely';
 * import { connect } from 'walsync';
 * import { WalsyncDialect } from 'walsync/kysely';
 *
 * const db = new Kysely<DB>({ dialect: new WalsyncDialect({ database: await connect({ path: 'app.db' }) }) });
 * ```
 * @packageDocumentation
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  CompiledQuery as Compiled,
  RawNode,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { WalsyncError } from '../contract/errors.js';
import type { BindValue, Database, Statement } from './database.js';
import { type HeldTransaction, beginHeldTransaction } from './held-transaction.js';

/** What `new WalsyncDialect(config)` takes. */
export interface WalsyncDialectConfig {
  /**
   * The walsync database (from `connect()`), or a function that connects when Kysely first needs
   * the database. `kysely.destroy()` closes it, as Kysely's own SQLite dialect does.
   */
  database: Database | (() => Promise<Database>);
  /** Called once with the connection when Kysely first connects (e.g. to run PRAGMAs). */
  onCreateConnection?: (connection: DatabaseConnection) => Promise<void>;
}

/** Kysely's SQLite dialect with walsync as the database: `new Kysely<DB>({ dialect: new WalsyncDialect({ database: db }) })`. */
export class WalsyncDialect implements Dialect {
  readonly #config: WalsyncDialectConfig;

  /** `config.database`: the walsync database, or a function that connects on first use. */
  constructor(config: WalsyncDialectConfig) {
    this.#config = { ...config };
  }

  /** The driver that runs Kysely's queries on the walsync database. */
  createDriver(): Driver {
    return new WalsyncDriver(this.#config);
  }

  /** Kysely's SQLite query compiler. */
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  /** SQLite's adapter: one connection, so Kysely runs one query or transaction at a time. */
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  /** Kysely's SQLite introspector (reads `sqlite_master` and `pragma_table_info`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** The driver behind WalsyncDialect: one connection (SqliteAdapter makes Kysely serialize its use). */
export class WalsyncDriver implements Driver {
  readonly #config: WalsyncDialectConfig;
  #database: Database | undefined;
  #connection: WalsyncConnection | undefined;

  constructor(config: WalsyncDialectConfig) {
    this.#config = config;
  }

  async init(): Promise<void> {
    const { database } = this.#config;
    this.#database = typeof database === 'function' ? await database() : database;
    this.#connection = new WalsyncConnection(this.#database);
    await this.#config.onCreateConnection?.(this.#connection);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection!;
  }

  /**
   * Opens a walsync transaction held until commit or rollback: the connection's queries run on
   * its handle meanwhile. Isolation and access mode settings do not apply to SQLite (as in Kysely's
   * own SQLite dialect, they are ignored).
   */
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as WalsyncConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as WalsyncConnection).end(true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as WalsyncConnection).end(false);
  }

  async savepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(Compiled.raw(`savepoint ${quoteIdentifier(savepointName)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(Compiled.raw(`rollback to ${quoteIdentifier(savepointName)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(Compiled.raw(`release ${quoteIdentifier(savepointName)}`));
  }

  async releaseConnection(): Promise<void> {
    // One connection, never handed out twice at once (Kysely's mutex): nothing to give back.
  }

  /** Closes the database, as Kysely's SQLite dialect does. */
  async destroy(): Promise<void> {
    await this.#database?.close();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Whether a compiled query returns rows: a SELECT, a write with RETURNING; for raw SQL, SQLite says. */
async function returnsRows(compiled: CompiledQuery, statement: Statement): Promise<boolean> {
  const { query } = compiled;
  if (SelectQueryNode.is(query)) return true;
  if ('returning' in query && query.returning !== undefined) return true;
  if (RawNode.is(query)) return (await statement.columns()).length > 0;
  return false;
}

/** Kysely's one connection to a walsync database. */
class WalsyncConnection implements DatabaseConnection {
  readonly #db: Database;
  #transaction: HeldTransaction | null = null;

  constructor(db: Database) {
    this.#db = db;
  }

  async begin(): Promise<void> {
    this.#transaction = await beginHeldTransaction(this.#db);
  }

  async end(commit: boolean): Promise<void> {
    const transaction = this.#transaction;
    this.#transaction = null;
    if (transaction) await (commit ? transaction.commit() : transaction.rollback());
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const statement = (this.#transaction?.tx ?? this.#db).prepare(compiled.sql);
    const args = compiled.parameters as readonly BindValue[];
    if (await returnsRows(compiled, statement)) return { rows: await statement.all<R>(args) };
    const { changes, lastInsertRowid } = await statement.run(args);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) throw new WalsyncError('INVALID_ARGUMENT', 'walsync/kysely: stream() takes a SELECT query', { context: { sql: compiled.sql } });
    const statement = (this.#transaction?.tx ?? this.#db).prepare(compiled.sql);
    for await (const row of statement.iterate<R>(compiled.parameters as readonly BindValue[])) yield { rows: [row] };
  }
}
