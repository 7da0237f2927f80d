/**
 * push(), pull() and resetSync() on the main thread: the runner that gives a sync call its server
 * url, its status updates and its locks, and each call's phases (which worker calls, in which order,
 * and which of them go out on the network).
 */
import type { Remote } from 'comlink';
import { WalsyncError } from '../contract/errors.js';
import type { WorkerApi } from '../contract/worker-api.js';
import type { WorkerChannel } from './worker-channel.js';
import { syncStatusOf } from './sync-status.js';
import { insideTransaction } from './transaction.js';

/** One worker call of a push or pull phase. */
type PhaseCall = <R>(op: (api: Remote<WorkerApi>) => Promise<R>) => Promise<R>;

/** @internal Where a synced database finds its server url at the moment of a sync. */
export interface SyncUrlSource {
  /** The url now, or null (sync paused); `call` names the API call asking, for error messages. */
  current(call: string): string | null;
}

/** @internal What the runner needs of the Database handle it syncs (its private state, by accessor). */
export interface SyncHost {
  path(): string;
  syncUrl(): SyncUrlSource | null;
  /** The handle's close() was called. */
  isClosed(): boolean;
  channel(): WorkerChannel;
  /** A transaction() is open on the handle. */
  inTransaction(): boolean;
}

/** @internal push(): begin on the network, then prepare locally and send, chunk by chunk, then finish locally. */
export async function pushPhases(url: string, local: PhaseCall, network: PhaseCall): Promise<void> {
  await network((api) => api.pushBegin(url));
  while (await local((api) => api.pushPrepare())) await network((api) => api.pushSend());
  await local((api) => api.pushFinish());
}

/**
 * @internal pull(): download on the network, then apply locally. Resolves whether the server had
 * changes, or null when `stopWaiting` (the background loop's, when a push is due) cut a long
 * poll's wait short while the server had not answered yet: nothing was brought or applied.
 */
export async function pullPhases(url: string, local: PhaseCall, network: PhaseCall, stopWaiting?: AbortSignal): Promise<boolean | null> {
  const stop = (): void => void network((api) => api.stopPullWait()).catch(() => undefined);
  // Sent after pullDownload on the same channel, so the worker sees the download first.
  const downloading = network((api) => api.pullDownload(url, stopWaiting !== undefined));
  if (stopWaiting?.aborted) stop();
  else stopWaiting?.addEventListener('abort', stop, { once: true });
  try {
    if (!(await downloading)) return null;
  } finally {
    stopWaiting?.removeEventListener('abort', stop);
  }
  return local((api) => api.pullApply());
}

/** @internal resetSync(): send every row (one server transaction per chunk), then pull, then push. */
export async function resetSyncPhases(url: string, local: PhaseCall, network: PhaseCall): Promise<void> {
  await network((api) => api.resetSyncBegin(url));
  await local((api) => api.resetSyncPrepare());
  while (await network((api) => api.resetSyncSend())) {
    // one server transaction per chunk
  }
  await local((api) => api.resetSyncFinish());
  await network((api) => api.pullDownload(url));
  await local((api) => api.pullApply());
  await network((api) => api.pushBegin(url));
  while (await local((api) => api.pushPrepare())) await network((api) => api.pushSend());
  await local((api) => api.pushFinish());
}

/**
 * @internal Runs a push or pull: one at a time per database (`syncLock`); its local phases take the
 * database lock like any call (so they wait for an open transaction() to end), its network
 * phases do not, so queries go on while the server answers.
 *
 * A run that resolves null was cut short before it did anything (a pull's long-poll wait): it
 * ends the status's `downloading` without counting as a pull (`lastPullAt` stays).
 */
export function runSync<T>(host: SyncHost, call: 'push' | 'pull' | 'resetSync', fromLoop: boolean, run: (url: string, local: PhaseCall, network: PhaseCall) => Promise<T>): Promise<T> {
  if (host.inTransaction() && !fromLoop) return Promise.reject(insideTransaction(`${call}()`));
  const syncUrl = host.syncUrl();
  if (!syncUrl) {
    return Promise.reject(
      new WalsyncError('SYNC_NOT_CONFIGURED', 'this database does not sync: connect() was called without a "url"', {
        context: { path: host.path() },
      }),
    );
  }
  const status = syncStatusOf(host.channel());
  let url: string | null;
  try {
    url = syncUrl.current(call);
  } catch (e) {
    status.failed(call, e);
    return Promise.reject(e);
  }
  if (url === null) {
    const paused = new WalsyncError('SYNC_PAUSED', 'sync is paused: the "url" function returned null, so there is no server to sync with yet', {
      context: { path: host.path() },
    });
    status.failed(call, paused);
    return Promise.reject(paused);
  }
  const channel = host.channel();
  // The background loop (this tab's or the leader tab's) may hold the sync lock through a long
  // poll the server has not answered yet: cut it, or this call would wait the poll out. Cut
  // before its first byte, that pull brought and applies nothing, and the loop polls again
  // (the nudge repeats while this call waits, in case the loop began a new poll meanwhile).
  const cutLoopWait = fromLoop
    ? undefined
    : () => {
        if (!host.isClosed()) void channel.call((api) => api.stopPullWait()).catch(() => undefined);
      };
  const network: PhaseCall = (op) => {
    if (host.isClosed()) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: host.path() } }));
    return channel.call(op);
  };
  // Local phases take the lock even while a transaction is open on this handle: pushing or
  // replaying changes must never run inside the app's transaction.
  const local: PhaseCall = (op) => {
    if (host.isClosed()) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed', { context: { path: host.path() } }));
    return channel.lock.run(() => channel.call(op));
  };
  return channel.syncLock.run(async () => {
    status.began(call);
    try {
      const result = await run(url!, local, network);
      if (result === null) status.ended(call);
      else status.succeeded(call);
      return result;
    } catch (e) {
      status.failed(call, e);
      throw e;
    } finally {
      void status.refresh();
    }
  }, cutLoopWait);
}
