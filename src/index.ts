/**
 * walsync: offline-first SQLite for the browser. A real SQLite database in the Origin Private File
 * System, run in a dedicated Web Worker.
 * @packageDocumentation
 */
export { connect } from './connect.js';
export { deleteDatabase } from './delete-database.js';
export type { ConnectOptions, RemoteEncryptionCipher, SyncTimeouts } from './options.js';
export type { TraceEvent, TraceLevel } from '../contract/trace.js';
export {
  Database,
  Statement,
  Transaction,
  type BatchInput,
  type BatchResultSet,
  type BindParameters,
  type BindValue,
  type NamedBindArgs,
  type TransactionFunction,
  type TransactionMode,
} from './database.js';
export type { Row } from './rows.js';
export type { WatchOptions } from './live-query.js';
export type { SyncStatus, SyncStatusListener } from './sync-status.js';
export type { BackgroundSyncOptions } from './background-sync.js';
export type { TableChangeSource, TablesChangedListener } from './table-changes.js';
export { WalsyncError, isWalsyncError, type WalsyncErrorCode, type WalsyncErrorContext } from '../contract/errors.js';
export type { BindArgs, ColumnInfo, DatabaseRowMutation, DatabaseRowTransformResult, PendingChange, RunResult, SqlValue, SyncStats } from '../contract/worker-api.js';
