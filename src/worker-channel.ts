/**
 * The facade's link to a database worker. One worker per database path per tab: two connect() calls
 * for the same path share it (and its lock), and it stops when the last of them closes.
 */
import { type Remote, proxy, releaseProxy, wrap } from 'comlink';
import { WalsyncError } from '../contract/errors.js';
import { installErrorTransfer } from '../contract/error-transfer.js';
import type { OpenRequest, OpenResult, SyncCallbacks, WorkerApi } from '../contract/worker-api.js';
import { STATEMENT_METHODS } from '../contract/statement-calls.js';
import { AsyncLock } from './async-lock.js';
import { PortStatementCaller, SharedStatementCaller, type StatementCaller, sharedCallsAvailable } from './statement-calls.js';

/** Tests and the benchmark only: 'port' keeps statement calls off shared memory even in an isolated page. */
let statementTransport: 'auto' | 'port' = 'auto';

/** Test hook: which transport channels made from now on use for statement calls. */
export function setStatementTransportForTesting(mode: 'auto' | 'port'): void {
  statementTransport = mode;
}

export class WorkerChannel {
  readonly key: string;
  /** Serializes the facade's operations on this database (transactions hold it throughout). */
  readonly lock = new AsyncLock();
  /** One push or pull at a time: their phases interleave with other calls, never with each other. */
  readonly syncLock = new AsyncLock();
  readonly #worker: Worker;
  readonly #api: Remote<WorkerApi>;
  /**
   * The worker's methods, each fetched from the Comlink proxy once: every property read of a
   * Comlink proxy makes a new proxy (and registers it for finalization), which costs on each call.
   */
  readonly #methods: Remote<WorkerApi>;
  /** Statement calls (run/get/all/...): shared memory or a compact message protocol, not Comlink. */
  readonly #statements: StatementCaller;
  readonly #dead: Promise<never>;
  #kill!: (e: WalsyncError) => void;
  #deadReason: WalsyncError | null = null;
  #terminated = false;
  refs = 0;

  constructor(key: string, worker: Worker) {
    this.key = key;
    this.#worker = worker;
    let shared: SharedStatementCaller | null = null;
    // Everything posted to the worker (Comlink's control calls, statement requests that do not fit
    // in shared memory) first asks the worker to leave its shared-memory wait, or it would sit there.
    const post = (message: unknown, transfer: Transferable[] = []): void => {
      worker.postMessage(message, transfer);
      shared?.interrupt();
    };
    this.#api = wrap<WorkerApi>({
      postMessage: post,
      addEventListener: worker.addEventListener.bind(worker),
      removeEventListener: worker.removeEventListener.bind(worker),
    });
    const port = new PortStatementCaller(worker, post);
    if (statementTransport === 'auto' && sharedCallsAvailable()) shared = new SharedStatementCaller(worker, port);
    this.#statements = shared ?? port;
    const cache = new Map<PropertyKey, unknown>();
    for (const [name, op] of Object.entries(STATEMENT_METHODS)) {
      const statements = this.#statements;
      cache.set(name, (a?: unknown, b?: unknown) => statements.call(op, a, b));
    }
    this.#methods = new Proxy({} as Remote<WorkerApi>, {
      get: (_, name) => {
        if (!cache.has(name)) cache.set(name, (this.#api as unknown as Record<PropertyKey, unknown>)[name]);
        return cache.get(name);
      },
    });
    this.#dead = new Promise<never>((_, reject) => {
      this.#kill = reject;
    });
    this.#dead.catch(() => undefined);
    // Crash tests: a worker that reached an armed kill point asks to be killed on the spot.
    worker.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as { type?: string; point?: string; metadataBeforeLastWriteJson?: string | null } | null;
      if (data && data.type === 'walsync:kill-point') {
        const context = { metadataBeforeLastWriteJson: data.metadataBeforeLastWriteJson ?? null };
        this.terminate(new WalsyncError('DATABASE_CLOSED', `the worker was killed at ${data.point} (crash test)`, { context }));
      }
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#die(new WalsyncError('DATABASE_CLOSED', `the database worker failed: ${event.message || 'unknown error'}`));
    });
  }

  /** How statement calls travel: 'shared' (SharedArrayBuffer, isolated pages) or 'port' (postMessage). */
  get statementTransport(): 'shared' | 'port' {
    return this.#statements.transport;
  }

  /** For the benchmark: the shared-memory transport's counters (null on the port transport). */
  get sharedCallCounters(): Readonly<Record<'calls' | 'kicks' | 'parks' | 'spills', number>> | null {
    return this.#statements instanceof SharedStatementCaller ? this.#statements.counters : null;
  }

  get alive(): boolean {
    return this.#deadReason === null;
  }

  /**
   * Watches for the worker's death however it happens (terminated behind our back, out of memory,
   * crashed): nothing reaches the page then, so the worker holds a Web Lock for its whole life and
   * we queue for the same lock; the browser grants it to us the moment the worker's context goes
   * away, and every call in flight or queued rejects with DATABASE_CLOSED. This costs nothing
   * while the worker lives (no heartbeat, which a long synchronous statement could not answer).
   */
  async watchLiveness(): Promise<void> {
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (!locks) return;
    const name = `walsync:worker-alive:${this.key}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    if (!(await this.call((api) => api.holdLivenessLock(name)))) return;
    locks
      .request(name, () => this.terminate(new WalsyncError('DATABASE_CLOSED', 'the database worker stopped (it was terminated or crashed)', { context: { key: this.key } })))
      .catch(() => undefined);
  }

  /**
   * Listens for the worker's own messages of `type` (not Comlink's answers), e.g. the
   * `walsync:tables-changed` notices of live queries. Returns the function that stops listening.
   */
  onWorkerMessage(type: string, listener: (data: unknown) => void): () => void {
    const handler = (event: MessageEvent): void => {
      const data = event.data as { type?: unknown } | null;
      if (data && typeof data === 'object' && data.type === type) listener(data);
    };
    this.#worker.addEventListener('message', handler);
    return () => this.#worker.removeEventListener('message', handler);
  }

  /** Calls the worker; rejects instead of hanging if the worker dies meanwhile. */
  call<T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.#deadReason) return Promise.reject(this.#deadReason);
    return Promise.race([op(this.#methods), this.#dead]);
  }

  /** Stops the worker at once (used on close, and by crash tests to simulate a killed tab). */
  terminate(reason = new WalsyncError('DATABASE_CLOSED', 'the database is closed')): void {
    // Once is enough: a worker killed while opening is terminated again by acquireChannel, and a
    // released Comlink proxy throws on a second release (which hid the kill's error).
    if (this.#terminated) return;
    this.#terminated = true;
    this.#die(reason);
    this.#api[releaseProxy]();
    this.#worker.terminate();
  }

  #die(reason: WalsyncError): void {
    if (this.#deadReason) return;
    this.#deadReason = reason;
    forget(this);
    this.#kill(reason);
    this.#statements.close(reason);
  }
}

/** The channel (or the one being opened) of each database key in this tab. */
const channels = new Map<string, Promise<WorkerChannel>>();
/** The channel behind each settled entry of `channels`, so a dead channel removes only itself. */
const opened = new Map<string, WorkerChannel>();
/** When a worker of this tab last stopped, per key: its files may still be held for a moment. */
const stoppedAt = new Map<string, number>();
/** How long after a worker of this tab stopped its files are retried when reopened, and for how long. */
const RECENT_STOP_MS = 10_000;
const LOCK_WAIT_AFTER_STOP_MS = 5_000;

/**
 * Marks, in this tab's sessionStorage (which survives a reload but is not shared with other tabs),
 * that this tab has `key` open: after a reload the previous page's worker may still hold the files
 * for a moment, and that wait is worth a retry; another tab holding them is not.
 */
function markHeld(key: string, held: boolean): void {
  try {
    if (held) sessionStorage.setItem(`walsync:held:${key}`, '1');
    else sessionStorage.removeItem(`walsync:held:${key}`);
  } catch {
    // No sessionStorage (a sandboxed frame, a worker): only same-page stops are retried.
  }
}

function heldBeforeReload(key: string): boolean {
  try {
    return sessionStorage.getItem(`walsync:held:${key}`) !== null;
  } catch {
    return false;
  }
}

function forget(channel: WorkerChannel): void {
  stoppedAt.set(channel.key, Date.now());
  if (opened.get(channel.key) === channel) {
    opened.delete(channel.key);
    channels.delete(channel.key);
  }
}
let memoryCounter = 0;
/** Crash tests only (not exported from the package): a kill point armed in the next worker before it opens. */
let killPointOnNextOpen: string | null = null;

/** Test hook: the next worker started stops dead at `point` while opening (e.g. in its bootstrap). */
export function armKillPointOnNextOpenForTesting(point: string | null): void {
  killPointOnNextOpen = point;
}

function startWorker(path: string): Worker {
  if (typeof Worker === 'undefined') {
    throw new WalsyncError('OPFS_UNAVAILABLE', 'walsync needs Web Workers; this environment has none');
  }
  const warm = takePrewarmedWorker();
  if (warm) return warm;
  // A connect() before the prewarm's microtask (an app connecting as its module runs) starts the
  // worker itself: the prewarm must not start a second one.
  prewarmDue = false;
  return new Worker(new URL('../worker/index.js', import.meta.url), { type: 'module', name: `walsync ${path}` });
}

/** True while this tab has (or is opening) the OPFS database at `path`. */
export function isOpenInThisTab(path: string): boolean {
  return channels.has(`opfs:${path}`);
}


/**
 * Cold start: the first connect() of a page should not wait for the worker's script and SQLite's
 * wasm (fetched and compiled with streaming, served from the code cache on repeat visits), so one
 * worker starts as soon as this module is first evaluated in a page's main thread, and the first
 * connect() adopts it. It starts in a microtask (after the importing modules have run) and only in
 * a window with `document` (never in a worker, Node or a service worker). An app that imports
 * walsync and does not connect within PREWARM_IDLE_MS gets it terminated: no worker is kept alive
 * for nothing. Only the first worker is prewarmed; later ones start at connect().
 */
const PREWARM_IDLE_MS = 10_000;
let prewarmed: { worker: Worker; timer: ReturnType<typeof setTimeout> } | null = null;
let prewarmDue = false;

function prewarm(): void {
  if (!prewarmDue) return;
  prewarmDue = false;
  try {
    const worker = new Worker(new URL('../worker/index.js', import.meta.url), { type: 'module', name: 'walsync' });
    const timer = setTimeout(() => {
      if (prewarmed?.worker !== worker) return;
      prewarmed = null;
      worker.terminate();
    }, PREWARM_IDLE_MS);
    prewarmed = { worker, timer };
  } catch {
    // A page that may not start workers (CSP): connect() reports it then.
  }
}

function takePrewarmedWorker(): Worker | null {
  const warm = prewarmed;
  if (!warm) return null;
  prewarmed = null;
  clearTimeout(warm.timer);
  return warm.worker;
}

if (typeof window !== 'undefined' && typeof document !== 'undefined' && typeof Worker !== 'undefined') {
  prewarmDue = true;
  queueMicrotask(prewarm);
}

/** The worker's start-up steps of the last database this page opened (see OpenResult.startup); for the benchmark. */
export let lastOpenStartup: OpenResult['startup'] | null = null;

/** Returns the channel for `request.path`, starting and opening a worker if this tab has none yet. */
export async function acquireChannel(request: OpenRequest, callbacks?: SyncCallbacks): Promise<WorkerChannel> {
  installErrorTransfer();
  const key = request.storage === 'memory' ? `:memory:#${++memoryCounter}` : `${request.storage}:${request.path}`;
  let pending = channels.get(key);
  if (!pending) {
    // Retry files still held only when our own worker for this path just stopped, in this page or
    // before a reload of this tab (the browser releases a stopped worker's files asynchronously); a
    // database another tab holds fails at once with DATABASE_LOCKED.
    const stopped = stoppedAt.get(key);
    const recent = stopped !== undefined ? Date.now() - stopped < RECENT_STOP_MS : heldBeforeReload(key);
    const lockWaitMs = recent && request.storage !== 'memory' ? LOCK_WAIT_AFTER_STOP_MS : 0;
    pending = (async () => {
      const channel = new WorkerChannel(key, startWorker(request.path));
      try {
        // Sent together, not one round trip after another: the worker takes its liveness lock
        // beside its queue, and calls are handled in the order sent (the kill point before open).
        const watching = channel.watchLiveness();
        const armed = killPointOnNextOpen;
        killPointOnNextOpen = null;
        const arming = armed !== null ? channel.call((api) => api.armKillPointForTesting(armed)) : Promise.resolve();
        const opening = channel.call((api) => api.open({ ...request, lockWaitMs }, callbacks ? proxy(callbacks) : undefined));
        const [, , result] = await Promise.all([watching, arming, opening]);
        lastOpenStartup = result.startup;
      } catch (e) {
        channel.terminate();
        throw e;
      }
      if (channel.alive) {
        opened.set(key, channel);
        if (request.storage !== 'memory') markHeld(key, true);
      }
      return channel;
    })();
    channels.set(key, pending);
    pending.catch(() => {
      if (channels.get(key) === pending) channels.delete(key);
    });
  }
  const channel = await pending;
  if (!channel.alive) {
    // The worker died between opening and now: the caller gets a fresh one.
    if (channels.get(key) === pending) channels.delete(key);
    return acquireChannel(request, callbacks);
  }
  channel.refs++;
  return channel;
}

/** Drops one reference; the last one closes the database and stops the worker. */
export async function releaseChannel(channel: WorkerChannel): Promise<void> {
  channel.refs--;
  if (channel.refs > 0) return;
  forget(channel);
  try {
    if (channel.alive) await channel.call((api) => api.close());
  } finally {
    channel.terminate();
    if (!channels.has(channel.key)) markHeld(channel.key, false);
  }
}
