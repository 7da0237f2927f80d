/**
 * The facade's link to a database worker. One worker per database path per tab: two connect() calls
 * for the same path share it (and its lock), and it stops when the last of them closes.
 */
import { type Remote, proxy, releaseProxy, wrap } from 'comlink';
import { WalsyncError } from '../worker/errors.js';
import { installErrorTransfer } from '../worker/rpc-errors.js';
import type { OpenRequest, SyncCallbacks, WorkerApi } from '../worker/rpc.js';
import { AsyncLock } from './async-lock.js';

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
  readonly #dead: Promise<never>;
  #kill!: (e: WalsyncError) => void;
  #deadReason: WalsyncError | null = null;
  refs = 0;

  constructor(key: string, worker: Worker) {
    this.key = key;
    this.#worker = worker;
    this.#api = wrap<WorkerApi>(worker);
    const cache = new Map<PropertyKey, unknown>();
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
      const data = event.data as { type?: string; point?: string } | null;
      if (data && data.type === 'walsync:kill-point') {
        this.terminate(new WalsyncError('DATABASE_CLOSED', `the worker was killed at ${data.point} (crash test)`));
      }
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#die(new WalsyncError('DATABASE_CLOSED', `the database worker failed: ${event.message || 'unknown error'}`));
    });
  }

  get alive(): boolean {
    return this.#deadReason === null;
  }

  /** Calls the worker; rejects instead of hanging if the worker dies meanwhile. */
  call<T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.#deadReason) return Promise.reject(this.#deadReason);
    return Promise.race([op(this.#methods), this.#dead]);
  }

  /** Stops the worker at once (used on close, and by crash tests to simulate a killed tab). */
  terminate(reason = new WalsyncError('DATABASE_CLOSED', 'the database is closed')): void {
    this.#die(reason);
    this.#api[releaseProxy]();
    this.#worker.terminate();
  }

  #die(reason: WalsyncError): void {
    if (this.#deadReason) return;
    this.#deadReason = reason;
    channels.delete(this.key);
    this.#kill(reason);
  }
}

const channels = new Map<string, Promise<WorkerChannel>>();
let memoryCounter = 0;

function startWorker(path: string): Worker {
  if (typeof Worker === 'undefined') {
    throw new WalsyncError('OPFS_UNAVAILABLE', 'walsync needs Web Workers; this environment has none');
  }
  return new Worker(new URL('../worker/index.js', import.meta.url), { type: 'module', name: `walsync ${path}` });
}

/** True while this tab has (or is opening) the OPFS database at `path`. */
export function isOpenInThisTab(path: string): boolean {
  return channels.has(`opfs:${path}`);
}

/** Returns the channel for `request.path`, starting and opening a worker if this tab has none yet. */
export async function acquireChannel(request: OpenRequest, callbacks?: SyncCallbacks): Promise<WorkerChannel> {
  installErrorTransfer();
  const key = request.storage === 'memory' ? `:memory:#${++memoryCounter}` : `${request.storage}:${request.path}`;
  let pending = channels.get(key);
  if (!pending) {
    pending = (async () => {
      const channel = new WorkerChannel(key, startWorker(request.path));
      try {
        await channel.call((api) => api.open(request, callbacks ? proxy(callbacks) : undefined));
      } catch (e) {
        channel.terminate();
        throw e;
      }
      return channel;
    })();
    channels.set(key, pending);
    pending.catch(() => channels.delete(key));
  }
  const channel = await pending;
  channel.refs++;
  return channel;
}

/** Drops one reference; the last one closes the database and stops the worker. */
export async function releaseChannel(channel: WorkerChannel): Promise<void> {
  channel.refs--;
  if (channel.refs > 0) return;
  channels.delete(channel.key);
  try {
    if (channel.alive) await channel.call((api) => api.close());
  } finally {
    channel.terminate();
  }
}
