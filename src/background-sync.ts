/**
 * The background sync loop (`db.startSync()`): pushes soon after local commits, pulls on an
 * interval, retries what retrying can fix with capped exponential backoff and jitter, pauses while
 * the browser is offline or the `url` function returns null, and stops on errors that need the app.
 * It only schedules: every push and pull goes through the database's own push/pull, which run one
 * at a time per database (its sync lock), so the loop and manual calls never overlap.
 *
 * A long poll (connect's `longPollTimeoutMs`) may hold a pull on the server for a long time while it
 * has nothing for us; a push falling due meanwhile cuts that wait short (see #armPullCut) instead of
 * waiting it out, then the loop pushes and pulls again at once.
 */
import { WalsyncError, isWalsyncError } from '../contract/errors.js';
import type { SyncStatusTracker } from './sync-status.js';
import type { TableChangeSource } from './table-changes.js';

/** Options of `db.startSync()`; every time in milliseconds. */
export interface BackgroundSyncOptions {
  /** How often to pull (default 10 000). With `longPollTimeoutMs` set, each pull may also wait that long on the server. */
  readonly intervalMs?: number;
  /** How long after a local commit to push, so a burst of commits goes in one push (default 200). */
  readonly pushDelayMs?: number;
  /** The longest a commit waits for its push while commits keep coming (default 2 000). */
  readonly maxPushDelayMs?: number;
  /** First wait after a failure; it doubles at each failure in a row (default 1 000). */
  readonly retryInitialMs?: number;
  /** The longest wait between retries (default 60 000). Each wait is jittered down by up to half. */
  readonly retryMaxMs?: number;
}

/** @internal What the loop needs from its database. */
export interface BackgroundSyncTarget {
  push(): Promise<void>;
  /**
   * `stopWaiting` aborts when a push falls due during the pull: a long poll the server has not
   * begun to answer then ends at once, bringing and changing nothing (resolves false).
   */
  pull(stopWaiting: AbortSignal): Promise<boolean | null>;
  /**
   * connect()'s `longPollTimeoutMs` (0: none). With a long poll, a pull that the server held, or
   * that brought changes, is followed by the next at once instead of after `intervalMs`.
   */
  readonly longPollMs?: number;
  readonly status: SyncStatusTracker;
  /** Listens for table changes (the loop pushes after `'local'` ones); returns the unsubscribe. */
  onTablesChanged(listener: (tables: ReadonlySet<string>, source: TableChangeSource) => void): () => void;
}

/** Errors the loop retries; anything else needs the app (or cannot be fixed by waiting) and stops it. */
const RETRYABLE = new Set(['NETWORK_ERROR', 'SERVER_ERROR', 'IO_ERROR']);

interface ResolvedOptions {
  readonly intervalMs: number;
  readonly pushDelayMs: number;
  readonly maxPushDelayMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

/** Checks the options: positive finite numbers, or absent for the defaults. */
export function resolveBackgroundSyncOptions(options: BackgroundSyncOptions | undefined): ResolvedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new WalsyncError('INVALID_ARGUMENT', 'startSync() takes an options object');
  }
  const pick = (name: keyof BackgroundSyncOptions, fallback: number, min: number): number => {
    const value = options?.[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new WalsyncError('INVALID_ARGUMENT', `startSync(): "${name}" must be a number of milliseconds, at least ${min}`, { context: { option: name } });
    }
    return value;
  };
  const retryInitialMs = pick('retryInitialMs', 1_000, 1);
  return {
    intervalMs: pick('intervalMs', 10_000, 1),
    pushDelayMs: pick('pushDelayMs', 200, 0),
    maxPushDelayMs: pick('maxPushDelayMs', 2_000, 0),
    retryInitialMs,
    retryMaxMs: Math.max(retryInitialMs, pick('retryMaxMs', 60_000, 1)),
  };
}

/** @internal One running loop. */
export class BackgroundSync {
  readonly #target: BackgroundSyncTarget;
  readonly #options: ResolvedOptions;
  #running = false;
  #wake: (() => void) | null = null;
  #unsubscribe: (() => void)[] = [];
  /** A local commit waits to be pushed: push at `#pushAt`. */
  #pushWanted = true;
  #firstCommitAt = 0;
  #pushAt = 0;
  #nextPullAt = 0;
  #retryAt = 0;
  #failures = 0;
  /** AUTH_FAILED once: retried, since the token function is asked again; twice in a row stops. */
  #authFailedOnce = false;
  /** The stop switch of the loop's pull in flight, or null. */
  #pullStop: AbortController | null = null;
  #pullCutTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(target: BackgroundSyncTarget, options: ResolvedOptions) {
    this.#target = target;
    this.#options = options;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = [
      this.#target.onTablesChanged((_tables, source) => {
        if (source === 'local') this.#commitSeen();
      }),
      this.#target.status.onOnlineChange((online) => {
        // Back online: try at once, forgetting the backoff (the failures were the network's absence).
        if (online) {
          this.#retryAt = 0;
          this.#failures = 0;
          this.#nextPullAt = 0;
        }
        this.#wakeUp();
      }),
    ];
    this.#target.status.update({ loop: 'running', nextRetryAt: null });
    void this.#run();
  }

  /** Stops the loop; a push or pull in flight finishes (it cannot be cut off halfway), save a long poll's wait. */
  stop(loop: 'off' | 'stopped' = 'off'): void {
    if (!this.#running) return;
    this.#running = false;
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    this.#target.status.update({ loop, nextRetryAt: null });
    // A long poll still waiting is not worth waiting for any more (close() would wait for it).
    this.#pullStop?.abort();
    this.#wakeUp();
  }

  #commitSeen(): void {
    const now = Date.now();
    if (!this.#pushWanted) {
      this.#pushWanted = true;
      this.#firstCommitAt = now;
    }
    this.#pushAt = Math.min(now + this.#options.pushDelayMs, this.#firstCommitAt + this.#options.maxPushDelayMs);
    this.#armPullCut();
    this.#wakeUp();
  }

  /**
   * While the loop's pull is in flight and a push is wanted: at `#pushAt`, stop the pull's wait.
   * Safe because only the wait is cut: a long poll is held only while the server has nothing new
   * for us, and the worker drops the request only if no byte of the answer has arrived (else the
   * pull goes on as usual); a cut pull wrote nothing, so the next one asks for the same changes.
   */
  #armPullCut(): void {
    if (this.#pullCutTimer !== null) clearTimeout(this.#pullCutTimer);
    this.#pullCutTimer = null;
    const stop = this.#pullStop;
    if (!stop || !this.#pushWanted) return;
    this.#pullCutTimer = setTimeout(() => {
      this.#pullCutTimer = null;
      stop.abort();
    }, Math.max(0, this.#pushAt - Date.now()));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Waits `ms` (forever for Infinity) or until woken. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.#wakeUp(), Math.max(0, ms)) : null;
      this.#wake = () => {
        if (timer !== null) clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const status = this.#target.status;
      if (!status.online) {
        await this.#sleep(Infinity); // until the browser's `online` event (or stop())
        continue;
      }
      const now = Date.now();
      if (now < this.#retryAt) {
        await this.#sleep(this.#retryAt - now);
        continue;
      }
      const pushDue = this.#pushWanted && now >= this.#pushAt;
      const pullDue = now >= this.#nextPullAt;
      if (!pushDue && !pullDue) {
        await this.#sleep(Math.min(this.#pushWanted ? this.#pushAt : Infinity, this.#nextPullAt) - now);
        continue;
      }
      try {
        // Push what is pending before a pull too: the pull then has less to replay.
        if (pushDue || status.status.pendingChanges > 0) {
          this.#pushWanted = false;
          await this.#target.push();
        }
        if (pullDue) {
          const stop = new AbortController();
          this.#pullStop = stop;
          this.#armPullCut(); // a commit seen during the push above
          const startedAt = Date.now();
          let changed: boolean | null;
          try {
            changed = await this.#target.pull(stop.signal);
          } finally {
            this.#pullStop = null;
            this.#armPullCut(); // clears the timer
          }
          // A pull cut short (null) is still due: it runs right after the push that cut it.
          if (changed !== null) this.#nextPullAt = this.#nextPullAfter(changed, Date.now() - startedAt);
        }
        this.#failures = 0;
        this.#authFailedOnce = false;
        if (this.#running) status.update({ loop: 'running', nextRetryAt: null });
      } catch (e) {
        if (!this.#running) return;
        this.#failed(e);
      }
    }
  }

  /**
   * When to pull next. A server that long-polls holds a pull until it has news or the poll times
   * out, so after a pull it held (one that took at least half the poll) or one that brought
   * changes, the next goes out at once: changes then arrive as they land on the server. A server
   * that answers at once with nothing (no long poll) is asked again after `intervalMs`, so the
   * loop never spins.
   */
  #nextPullAfter(changed: boolean, tookMs: number): number {
    const longPollMs = this.#target.longPollMs ?? 0;
    const now = Date.now();
    if (longPollMs > 0 && (changed || tookMs >= longPollMs / 2)) return now;
    return now + this.#options.intervalMs;
  }

  /** Cuts the wait of the loop's long poll in flight, if any (a manual push or pull is about to queue behind it). */
  stopPullWait(): void {
    this.#pullStop?.abort();
  }

  #failed(e: unknown): void {
    const status = this.#target.status;
    // What the failed round meant to do is still to do.
    this.#pushWanted = true;
    this.#pushAt = 0;
    if (isWalsyncError(e, 'DATABASE_CLOSED')) {
      this.stop('off');
      return;
    }
    if (isWalsyncError(e, 'SYNC_PAUSED')) {
      // The url function returned null: ask it again after an interval (it has no event to wait for).
      this.#retryAt = Date.now() + this.#options.intervalMs;
      status.update({ loop: 'running', nextRetryAt: null });
      return;
    }
    const retryable = e instanceof WalsyncError && (RETRYABLE.has(e.code) || (e.code === 'AUTH_FAILED' && !this.#authFailedOnce));
    if (!retryable) {
      this.stop('stopped');
      return;
    }
    if (isWalsyncError(e, 'AUTH_FAILED')) this.#authFailedOnce = true;
    this.#failures++;
    const cap = Math.min(this.#options.retryMaxMs, this.#options.retryInitialMs * 2 ** Math.min(this.#failures - 1, 30));
    // Jitter: many clients failing together (a server restart) do not come back in step.
    const wait = cap / 2 + Math.random() * (cap / 2);
    this.#retryAt = Date.now() + wait;
    status.update({ loop: 'retrying', nextRetryAt: this.#retryAt });
  }
}
