/**
 * Keeps app SQL away from walsync's own tables. `turso_cdc` holds the changes not yet pushed and
 * `turso_sync_last_change_id` this client's position on the server; both are ordinary tables, so
 * without a guard `DELETE FROM turso_cdc` silently drops pending changes and dropping either table
 * rewinds change ids below what the server holds (later changes then count as already pushed).
 *
 * An SQLite authorizer refuses writes and DDL on them while an app statement is prepared or
 * stepped (a cached statement is re-prepared inside step() after a schema change, so stepping
 * counts too). Reads stay allowed. The engine's own SQL runs outside app statements and is never
 * checked; inside one, the only allowed write is the capture triggers' insert into the log
 * (the authorizer names the trigger a write comes from). The authorizer is installed once per
 * connection and switched by a flag: installing one expires every prepared statement, so
 * installing it per statement would defeat the statement cache.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import { SYNC_TABLE } from '../protocol/sync-table.js';
import { CDC_TABLE } from './cdc-log.js';
import { TRIGGER_PREFIX as CAPTURE_TRIGGER_PREFIX } from './capture-triggers.js';

/** What each protected table is, for the error message. */
const PROTECTED: ReadonlyMap<string, string> = new Map([
  [CDC_TABLE, "walsync's log of local changes (changes not yet pushed live there)"],
  [SYNC_TABLE, "walsync's sync position (how far the server holds this client's changes)"],
]);

// Authorizer action codes (sqlite3.h).
const CREATE_INDEX = 1;
const CREATE_TABLE = 2;
const CREATE_TEMP_INDEX = 3;
const CREATE_TEMP_TABLE = 4;
const CREATE_TEMP_TRIGGER = 5;
const CREATE_TEMP_VIEW = 6;
const CREATE_TRIGGER = 7;
const CREATE_VIEW = 8;
const DELETE = 9;
const DROP_INDEX = 10;
const DROP_TABLE = 11;
const DROP_TEMP_INDEX = 12;
const DROP_TEMP_TABLE = 13;
const DROP_TEMP_TRIGGER = 14;
const DROP_TEMP_VIEW = 15;
const DROP_TRIGGER = 16;
const DROP_VIEW = 17;
const INSERT = 18;
const UPDATE = 23;
const ALTER_TABLE = 26;
const CREATE_VTABLE = 29;
const DROP_VTABLE = 30;

/** The actions #check looks at; the rest (reads, functions, pragmas...) pass without a look. */
const CHECKED_ACTIONS = new Set([
  CREATE_INDEX, CREATE_TABLE, CREATE_TEMP_INDEX, CREATE_TEMP_TABLE, CREATE_TEMP_TRIGGER, CREATE_TEMP_VIEW, CREATE_TRIGGER,
  CREATE_VIEW, DELETE, DROP_INDEX, DROP_TABLE, DROP_TEMP_INDEX, DROP_TEMP_TABLE, DROP_TEMP_TRIGGER, DROP_TEMP_VIEW,
  DROP_TRIGGER, DROP_VIEW, INSERT, UPDATE, ALTER_TABLE, CREATE_VTABLE, DROP_VTABLE,
]);

const SQLITE_OK = 0;
const SQLITE_DENY = 1;
/** SQLITE_AUTH: what a refused statement reports as its SQLite result code. */
const SQLITE_AUTH = 23;

interface Refusal {
  readonly name: string;
  readonly message: string;
}

interface RawWasm {
  installFunction(signature: string, fn: (...args: number[]) => number): number;
  cstrToJs(pointer: number): string;
}

export class InternalTableGuard {
  readonly #sqlite3: Sqlite3Static;
  /** The connection the authorizer is installed on (by object: a reopened one may reuse the pointer). */
  #installedOn: Database | null = null;
  /** The installed authorizer function (a WASM function pointer). */
  #authorizer: number | null = null;
  /** True while an app statement is prepared or stepped. */
  #active = false;
  #refusal: Refusal | null = null;
  /** Tables the statement being prepared drops: their capture triggers go with them. */
  #droppedTables = new Set<string>();

  constructor(sqlite3: Sqlite3Static) {
    this.#sqlite3 = sqlite3;
  }

  /** Installs the authorizer on `db` (once per connection). */
  install(db: Database): void {
    if (this.#installedOn === db) return;
    // One raw WASM function for every connection this guard sees: the wrapped form of
    // sqlite3_set_authorizer would turn all four C strings into JS strings on every call, even
    // while no app statement runs (every engine prepare); this one converts only what it checks.
    this.#authorizer ??= this.#installAuthorizer();
    (this.#sqlite3.capi.sqlite3_set_authorizer as unknown as (db: number, xAuth: number, pApp: number) => number)(db.pointer!, this.#authorizer, 0);
    this.#installedOn = db;
  }

  #installAuthorizer(): number {
    const wasm = (this.#sqlite3 as unknown as { wasm: RawWasm }).wasm;
    const text = (pointer: number) => (pointer ? wasm.cstrToJs(pointer) : '');
    return wasm.installFunction('i(pissss)', (_pApp, action, a, b, _db, trigger) => {
      if (!this.#active || !CHECKED_ACTIONS.has(action)) return SQLITE_OK;
      try {
        return this.#check(action, text(a!), text(b!), text(trigger!));
      } catch {
        return SQLITE_DENY;
      }
    });
  }

  /** Runs `work` (preparing or stepping an app statement) with the protection on. */
  run<T>(work: () => T): T {
    if (this.#active) return work();
    this.#active = true;
    this.#refusal = null;
    this.#droppedTables.clear();
    try {
      return work();
    } catch (e) {
      // A refusal makes the prepare (or the re-prepare inside step) fail: this is that failure.
      const refusal = this.#refusal as Refusal | null;
      if (!refusal) throw e;
      throw new WalsyncError('INVALID_ARGUMENT', refusal.message, { sqliteCode: SQLITE_AUTH, context: { table: refusal.name }, cause: e });
    } finally {
      this.#active = false;
    }
  }

  #check(action: number, a: string, b: string, trigger: string): number {
    switch (action) {
      case INSERT:
        // The capture triggers' own log rows: the one write into the log an app statement makes.
        if (a.toLowerCase() === CDC_TABLE && isCaptureTrigger(trigger)) return SQLITE_OK;
        return this.#protect(a, trigger ? `a write into ${a} (by trigger ${trigger})` : `a write into ${a}`);
      case UPDATE:
      case DELETE:
        return this.#protect(a, trigger ? `a write into ${a} (by trigger ${trigger})` : `a write into ${a}`);
      case DROP_TABLE:
      case DROP_TEMP_TABLE:
        this.#droppedTables.add(a.toLowerCase());
        return this.#protect(a, `DROP TABLE ${a}`);
      case ALTER_TABLE:
        return this.#protect(b, `ALTER TABLE ${b}`);
      case CREATE_TABLE:
      case CREATE_TEMP_TABLE:
      case CREATE_VIEW:
      case CREATE_TEMP_VIEW:
      case CREATE_VTABLE:
      case DROP_VIEW:
      case DROP_TEMP_VIEW:
      case DROP_VTABLE:
        // A table or view of the same name (even a TEMP one) would hide walsync's own from its SQL.
        return this.#protect(a, `creating or dropping an object named ${a}`);
      case CREATE_INDEX:
      case CREATE_TEMP_INDEX:
      case DROP_INDEX:
      case DROP_TEMP_INDEX:
        return this.#protect(b, `an index on ${b}`);
      case CREATE_TRIGGER:
      case CREATE_TEMP_TRIGGER:
        if (isCaptureTrigger(a)) return this.#refuse(a, `the trigger name ${a} is reserved for walsync's change capture; choose another name`);
        return this.#protect(b, `a trigger on ${b}`);
      case DROP_TRIGGER:
      case DROP_TEMP_TRIGGER:
        // DROP TABLE drops the table's capture triggers along with it: that is fine.
        if (isCaptureTrigger(a) && !this.#droppedTables.has(b.toLowerCase())) {
          return this.#refuse(a, `${a} is walsync's change-capture trigger for table ${b}: without it, changes to ${b} would never reach the server, so app SQL cannot drop it`);
        }
        return SQLITE_OK;
      default:
        return SQLITE_OK;
    }
  }

  #protect(name: string, what: string): number {
    // SQLite names are case-insensitive: TURSO_CDC is turso_cdc.
    const role = PROTECTED.get(name.toLowerCase());
    if (role === undefined) return SQLITE_OK;
    return this.#refuse(name, `${name} is ${role}: app SQL may read it but not change it, and ${what} was refused (it would lose or replay changes)`);
  }

  #refuse(name: string, message: string): number {
    this.#refusal ??= { name, message };
    return SQLITE_DENY;
  }
}

function isCaptureTrigger(name: string): boolean {
  return name.toLowerCase().startsWith(CAPTURE_TRIGGER_PREFIX);
}
