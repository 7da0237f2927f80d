/** What the engine needs from change capture (worker/cdc), as one small interface. */
import type { Database } from '@sqlite.org/sqlite-wasm';
import type { DatabaseRowMutation, DatabaseRowTransformResult, PendingChange } from '../../contract/worker-api.js';
import type { EngineValue } from '../../contract/sql-value.js';
import type { PushStatement } from '../protocol/remote.js';

export interface CapturedChange {
  readonly changeId: number;
  /** The logged changes this one stands for, ascending: just its own id, or several once coalesce() merged them. */
  readonly changeIds: readonly number[];
  /** Changes of one local transaction share it; pushes split only between transactions. */
  readonly txnId: number;
  readonly tableName: string;
  /** True for schema changes (CREATE / ALTER / DROP). */
  readonly isSchemaChange: boolean;
  /**
   * A change that stays on this device (a row of a `tablesIgnore` table, the user's trigger DDL):
   * never pushed, so the server never holds it, and every pull must replay it whatever the push
   * position says.
   */
  readonly localOnly: boolean;
}

export interface ChangeCapture<C extends CapturedChange = CapturedChange> {
  /**
   * Creates the change log if needed and starts capturing on this connection. `lazily`: what only
   * writes need (the log table and the capture triggers) is set up before the first statement passed to around()
   * that may write (not read-only, or opening a transaction), so reads right after an open do not
   * wait for it; every other caller must capture at once.
   */
  enable(db: Database, lazily?: boolean): void;
  /**
   * Runs app work (preparing or stepping one app statement) with walsync's own tables protected:
   * writes and DDL on them are refused with INVALID_ARGUMENT.
   */
  guard<T>(db: Database, work: () => T): T;
  /**
   * Runs one user statement, recording it if it changes the schema. `readonly`: the prepared
   * statement is read-only (sqlite3_stmt_readonly); when not given it is assumed to write.
   */
  around<T>(db: Database, sql: string, run: () => T, readonly?: boolean): T;
  /** Changes with id > afterChangeId, oldest first. Works on a read-only (snapshot) connection. */
  read(db: Database, afterChangeId: number, limit: number): C[];
  /** Pending changes after `afterChangeId`: what a push would send (local-only changes excluded). */
  countAfter(db: Database, afterChangeId: number): number;
  /**
   * The net effect of `changes` (oldest first) per row (net-changes.ts): fewer changes, each
   * standing for the logged ones it merges (`changeIds`); changes that cancel out are left out.
   */
  coalesce(db: Database, changes: readonly C[]): C[];
  /** The transform hook's view of a change; null for local-only changes (never transformed). */
  mutation(db: Database, change: C): DatabaseRowMutation | null;
  /** A logged change as pendingChanges() lists it. */
  describe(db: Database, change: C): PendingChange;
  /** Removes logged changes; returns how many it removed. */
  discard(db: Database, changeIds: readonly number[]): number;
  /** Statements that apply `change` on the server. */
  pushStatements(db: Database, change: C, transformed: DatabaseRowTransformResult): PushStatement[];
  /** Statements that re-apply `change` locally on top of freshly pulled remote state (idempotent DDL). */
  replayStatements(db: Database, change: C, transformed: DatabaseRowTransformResult): { sql: string; args: readonly EngineValue[] }[];
}
