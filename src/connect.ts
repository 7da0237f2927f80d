import { transfer } from 'comlink';
import { WalsyncError } from '../contract/errors.js';
import type { DatabaseRowTransformResult, SyncCallbacks } from '../contract/worker-api.js';
import { Database } from './database.js';
import type { SyncUrlSource } from './sync-phases.js';
import { resolveConnectOptions, resolveUrlFunction, type ConnectOptions, type ResolvedSyncOptions } from './options.js';
import { bootstrapStatus, callListener, syncStatusOf, type SyncStatusListener } from './sync-status.js';
import type { WorkerChannel } from './worker-channel.js';
import { acquireChannel } from './acquire-channel.js';

/**
 * Opens (creating if needed) a database and returns it once it is ready to query.
 *
 * ```ts
 * const db = await connect({ path: 'app.db' });
 * await db.exec('CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT)');
 * await db.prepare('INSERT INTO notes(body) VALUES (?)').run('hello');
 * const notes = await db.prepare('SELECT * FROM notes').all();
 * ```
 *
 * With a `url` the database syncs with a server speaking Turso's sync protocol: the first connect
 * downloads the remote database (unless `bootstrapIfEmpty: false`), local changes are recorded,
 * `push()` sends them, `pull()` brings the server's.
 */
export async function connect(options: ConnectOptions): Promise<Database> {
  const resolved = resolveConnectOptions(options);
  const sync = resolved.sync;
  const urlSource = sync ? urlSourceFor(sync) : null;
  const bootstrap = { reported: false, receivedBytes: 0 };
  const channel = await acquireChannel(
    {
      path: resolved.path,
      storage: resolved.memory ? 'memory' : 'opfs',
      synchronous: resolved.durability,
      autoCheckpointBytes: resolved.autoCheckpointBytes,
      ...(sync && urlSource
        ? {
            sync: {
              url: urlSource.current('connect'),
              timeouts: sync.timeouts,
              clientName: sync.clientName,
              tablesIgnore: sync.tablesIgnore,
              bootstrapIfEmpty: sync.bootstrapIfEmpty,
              longPollTimeoutMs: sync.longPollTimeoutMs,
              autoCheckpointBytes: sync.autoCheckpointBytes,
              hasTransform: sync.transform !== null,
              // A fixed token goes to the worker once; only a function is asked per request.
              authToken: typeof sync.authToken === 'function' ? { ask: true } : sync.authToken,
              hasFetch: sync.fetch !== null,
              ...(sync.tracing ? { tracing: sync.tracing } : {}),
              remoteEncryption: sync.remoteEncryption,
            },
          }
        : {}),
    },
    sync ? syncCallbacks(sync, bootstrap) : undefined,
  );
  const db = new Database(channel, resolved.path, resolved.memory, urlSource, sync?.longPollTimeoutMs ?? 0);
  if (sync?.onSyncStatus) followSyncStatus(db, channel, sync.onSyncStatus, bootstrap.reported);
  return db;
}

/** The connect option's listener: the status as it is now (a bootstrap just ended), then every change. */
function followSyncStatus(db: Database, channel: WorkerChannel, listener: SyncStatusListener, bootstrapped: boolean): void {
  const status = syncStatusOf(channel);
  // The server just answered the bootstrap: the listener saw `connected` already.
  if (bootstrapped && status.status.connection === 'unknown') status.update({ connection: 'connected' });
  db.onSyncStatus(listener);
  callListener(listener, db.syncStatus);
}

function urlSourceFor(sync: ResolvedSyncOptions): SyncUrlSource {
  const url = sync.url;
  return {
    // A string url was checked by resolveConnectOptions; a function is asked (and checked) each time.
    current: (call) => (typeof url === 'function' ? resolveUrlFunction(url, call) : url),
  };
}

function syncCallbacks(sync: ResolvedSyncOptions, bootstrap: { reported: boolean; receivedBytes: number }): SyncCallbacks {
  return {
    async bootstrapProgress(receivedBytes, totalBytes) {
      // The worker's last report may repeat the one before it: one snapshot per change.
      if (bootstrap.reported && bootstrap.receivedBytes === receivedBytes) return;
      bootstrap.reported = true;
      bootstrap.receivedBytes = receivedBytes;
      if (sync.onSyncStatus) callListener(sync.onSyncStatus, bootstrapStatus(receivedBytes, totalBytes));
    },
    async authToken() {
      const token = sync.authToken;
      if (token === null) return null;
      let value: unknown;
      try {
        value = typeof token === 'function' ? await token() : token;
      } catch (e) {
        throw new WalsyncError('AUTH_FAILED', `the "authToken" function threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (value !== null && value !== undefined && typeof value !== 'string') {
        throw new WalsyncError('INVALID_ARGUMENT', 'the "authToken" function must return a string or null');
      }
      return value ?? null;
    },
    async fetch(request) {
      const fetchImpl = sync.fetch ?? globalThis.fetch.bind(globalThis);
      let response: Response;
      let body: ArrayBuffer;
      try {
        response = await fetchImpl(request.url, { method: request.method, headers: request.headers, body: request.body as Uint8Array<ArrayBuffer> });
        body = await response.arrayBuffer();
      } catch (e) {
        // What the app's fetch throws is a failure to reach the server (as a browser fetch's
        // TypeError is), not a bug of ours: typed here, before it crosses to the worker.
        if (e instanceof WalsyncError) throw e;
        throw new WalsyncError('NETWORK_ERROR', `could not reach the sync server through the "fetch" option: ${(e as Error)?.message ?? String(e)}`, {
          context: { url: request.url },
          cause: e,
        });
      }
      return transfer(
        { status: response.status, statusText: response.statusText, headers: [...response.headers.entries()], body },
        [body],
      );
    },
    async trace(event) {
      sync.logger(event);
    },
    async transform(mutations) {
      const transform = sync.transform;
      if (!transform) return mutations.map(() => null);
      return mutations.map((m, i): DatabaseRowTransformResult => {
        const result = transform(m);
        if (result === null || result === undefined) return null;
        if (result.operation === 'skip') return { operation: 'skip' };
        if (result.operation === 'rewrite' && result.stmt && typeof result.stmt.sql === 'string') {
          return { operation: 'rewrite', stmt: { sql: result.stmt.sql, values: [...(result.stmt.values ?? [])] } };
        }
        throw new WalsyncError('INVALID_ARGUMENT', `transform returned an invalid result for change ${i} of table ${m.tableName}`);
      });
    },
  };
}
