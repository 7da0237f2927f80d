/** connect() options and their validation: bad options fail fast, before any worker starts. */
import { WalsyncError } from '../contract/errors.js';
import type { DatabaseRowMutation, DatabaseRowTransformResult } from '../contract/worker-api.js';
import { httpSyncUrl } from '../contract/sync-url.js';
import { TRACE_LEVELS, type TraceEvent, type TraceLevel } from '../contract/trace.js';
import { parseDatabasePath } from '../worker/vfs/opfs-file-store.js';
import type { SyncStatus } from './sync-status.js';

export interface ConnectOptions {
  /**
   * Where the database lives: a file name in the Origin Private File System (e.g. `"app.db"`, or
   * `"folder/app.db"`), or `":memory:"` for a temporary in-memory database.
   *
   * Names are separated by `/`; one leading `/` or `./` is allowed and changes nothing (`"app.db"`,
   * `"./app.db"` and `"/app.db"` are the same database). Not allowed (`INVALID_ARGUMENT`): an empty
   * name (`"a//b.db"`, `"dir/"`), `"."` or `".."` as a name, a backslash, control characters such
   * as NUL. Names are case-sensitive.
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
   * Network limits, in milliseconds, so that no sync call waits forever on a server that is silent
   * or trickles bytes. A request that passes one fails with `NETWORK_ERROR` (its `context.limit`
   * names the limit) and changes nothing locally.
   */
  timeouts?: SyncTimeouts;
  /**
   * Called (in batches) for every local change about to be pushed, and replayed after a pull:
   * return null to keep it, `{ operation: 'skip' }` to drop it, or `{ operation: 'rewrite', stmt }`
   * to send other SQL instead (e.g. turn a counter's update into an increment). It sees the net
   * effect of each row's pending changes (an insert then updates as one insert of the final row;
   * several updates as one), and schema changes too (`changeType: 'schema'`, the statement in `sql`).
   */
  transform?: (mutation: DatabaseRowMutation) => DatabaseRowTransformResult | undefined;
  /** Tables whose rows are never pushed (they stay local). */
  tablesIgnore?: string[];
  /** Download the remote database on first connect when there is no local one. Default true. */
  bootstrapIfEmpty?: boolean;
  /**
   * Checkpoint automatically when the write-ahead log grows past this many bytes (local and synced
   * databases); unless 0, also once the database has been idle for a second after a write, and on
   * close(), so the next open has a short log to read. Default 8 MiB; 0 = never.
   */
  autoCheckpointBytes?: number;
  /**
   * Makes the sync requests instead of the worker's own `fetch` (to add headers, log, or route
   * through a test double). It runs on the main thread and each response is read whole.
   */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * Traces the sync engine's steps (bootstrap, pull download and apply, replay, push chunks,
   * checkpoints, resetSync) with the numbers a bug report needs, at this level and the more
   * important ones: `'error'`, `'warn'`, `'info'` (every step), `'debug'`, `'trace'` (the values
   * sync-wasm's `tracing` takes). Off by default. Events go to `logger`, else to the console.
   */
  tracing?: TraceLevel;
  /** Receives each traced step when `tracing` is set. Default: the console, at the event's level. */
  logger?: (event: TraceEvent) => void;
  /**
   * Hears the sync status from the start, the first connect's bootstrap included: it runs before
   * `connect()` resolves, so `db.onSyncStatus()` comes too late to show its progress. While it
   * downloads, the listener gets snapshots with `downloading: true` and `download: { receivedBytes,
   * totalBytes }` (bytes of database pages; the total is the remote database's size); then, once
   * `connect()` resolves, the database's status as it is and every later one, as
   * `db.onSyncStatus(listener)` would (until `close()`).
   */
  onSyncStatus?: (status: SyncStatus) => void;
  /**
   * The key and cipher of a remote database encrypted at rest (Turso Cloud encryption), as in
   * sync-wasm: `{ key: '<base64 key>', cipher: 'aegis256' }`. Sent with every sync request; the
   * server decrypts and encrypts pages with it. The local copy is not encrypted.
   */
  remoteEncryption?: { key: string; cipher: RemoteEncryptionCipher };
}

/** The ciphers of Turso's encrypted databases. */
export type RemoteEncryptionCipher =
  | 'aes128gcm'
  | 'aes256gcm'
  | 'chacha20poly1305'
  | 'aegis128l'
  | 'aegis128x2'
  | 'aegis128x4'
  | 'aegis256'
  | 'aegis256x2'
  | 'aegis256x4';

const CIPHERS: ReadonlySet<string> = new Set<RemoteEncryptionCipher>([
  'aes128gcm',
  'aes256gcm',
  'chacha20poly1305',
  'aegis128l',
  'aegis128x2',
  'aegis128x4',
  'aegis256',
  'aegis256x2',
  'aegis256x4',
]);

/** Network limits of a synced database (see ConnectOptions.timeouts). Every field is optional. */
export interface SyncTimeouts {
  /**
   * How long the server may stay silent: until its answer starts, then between two chunks of the
   * answer. Default 15 000 (15 s).
   */
  silenceMs?: number;
  /**
   * The most one request may take, from asking the `authToken` to the last byte of the answer,
   * however steadily the server sends. Default 120 000 (2 min); a pull adds `longPollTimeoutMs`.
   * Raise it for very large databases on slow links (a bootstrap is one request).
   */
  requestMs?: number;
  /**
   * First connect only: how long `connect()` waits for the server to start answering the bootstrap
   * before it opens the database empty instead (as when the server is unreachable; the first pull
   * then brings the remote database). Default 10 000 (10 s).
   */
  bootstrapWaitMs?: number;
}

export interface ResolvedSyncTimeouts {
  readonly silenceMs: number;
  readonly requestMs: number;
  readonly bootstrapWaitMs: number;
}

export const DEFAULT_TIMEOUTS: ResolvedSyncTimeouts = { silenceMs: 15_000, requestMs: 120_000, bootstrapWaitMs: 10_000 };

export interface ResolvedConnectOptions {
  /** The path's one spelling (see parseDatabasePath), or `":memory:"`. */
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
  readonly timeouts: ResolvedSyncTimeouts;
  readonly transform: ((mutation: DatabaseRowMutation) => DatabaseRowTransformResult | undefined) | null;
  readonly tablesIgnore: string[];
  readonly bootstrapIfEmpty: boolean;
  readonly autoCheckpointBytes: number;
  readonly fetch: ((url: string, init: RequestInit) => Promise<Response>) | null;
  readonly tracing: TraceLevel | null;
  readonly logger: (event: TraceEvent) => void;
  readonly onSyncStatus: ((status: SyncStatus) => void) | null;
  readonly remoteEncryption: { readonly key: string; readonly cipher: RemoteEncryptionCipher } | null;
}

const LOCAL_OPTIONS = new Set(['path', 'durability', 'autoCheckpointBytes']);
const SYNC_OPTIONS = new Set([
  'url',
  'authToken',
  'clientName',
  'longPollTimeoutMs',
  'timeouts',
  'transform',
  'tablesIgnore',
  'bootstrapIfEmpty',
  'fetch',
  'tracing',
  'logger',
  'onSyncStatus',
  'remoteEncryption',
]);

/** sync-wasm options walsync refuses, each with its reason (rather than "unknown option"). */
const REFUSED_OPTIONS: Readonly<Record<string, string>> = {
  partialSyncExperimental:
    '"partialSyncExperimental" is not supported: walsync always downloads the whole database (its sync engine has no lazy page fetching, and the local tursodb serves every page whatever the bootstrap strategy asks, so it could not be tested). Leave the option out',
};

function invalid(message: string, context: Record<string, string> = {}): WalsyncError {
  return new WalsyncError('INVALID_ARGUMENT', `connect(): ${message}`, { context });
}

export function resolveConnectOptions(options: unknown): ResolvedConnectOptions {
  if (typeof options !== 'object' || options === null) {
    throw new WalsyncError('INVALID_ARGUMENT', 'connect() needs an options object, e.g. connect({ path: "app.db" })');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key in REFUSED_OPTIONS && o[key] !== undefined) throw invalid(REFUSED_OPTIONS[key]!, { option: key });
    if (!LOCAL_OPTIONS.has(key) && !SYNC_OPTIONS.has(key)) throw invalid(`unknown option "${key}"`, { option: key });
  }
  if (typeof o.path !== 'string' || o.path.trim() === '') {
    throw invalid('"path" must be a non-empty string such as "app.db" or ":memory:"');
  }
  const memory = o.path === ':memory:';
  const path = memory ? o.path : normalizePath(o.path);
  const durability = o.durability ?? 'full';
  if (durability !== 'full' && durability !== 'normal') throw invalid('"durability" must be "full" or "normal"');
  const autoCheckpointBytes = resolveAutoCheckpointBytes(o);

  const syncKeys = Object.keys(o).filter((k) => SYNC_OPTIONS.has(k) && o[k] !== undefined);
  if (o.url === undefined) {
    if (syncKeys.length > 0) throw invalid(`"${syncKeys[0]}" needs a "url" (it only applies to synced databases)`);
    return { path, memory, durability, autoCheckpointBytes, sync: null };
  }
  if (memory) throw invalid('":memory:" databases cannot sync; give a path');
  return { path, memory, durability, autoCheckpointBytes, sync: resolveSyncOptions(o) };
}

/** One spelling per database: the channel, the metadata and the files are all keyed by it. */
function normalizePath(path: string): string {
  try {
    return parseDatabasePath(path).normalized;
  } catch (e) {
    if (e instanceof WalsyncError) throw invalid(e.message, { path });
    throw e;
  }
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
  const timeouts = resolveTimeouts(o.timeouts);
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
  const tracing = o.tracing ?? null;
  if (tracing !== null && !(TRACE_LEVELS as readonly unknown[]).includes(tracing)) {
    throw invalid(`"tracing" must be one of ${TRACE_LEVELS.map((l) => `"${l}"`).join(', ')}`);
  }
  const logger = o.logger ?? consoleLogger;
  if (typeof logger !== 'function') throw invalid('"logger" must be a function taking a trace event');
  const onSyncStatus = o.onSyncStatus ?? null;
  if (onSyncStatus !== null && typeof onSyncStatus !== 'function') throw invalid('"onSyncStatus" must be a function');
  return {
    tracing: tracing as TraceLevel | null,
    logger: logger as ResolvedSyncOptions['logger'],
    onSyncStatus: onSyncStatus as ResolvedSyncOptions['onSyncStatus'],
    remoteEncryption: resolveRemoteEncryption(o.remoteEncryption),
    fetch: fetchImpl as ResolvedSyncOptions['fetch'],
    url: url as ResolvedSyncOptions['url'],
    authToken: authToken as ResolvedSyncOptions['authToken'],
    clientName,
    longPollTimeoutMs,
    timeouts,
    transform: transform as ResolvedSyncOptions['transform'],
    tablesIgnore: [...(tablesIgnore as string[])],
    bootstrapIfEmpty,
    autoCheckpointBytes,
  };
}

/** The default logger: one console line per traced step, at its level. */
function consoleLogger(event: TraceEvent): void {
  const log = event.level === 'error' ? console.error : event.level === 'warn' ? console.warn : event.level === 'info' ? console.info : console.debug;
  log(`walsync ${event.path} ${event.step}`, event.fields);
}

function resolveRemoteEncryption(value: unknown): ResolvedSyncOptions['remoteEncryption'] {
  if (value === undefined || value === null) return null;
  const shape = '"remoteEncryption" must be { key: "<base64 key>", cipher: "aegis256" | "aes256gcm" | ... }';
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(shape);
  const { key, cipher, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw invalid(`"remoteEncryption" has an unknown field "${extra}" (known: key, cipher)`, { option: extra });
  if (typeof cipher !== 'string' || !CIPHERS.has(cipher)) {
    throw invalid(`"remoteEncryption.cipher" must be one of ${[...CIPHERS].join(', ')}`, { cipher: String(cipher) });
  }
  // The key travels in a header as base64 of 16 or 32 bytes; a typo is caught here, not as an HTTP error later.
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0 || ![16, 32].includes((key.length / 4) * 3 - (key.match(/=+$/)?.[0].length ?? 0))) {
    throw invalid('"remoteEncryption.key" must be the base64 of a 16- or 32-byte key (e.g. from `openssl rand -base64 32`)');
  }
  return { key, cipher: cipher as RemoteEncryptionCipher };
}

/** The longest delay setTimeout honours (about 24.8 days); larger values would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;

function resolveTimeouts(value: unknown): ResolvedSyncTimeouts {
  if (value === undefined) return DEFAULT_TIMEOUTS;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('"timeouts" must be an object such as { silenceMs: 15000, requestMs: 120000, bootstrapWaitMs: 10000 }');
  }
  const given = value as Record<string, unknown>;
  const out: Record<string, number> = { ...DEFAULT_TIMEOUTS };
  for (const [key, v] of Object.entries(given)) {
    if (!(key in DEFAULT_TIMEOUTS)) throw invalid(`"timeouts" has an unknown limit "${key}" (known: silenceMs, requestMs, bootstrapWaitMs)`, { option: key });
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TIMER_MS) {
      throw invalid(`"timeouts.${key}" must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`, { option: key });
    }
    out[key] = v;
  }
  return out as unknown as ResolvedSyncTimeouts;
}

/** Checks a sync url's form; `libsql://` and `turso://` mean https. */
export function checkUrl(url: string): string {
  const problem = urlProblem(url);
  if (problem === 'invalid') throw invalid(`"url" is not a valid URL: ${JSON.stringify(url)}`, { url });
  if (problem !== null) throw invalid(`"url" must be http(s)://, libsql:// or turso://, got ${problem}`, { url });
  return url;
}

/**
 * Checks what a `url` function returned, for the call that asked it (`connect`, `push`, `pull`):
 * a string url, or null (sync paused). Anything else, or a function that throws, is
 * INVALID_ARGUMENT naming the call and the function, with the thrown error as `cause`.
 */
export function resolveUrlFunction(url: () => string | null, call: string): string | null {
  const fail = (message: string, extra: { context?: Record<string, string>; cause?: unknown } = {}) =>
    new WalsyncError('INVALID_ARGUMENT', `${call}(): the "url" function ${message}`, extra);
  let value: unknown;
  try {
    value = url();
  } catch (e) {
    throw fail(`threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw fail(`must return a string or null, not ${typeof value}`);
  if (value === '') throw fail('returned an empty string (return null to pause sync)');
  const problem = urlProblem(value);
  if (problem === 'invalid') throw fail(`returned an invalid URL: ${JSON.stringify(value)}`, { context: { url: value } });
  if (problem !== null) throw fail(`returned a url that is not http(s)://, libsql:// or turso://: ${JSON.stringify(value)}`, { context: { url: value } });
  return value;
}

/** null if `url` is a usable sync url, 'invalid' if it does not parse, else its wrong protocol. */
function urlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(httpSyncUrl(url));
  } catch {
    return 'invalid';
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? null : parsed.protocol;
}
