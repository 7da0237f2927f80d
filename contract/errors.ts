/**
 * The one error type walsync throws. `code` is stable and meant for programs; `message` is for people.
 * It lives at the bottom of the module tree so every layer (vfs, protocol, cdc, engine, facade) can use it.
 */
import { sqliteCodeName } from './sqlite-codes.js';

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type WalsyncErrorCode =
  /** SQLite rejected the statement (syntax, missing table, constraint, bind count...). See `sqliteCode`. */
  | 'SQLITE_ERROR'
  /** The options passed to `connect()` or another call are invalid. */
  | 'INVALID_ARGUMENT'
  /** OPFS sync access handles are not available (not a secure context, not in a worker, old browser). */
  | 'OPFS_UNAVAILABLE'
  /** The browser refused to store more data for this origin. */
  | 'QUOTA_EXCEEDED'
  /** Another tab or worker holds the database files open. */
  | 'DATABASE_LOCKED'
  /** The database was closed, or its worker stopped. */
  | 'DATABASE_CLOSED'
  /** A storage read or write failed. */
  | 'IO_ERROR'
  /**
   * The tab that owned the database (the leader) went away while this tab's call was with it;
   * `context.mayHaveBeenApplied` says whether the call may have taken effect there.
   */
  | 'LEADER_CHANGED'
  /** Sync is not possible right now because the url is not known yet (deferred sync). */
  | 'SYNC_PAUSED'
  /** The database has no sync url at all. */
  | 'SYNC_NOT_CONFIGURED'
  /** The server could not be reached, or the connection broke mid-response. */
  | 'NETWORK_ERROR'
  /** The server refused our credentials (HTTP 401 or 403). */
  | 'AUTH_FAILED'
  /** The server answered with an error status (5xx or an unexpected one). */
  | 'SERVER_ERROR'
  /** The server's answer does not follow the sync protocol (malformed, truncated, unsupported feature). */
  | 'PROTOCOL_ERROR'
  /** The server refused a pushed change; nothing of that push was applied. */
  | 'PUSH_REJECTED'
  /** The server no longer has the database this copy was synced with (it was reset or replaced). */
  | 'SERVER_RESET'
  /** An internal invariant failed; this is a bug in walsync. */
  | 'INTERNAL';

/**
 * Extra facts about an error, e.g. the SQL or the HTTP status (`changeIds`: the local changes a
 * refused change stands for). Values must be structured-cloneable.
 */
export type WalsyncErrorContext = Record<string, string | number | boolean | null | undefined | readonly number[]>;

export class WalsyncError extends Error {
  override readonly name = 'WalsyncError';
  readonly code: WalsyncErrorCode;
  /** SQLite's extended result code when the error came from SQLite (e.g. 2067 for a UNIQUE constraint). */
  readonly sqliteCode: number | undefined;
  /**
   * SQLite's code name when the error came from SQLite (`'SQLITE_CONSTRAINT_UNIQUE'`,
   * `'SQLITE_ERROR'`, …): the property sync-wasm's and better-sqlite3-style `SqliteError`s carry
   * it in (`rawCode`), so `catch` blocks that test it port unchanged.
   */
  readonly rawCode: string | undefined;
  readonly context: WalsyncErrorContext;

  constructor(
    code: WalsyncErrorCode,
    message: string,
    options: { sqliteCode?: number | undefined; context?: WalsyncErrorContext; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.sqliteCode = options.sqliteCode;
    this.rawCode = options.sqliteCode === undefined ? undefined : sqliteCodeName(options.sqliteCode);
    this.context = options.context ?? {};
  }
}

export function isWalsyncError(e: unknown, code?: WalsyncErrorCode): e is WalsyncError {
  return e instanceof WalsyncError && (code === undefined || e.code === code);
}

/** Plain form of an error that crosses postMessage (class identity does not survive structured clone). */
export interface SerializedWalsyncError {
  readonly code: WalsyncErrorCode;
  readonly message: string;
  readonly sqliteCode?: number | undefined;
  readonly context?: WalsyncErrorContext;
  readonly stack?: string | undefined;
  /** The error's cause as name, message and stack (the object itself cannot cross). */
  readonly cause?: { readonly name: string; readonly message: string; readonly stack?: string };
}

export function serializeError(e: unknown): SerializedWalsyncError {
  if (e instanceof WalsyncError) {
    const serialized: SerializedWalsyncError = { code: e.code, message: e.message, sqliteCode: e.sqliteCode, context: e.context, stack: e.stack };
    return e.cause === undefined ? serialized : { ...serialized, cause: serializeCause(e.cause) };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: 'INTERNAL', message: err.message, stack: err.stack };
}

export function deserializeError(s: SerializedWalsyncError): WalsyncError {
  const opts: { sqliteCode?: number; context?: WalsyncErrorContext } = {};
  if (s.sqliteCode !== undefined) opts.sqliteCode = s.sqliteCode;
  if (s.context !== undefined) opts.context = s.context;
  const e = new WalsyncError(s.code, s.message, s.cause ? { ...opts, cause: deserializeCause(s.cause) } : opts);
  if (s.stack) e.stack = s.stack;
  return e;
}

function serializeCause(cause: unknown): NonNullable<SerializedWalsyncError['cause']> {
  if (cause instanceof Error) return { name: cause.name, message: cause.message, ...(cause.stack ? { stack: cause.stack } : {}) };
  return { name: 'Error', message: String(cause) };
}

function deserializeCause(s: NonNullable<SerializedWalsyncError['cause']>): Error {
  const cause = new Error(s.message);
  cause.name = s.name;
  if (s.stack) cause.stack = s.stack;
  return cause;
}
