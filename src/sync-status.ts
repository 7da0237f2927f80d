/**
 * Sync status: one snapshot per database (shared by every handle of its path in this tab), replaced
 * (never mutated) at each change and announced to listeners in the order the changes happened, so
 * `uploading: true` always comes before the `uploading: false` that ends it.
 */
import { WalsyncError, deserializeError, serializeError, type SerializedWalsyncError } from '../contract/errors.js';
import type { SyncStats } from '../contract/worker-api.js';
import type { ProgressMessage } from '../worker/worker-host.js';
import type { WorkerChannel } from './worker-channel.js';

/** Where sync stands; `db.syncStatus` and `db.onSyncStatus()` hand out these (frozen) snapshots. */
export interface SyncStatus {
  /**
   * Whether sync can reach the server: `'connected'` (the last request got an answer), `'offline'`
   * (the browser says it is offline, or the last request could not reach the server), `'paused'`
   * (the `url` function returned null), `'unknown'` (nothing tried yet, or the browser just came back online).
   */
  readonly connection: 'unknown' | 'connected' | 'offline' | 'paused';
  /**
   * The background sync loop (`db.startSync()`): `'off'` (not started, or `stopSync()`),
   * `'running'`, `'retrying'` (waiting until `nextRetryAt` after a failure it can retry),
   * `'stopped'` (stopped by an error retrying cannot fix: see `lastError`).
   */
  readonly loop: 'off' | 'running' | 'retrying' | 'stopped';
  /** A push is running (manual or background). */
  readonly uploading: boolean;
  /** A pull (or its download) is running. */
  readonly downloading: boolean;
  /** Local changes not yet pushed (refreshed after each sync and, while someone listens, each commit). */
  readonly pendingChanges: number;
  /** When the last push succeeded (ms since the epoch), or null. */
  readonly lastPushAt: number | null;
  /** When the last pull succeeded (ms since the epoch), or null. */
  readonly lastPullAt: number | null;
  /** The error of the last failed push or pull; null again after a sync succeeds. */
  readonly lastError: WalsyncError | null;
  /** The server revision the local copy is synced with (null before the first pull or bootstrap). */
  readonly revision: string | null;
  /** True once the first bootstrap (or first pull) has brought the server's database. */
  readonly bootstrapped: boolean;
  /** When the background loop tries again after a failure (ms since the epoch), or null. */
  readonly nextRetryAt: number | null;
  /** Progress of the running pull's download: bytes received so far and in all when known. */
  readonly download: { readonly receivedBytes: number; readonly totalBytes: number | null } | null;
  /** Progress of the running push: changes sent so far of the changes it sends. */
  readonly upload: { readonly sentChanges: number; readonly totalChanges: number } | null;
}

/** Gets every status snapshot, in order. */
export type SyncStatusListener = (status: SyncStatus) => void;

const INITIAL: SyncStatus = Object.freeze({
  connection: 'unknown',
  loop: 'off',
  uploading: false,
  downloading: false,
  pendingChanges: 0,
  lastPushAt: null,
  lastPullAt: null,
  lastError: null,
  revision: null,
  bootstrapped: false,
  nextRetryAt: null,
  download: null,
  upload: null,
});

interface EventTargetLike {
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

/**
 * @internal The status `connect({ onSyncStatus })` reports while the first bootstrap downloads,
 * before the database (and its own status) exists.
 */
export function bootstrapStatus(receivedBytes: number, totalBytes: number): SyncStatus {
  return Object.freeze({ ...INITIAL, connection: 'connected', downloading: true, download: Object.freeze({ receivedBytes, totalBytes }) });
}

/** @internal Calls an app's listener; what it throws is reported apart, never breaking the caller. */
export function callListener(listener: SyncStatusListener, status: SyncStatus): void {
  try {
    listener(status);
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}

/** @internal The status of one database and the browser's online state it depends on. */
export class SyncStatusTracker {
  #status: SyncStatus = INITIAL;
  readonly #listeners = new Set<SyncStatusListener>();
  readonly #onlineListeners = new Set<(online: boolean) => void>();
  #online: boolean;
  readonly #readStats: () => Promise<SyncStats>;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;
  #removeWindowListeners: () => void;

  constructor(readStats: () => Promise<SyncStats>) {
    this.#readStats = readStats;
    const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
    this.#online = nav?.onLine !== false;
    const target = globalThis as EventTargetLike;
    // The browser's own signal; a test (or an app) may dispatch these events itself too.
    const online = (): void => this.#setOnline(true);
    const offline = (): void => this.#setOnline(false);
    target.addEventListener?.('online', online);
    target.addEventListener?.('offline', offline);
    this.#removeWindowListeners = () => {
      target.removeEventListener?.('online', online);
      target.removeEventListener?.('offline', offline);
    };
    if (!this.#online) this.update({ connection: 'offline' });
  }

  /** The database closed: stop hearing the window's events (each tracker added its own pair). */
  dispose(): void {
    this.#removeWindowListeners();
    this.#removeWindowListeners = () => undefined;
    this.#onlineListeners.clear();
  }

  get status(): SyncStatus {
    return this.#status;
  }

  /** False after the browser's `offline` event (or navigator.onLine false at start) until `online`. */
  get online(): boolean {
    return this.#online;
  }

  subscribe(listener: SyncStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listened(): boolean {
    return this.#listeners.size > 0;
  }

  /** Hears the browser going offline and online (the background loop pauses and resumes). */
  onOnlineChange(listener: (online: boolean) => void): () => void {
    this.#onlineListeners.add(listener);
    return () => this.#onlineListeners.delete(listener);
  }

  /** Replaces the snapshot with `patch` applied and tells every listener, if anything changed. */
  update(patch: Partial<SyncStatus>): void {
    const current = this.#status;
    let changed = false;
    for (const key of Object.keys(patch) as (keyof SyncStatus)[]) {
      if (!Object.is(current[key], patch[key])) changed = true;
    }
    if (!changed) return;
    const next = Object.freeze({ ...current, ...patch });
    this.#status = next;
    this.#onChange?.(next);
    for (const listener of [...this.#listeners]) callListener(listener, next);
  }

  /** Called with every new snapshot before the listeners (the tab-to-tab mirror); not a listener. */
  #onChange: ((status: SyncStatus) => void) | null = null;

  /** @internal Sets what hears every new snapshot (see mirrorBetweenTabs). */
  set onChange(hook: ((status: SyncStatus) => void) | null) {
    this.#onChange = hook;
  }

  /** A push or pull starts (inside the sync lock, so one at a time). */
  began(call: 'push' | 'pull' | 'resetSync'): void {
    // resetSync() reports as an upload: it sends the whole database (its pull is part of it).
    this.update(call !== 'pull' ? { uploading: true, upload: null } : { downloading: true, download: null });
  }

  succeeded(call: 'push' | 'pull' | 'resetSync'): void {
    const now = Date.now();
    this.update(
      call !== 'pull'
        ? { uploading: false, upload: null, lastPushAt: now, lastError: null, connection: this.#online ? 'connected' : 'offline' }
        : // A pull that succeeded brought a revision: bootstrapped now, not only once refresh() has read it.
          { downloading: false, download: null, lastPullAt: now, lastError: null, bootstrapped: true, connection: this.#online ? 'connected' : 'offline' },
    );
  }

  /** A push or pull that stopped before doing anything (a long poll's wait cut short): neither a success nor an error. */
  ended(call: 'push' | 'pull' | 'resetSync'): void {
    this.update(call !== 'pull' ? { uploading: false, upload: null } : { downloading: false, download: null });
  }

  failed(call: 'push' | 'pull' | 'resetSync', error: unknown): void {
    const e = error instanceof WalsyncError ? error : new WalsyncError('INTERNAL', String((error as Error)?.message ?? error), { cause: error });
    const connection: SyncStatus['connection'] =
      e.code === 'SYNC_PAUSED'
        ? 'paused'
        : e.code === 'NETWORK_ERROR' || !this.#online
          ? 'offline'
          : e.code === 'SERVER_ERROR' || e.code === 'PUSH_REJECTED' || e.code === 'PROTOCOL_ERROR' || e.code === 'SERVER_RESET'
            ? 'connected'
            : this.#status.connection;
    this.update(
      call !== 'pull'
        ? { uploading: false, upload: null, lastError: e, connection }
        : { downloading: false, download: null, lastError: e, connection },
    );
  }

  /** Progress from the worker; only while its push or pull runs (a late message changes nothing). */
  progress(message: ProgressMessage): void {
    const { download, upload } = this.#status;
    if (message.kind === 'download') {
      if (download?.receivedBytes === message.receivedBytes && download.totalBytes === message.totalBytes) return;
      if (this.#status.downloading) this.update({ download: Object.freeze({ receivedBytes: message.receivedBytes, totalBytes: message.totalBytes }) });
    } else if (this.#status.uploading && !(upload?.sentChanges === message.sentChanges && upload.totalChanges === message.totalChanges)) {
      this.update({ upload: Object.freeze({ sentChanges: message.sentChanges, totalChanges: message.totalChanges }) });
    }
  }

  /** Reads pending changes and revision again; calls made meanwhile fold into one more read. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        this.#refreshAgain = false;
        try {
          const stats = await this.#readStats();
          this.update({ pendingChanges: stats.cdcOperations, revision: stats.revision, bootstrapped: stats.revision !== null });
        } catch {
          // A closed database has no status to refresh; a failed read changes nothing shown.
          return;
        }
      } while (this.#refreshAgain);
    };
    this.#refreshing = run().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  #setOnline(online: boolean): void {
    if (this.#online === online) return;
    this.#online = online;
    if (!online) this.update({ connection: 'offline' });
    else if (this.#status.connection === 'offline') this.update({ connection: 'unknown' });
    for (const listener of [...this.#onlineListeners]) listener(online);
  }
}

const trackers = new WeakMap<WorkerChannel, SyncStatusTracker>();
const mirrors = new WeakMap<WorkerChannel, () => void>();

/** A snapshot as it crosses between tabs (an Error subclass does not survive structured clone). */
type SharedSnapshot = Omit<SyncStatus, 'lastError'> & { readonly lastError: SerializedWalsyncError | null };

type StatusMessage = { readonly t: 'status'; readonly status: SharedSnapshot } | { readonly t: 'ask' };

/**
 * Several tabs: the sync engine and the background loop run in the leader tab, so a follower's
 * own tracker would never see them. The leader's tracker sends each new snapshot to the other tabs
 * of the database (a BroadcastChannel per database) and answers a follower that asks; a follower
 * shows the leader's snapshot (its own push and pull, which run in the leader too, update it as
 * well). Whichever tab leads now sends; a follower that becomes leader starts sending.
 */
function mirrorBetweenTabs(channel: WorkerChannel, tracker: SyncStatusTracker): void {
  if (typeof BroadcastChannel === 'undefined' || !channel.key.startsWith('opfs:')) return;
  const bus = new BroadcastChannel(`walsync:status:${channel.key}`);
  let applying = false;
  const send = (status: SyncStatus): void => {
    if (applying || !channel.leading) return;
    const shared: SharedSnapshot = { ...status, lastError: status.lastError ? serializeError(status.lastError) : null };
    bus.postMessage({ t: 'status', status: shared } satisfies StatusMessage);
  };
  tracker.onChange = send;
  bus.onmessage = (event: MessageEvent) => {
    const message = event.data as StatusMessage;
    if (message.t === 'ask') {
      send(tracker.status);
    } else if (message.t === 'status' && !channel.leading) {
      const { lastError, ...rest } = message.status;
      applying = true;
      try {
        tracker.update({ ...rest, lastError: lastError ? deserializeError(lastError) : null });
      } finally {
        applying = false;
      }
    }
  };
  // A follower (or a tab that just followed a new leader) asks for the current snapshot.
  const ask = (): void => {
    if (!channel.leading) bus.postMessage({ t: 'ask' } satisfies StatusMessage);
    // Leading now: a push or pull the old leader had running died with it, whatever it showed.
    else tracker.update({ uploading: false, downloading: false, upload: null, download: null });
  };
  ask();
  const stopRelink = channel.onRelink(ask);
  mirrors.set(channel, () => {
    stopRelink();
    tracker.onChange = null;
    bus.close();
  });
}

/** @internal The status tracker of `channel`'s database, made (and first read) on first use. */
export function syncStatusOf(channel: WorkerChannel): SyncStatusTracker {
  let tracker = trackers.get(channel);
  if (!tracker) {
    const created = new SyncStatusTracker(() => channel.lock.run(() => channel.call((api) => api.stats())));
    tracker = created;
    trackers.set(channel, tracker);
    channel.onWorkerMessage('walsync:progress', (data) => created.progress(data as ProgressMessage));
    // A status read after close() must not listen to the window again (nothing would stop it).
    if (!channel.alive) {
      created.dispose();
    } else {
      mirrorBetweenTabs(channel, created);
      void tracker.refresh();
    }
  }
  return tracker;
}

/** @internal The channel's worker stopped (its last handle closed): its status stops listening. */
export function disposeSyncStatus(channel: WorkerChannel): void {
  trackers.get(channel)?.dispose();
  mirrors.get(channel)?.();
  mirrors.delete(channel);
}
