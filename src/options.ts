/** connect() options and their validation: bad options fail fast, before any worker starts. */
import { WalsyncError } from '../worker/errors.js';
import type { DatabaseRowMutation, DatabaseRowTransformResult } from '../worker/rpc.js';

export interface ConnectOptions {
  /**
   * Where the database lives: a file name in the Origin Private File System (e.g. `"app.db"`, or
   * `"folder/app.db"`), or `":memory:"` for a temporary in-memory database.
   */
  path: string;
  /**
   * Durability of commits. `"full"` (default) flushes the WAL to disk on every commit, so a commit
   * survives even an OS crash. `"normal"` flushes only at checkpoints: commits survive a tab or
   * worker crash but the last ones may be lost on power loss, in exchange for faster small writes.
   */
  durability?: 'full' | 'normal';
  /**
   * The sync server (`http(s)://`, `libsql://` or `turso://`). Giving a url makes this a synced
   * database: local changes are recorded and can be pushed. A function is asked before every sync;
   * while it returns null the database works locally and push/pull reject with `SYNC_PAUSED`
   * (deferred sync: use it when the url or the user is not known yet).
   */
  url?: string | (() => string | null);
  /** Bearer token for the server: a string, or a function called before every request (to refresh it). */
  authToken?: string | (() => string | null | Promise<string | null>);
  /** Prefix of this client's id (`<clientName>-<uuid>`). Default `"walsync"`. */
  clientName?: string;
  /** How long the server may hold a pull open waiting for changes, in ms. Default 0 (answer at once). */
  longPollTimeoutMs?: number;
  /**
   * Called (in batches) for every local change about to be pushed, and replayed after a pull:
   * return null to keep it, `{ operation: 'skip' }` to drop it, or `{ operation: 'rewrite', stmt }`
   * to send other SQL instead (e.g. turn a counter's update into an increment).
   */
  transform?: (mutation: DatabaseRowMutation) => DatabaseRowTransformResult | undefined;
  /** Tables whose rows are never pushed (they stay local). */
  tablesIgnore?: string[];
  /** Download the remote database on first connect when there is no local one. Default true. */
  bootstrapIfEmpty?: boolean;
  /**
   * Checkpoint automatically when the write-ahead log grows past this many bytes (local and synced
   * databases). Default 8 MiB; 0 = never.
   */
  autoCheckpointBytes?: number;
  /**
   * Makes the sync requests instead of the worker's own `fetch` (to add headers, log, or route
   * through a test double). It runs on the main thread and each response is read whole.
   */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

export interface ResolvedConnectOptions {
  readonly path: string;
  readonly memory: boolean;
  readonly durability: 'full' | 'normal';
  /** Checkpoint automatically past this many bytes of log (0 = never). */
  readonly autoCheckpointBytes: number;
  readonly sync: ResolvedSyncOptions | null;
}

export interface ResolvedSyncOptions {
  readonly url: string | (() => string | null);
  readonly authToken: string | (() => string | null | Promise<string | null>) | null;
  readonly clientName: string;
  readonly longPollTimeoutMs: number;
  readonly transform: ((mutation: DatabaseRowMutation) => DatabaseRowTransformResult | undefined) | null;
  readonly tablesIgnore: string[];
  readonly bootstrapIfEmpty: boolean;
  readonly autoCheckpointBytes: number;
  readonly fetch: ((url: string, init: RequestInit) => Promise<Response>) | null;
}

const LOCAL_OPTIONS = new Set(['path', 'durability', 'autoCheckpointBytes']);
const SYNC_OPTIONS = new Set([
  'url',
  'authToken',
  'clientName',
  'longPollTimeoutMs',
  'transform',
  'tablesIgnore',
  'bootstrapIfEmpty',
  'fetch',
]);

function invalid(message: string, context: Record<string, string> = {}): WalsyncError {
  return new WalsyncError('INVALID_ARGUMENT', `connect(): ${message}`, { context });
}

export function resolveConnectOptions(options: unknown): ResolvedConnectOptions {
  if (typeof options !== 'object' || options === null) {
    throw new WalsyncError('INVALID_ARGUMENT', 'connect() needs an options object, e.g. connect({ path: "app.db" })');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!LOCAL_OPTIONS.has(key) && !SYNC_OPTIONS.has(key)) throw invalid(`unknown option "${key}"`, { option: key });
  }
  if (typeof o.path !== 'string' || o.path.trim() === '') {
    throw invalid('"path" must be a non-empty string such as "app.db" or ":memory:"');
  }
  const memory = o.path === ':memory:';
  if (!memory) {
    const parts = o.path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length === 0 || parts.includes('..')) throw invalid(`invalid path ${JSON.stringify(o.path)}`, { path: o.path });
  }
  const durability = o.durability ?? 'full';
  if (durability !== 'full' && durability !== 'normal') throw invalid('"durability" must be "full" or "normal"');
  const autoCheckpointBytes = resolveAutoCheckpointBytes(o);

  const syncKeys = Object.keys(o).filter((k) => SYNC_OPTIONS.has(k) && o[k] !== undefined);
  if (o.url === undefined) {
    if (syncKeys.length > 0) throw invalid(`"${syncKeys[0]}" needs a "url" (it only applies to synced databases)`);
    return { path: o.path, memory, durability, autoCheckpointBytes, sync: null };
  }
  if (memory) throw invalid('":memory:" databases cannot sync; give a path');
  return { path: o.path, memory, durability, autoCheckpointBytes, sync: resolveSyncOptions(o) };
}

function resolveAutoCheckpointBytes(o: Record<string, unknown>): number {
  const autoCheckpointBytes = o.autoCheckpointBytes ?? 8 * 1024 * 1024;
  if (typeof autoCheckpointBytes !== 'number' || !Number.isInteger(autoCheckpointBytes) || autoCheckpointBytes < 0) {
    throw invalid('"autoCheckpointBytes" must be a whole number of bytes ≥ 0');
  }
  return autoCheckpointBytes;
}

function resolveSyncOptions(o: Record<string, unknown>): ResolvedSyncOptions {
  const url = o.url;
  if (typeof url === 'string') checkUrl(url);
  else if (typeof url !== 'function') throw invalid('"url" must be a string or a function returning a string or null');
  const authToken = o.authToken ?? null;
  if (authToken !== null && typeof authToken !== 'string' && typeof authToken !== 'function') {
    throw invalid('"authToken" must be a string or a function');
  }
  const clientName = o.clientName ?? 'walsync';
  if (typeof clientName !== 'string' || !/^[\w.-]{1,64}$/.test(clientName)) {
    throw invalid('"clientName" must be 1-64 letters, digits, "_", "." or "-"');
  }
  const longPollTimeoutMs = o.longPollTimeoutMs ?? 0;
  if (typeof longPollTimeoutMs !== 'number' || !Number.isInteger(longPollTimeoutMs) || longPollTimeoutMs < 0 || longPollTimeoutMs > 0xffffffff) {
    throw invalid('"longPollTimeoutMs" must be a whole number of milliseconds ≥ 0');
  }
  const transform = o.transform ?? null;
  if (transform !== null && typeof transform !== 'function') throw invalid('"transform" must be a function');
  const tablesIgnore = o.tablesIgnore ?? [];
  if (!Array.isArray(tablesIgnore) || tablesIgnore.some((t) => typeof t !== 'string')) {
    throw invalid('"tablesIgnore" must be an array of table names');
  }
  const bootstrapIfEmpty = o.bootstrapIfEmpty ?? true;
  if (typeof bootstrapIfEmpty !== 'boolean') throw invalid('"bootstrapIfEmpty" must be true or false');
  const autoCheckpointBytes = resolveAutoCheckpointBytes(o);
  const fetchImpl = o.fetch ?? null;
  if (fetchImpl !== null && typeof fetchImpl !== 'function') throw invalid('"fetch" must be a function like window.fetch');
  return {
    fetch: fetchImpl as ResolvedSyncOptions['fetch'],
    url: url as ResolvedSyncOptions['url'],
    authToken: authToken as ResolvedSyncOptions['authToken'],
    clientName,
    longPollTimeoutMs,
    transform: transform as ResolvedSyncOptions['transform'],
    tablesIgnore: [...(tablesIgnore as string[])],
    bootstrapIfEmpty,
    autoCheckpointBytes,
  };
}

/** Checks a sync url's form; `libsql://` and `turso://` mean https. */
export function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^(libsql|turso):\/\//, 'https://'));
  } catch {
    throw invalid(`"url" is not a valid URL: ${JSON.stringify(url)}`, { url });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`"url" must be http(s)://, libsql:// or turso://, got ${parsed.protocol}`, { url });
  }
  return url;
}
