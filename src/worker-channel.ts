/**
 * The facade's link to the worker that owns a database. One channel per database path per tab:
 * two connect() calls for the same path share it, and it stops when the last of them closes.
 *
 * OPFS databases are shared by every tab of the origin: the tab holding the Web Lock
 * `walsync:leader:<key>` (the leader) runs the database in its own dedicated worker; every other
 * tab (a follower) sends its calls to that worker over a MessagePort, as one session of it, and
 * queues for the lock. When the leader's tab goes away, the next tab in the queue opens the
 * database and serves the others; followers' channels relink to it by themselves.
 *
 * Past ~400 lines on purpose: one class, whose leading (lead, serveFollowers) and following
 * (follow) halves both drive the same private link state (#link, its generation, its waiters), so
 * splitting them would expose that state. Around it, in their own files: the link itself
 * (worker-link.ts), starting the worker (worker-start.ts), opening and releasing a channel
 * (acquire-channel.ts, open-channels.ts) and the test hooks (testing-hooks.ts).
 */
import { type Endpoint, type Remote, proxy, transfer } from 'comlink';
import { WalsyncError, deserializeError, isWalsyncError, serializeError, type SerializedWalsyncError } from '../contract/errors.js';
import type { OpenRequest, SyncCallbacks, WorkerApi } from '../contract/worker-api.js';
import { AsyncLock } from './async-lock.js';
import { SharedStatementCaller } from './statement-calls.js';
import type { StatementOp } from '../contract/statement-calls.js';
import {
  type BusMessage,
  type ConnectRequest,
  RelayEndpoint,
  type SharedOptions,
  lockManager,
  onBrokeredConnect,
  optionsConflict,
  randomId,
  sendBrokeredConnect,
  tabId,
  usesSharedWorker,
  whenLockFree,
} from './tab-links.js';
import { WorkerLink } from './worker-link.js';
import { Tripwire } from './tripwire.js';
import { startWorker } from './worker-start.js';
import { forget } from './open-channels.js';
import { noteOpenStartup, takeKillPointOnNextOpen, takeWorkerForNextOpen } from './testing-hooks.js';

/** The error of a call that was with a leader that went away (see the README's error table). */
export function leaderChanged(mayHaveBeenApplied: boolean, key: string): WalsyncError {
  return new WalsyncError(
    'LEADER_CHANGED',
    mayHaveBeenApplied
      ? 'the tab that owned the database went away while this call was with it: it may have been applied'
      : 'the tab that owned the database went away before this call ran: it was not applied',
    { context: { mayHaveBeenApplied, key } },
  );
}

/**
 * While a push or pull waits for the sync lock, how often it asks the background loop to cut a
 * held long poll: the loop may start a new poll between the first ask and the lock coming free.
 */
const SYNC_LOCK_NUDGE_MS = 100;

export class WorkerChannel {
  readonly key: string;
  /** Serializes the facade's operations on this database (transactions hold it throughout). */
  readonly lock = new AsyncLock();
  readonly #syncLockInTab = new AsyncLock();
  /**
   * One push or pull at a time: their phases interleave with other calls, never with each other.
   * Shared databases take a Web Lock too, so pushes and pulls of different tabs never interleave.
   */
  readonly syncLock: {
    /** `whileWaiting`: called at once and every SYNC_LOCK_NUDGE_MS until the lock is ours. */
    run<T>(work: () => Promise<T>, whileWaiting?: () => void): Promise<T>;
  };
  #link: WorkerLink | null = null;
  #generation = 0;
  #linkWaiters = new Set<() => void>();
  readonly #listeners = new Map<string, Set<(data: unknown) => void>>();
  readonly #relinkListeners = new Set<() => void>();
  /** Trips when the channel dies for good: what calls race against (see tripwire.ts). */
  readonly #deadWire = new Tripwire();
  #deadReason: WalsyncError | null = null;
  #terminated = false;
  /** This tab's own worker, while it leads. */
  #worker: Worker | null = null;
  /** The Web Lock the own worker holds for its life (followers watch it). */
  #livenessLock: string | null = null;
  /** Locks, listeners and timers to let go of when the channel stops. */
  readonly #cleanups: (() => void)[] = [];
  refs = 0;

  constructor(key: string, shared: boolean) {
    this.key = key;
    this.syncLock = {
      run: <T>(work: () => Promise<T>, whileWaiting?: () => void): Promise<T> => {
        whileWaiting?.();
        const nudge = whileWaiting ? setInterval(whileWaiting, SYNC_LOCK_NUDGE_MS) : null;
        const acquired = <R>(then: () => Promise<R>): Promise<R> => {
          if (nudge !== null) clearInterval(nudge);
          return then();
        };
        const run = this.#syncLockInTab.run(() =>
          shared ? (lockManager()!.request(`walsync:sync:${key}`, () => acquired(work)) as Promise<T>) : acquired(work),
        );
        // A failure before the lock was ours (a lock manager gone with the page) stops the nudges too.
        return run.finally(() => nudge !== null && clearInterval(nudge));
      },
    };
  }

  get alive(): boolean {
    return this.#deadReason === null;
  }

  /** True while this tab's own worker owns the database (always, for databases not shared between tabs). */
  get leading(): boolean {
    return this.#link?.own === true;
  }

  /** How statement calls travel now: 'shared' (SharedArrayBuffer, isolated pages) or 'port' (postMessage). */
  get statementTransport(): 'shared' | 'port' {
    return this.#link?.statements.transport ?? 'port';
  }

  /** For the benchmark: the shared-memory transport's counters (null on the port transport). */
  get sharedCallCounters(): Readonly<Record<'calls' | 'kicks' | 'parks' | 'spills' | 'servedUs', number>> | null {
    const statements = this.#link?.statements;
    return statements instanceof SharedStatementCaller ? statements.counters : null;
  }

  /** The link's generation: a new one each time the channel reaches the database another way. */
  get generation(): number {
    return this.#link?.generation ?? -1;
  }

  /**
   * Listens for the worker's own messages of `type` (not Comlink's answers), e.g. the
   * `walsync:tables-changed` notices of live queries. Returns the function that stops listening.
   */
  onWorkerMessage(type: string, listener: (data: unknown) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Called each time the channel reaches the database through a new link (after a leader change). */
  onRelink(listener: () => void): () => void {
    this.#relinkListeners.add(listener);
    return () => this.#relinkListeners.delete(listener);
  }

  #dispatch(data: unknown): void {
    const type = (data as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') return;
    const set = this.#listeners.get(type);
    if (set) for (const listener of [...set]) listener(data);
  }

  /**
   * Calls the worker; rejects instead of hanging if it dies meanwhile. A follower's call waits
   * while there is no leader and goes to the next one; a call the leader reports it did not run
   * (it closed the database) goes to the next one too.
   */
  call<T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.#deadReason) return Promise.reject(this.#deadReason);
    const link = this.#link;
    if (!link) return this.#nextLink(null).then(() => this.call(op));
    const result = Tripwire.race(op(link.methods), link.lostWire, this.#deadWire);
    if (link.own) return result;
    return result.catch((e: unknown) => {
      if (isWalsyncError(e, 'LEADER_CHANGED') && e.context.mayHaveBeenApplied === false) return this.#nextLink(link).then(() => this.call(op));
      throw e;
    });
  }

  /**
   * Calls the worker only through the link of `generation` (a transaction's calls: its BEGIN was
   * there). After a leader change they reject with LEADER_CHANGED: the new leader never saw the
   * transaction, which the old one's end rolled back.
   */
  callIn<T>(generation: number, op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.#deadReason) return Promise.reject(this.#deadReason);
    const link = this.#link;
    if (!link || link.generation !== generation) return Promise.reject(leaderChanged(false, this.key));
    return Tripwire.race(op(link.methods), link.lostWire, this.#deadWire);
  }

  /**
   * A statement call (run/get/all/exec/batch…) by op code, as call() does it but without its
   * per-call Promise.race: the link's statement transport itself rejects every call in flight or
   * queued when the link breaks (WorkerLink.break, which terminate() and every relink call).
   */
  statement(op: StatementOp, a?: unknown, b?: unknown): Promise<unknown> {
    if (this.#deadReason) return Promise.reject(this.#deadReason);
    const link = this.#link;
    if (!link) return this.#nextLink(null).then(() => this.statement(op, a, b));
    const result = link.statements.call(op, a, b);
    if (link.own) return result;
    return result.catch((e: unknown) => {
      if (isWalsyncError(e, 'LEADER_CHANGED') && e.context.mayHaveBeenApplied === false) return this.#nextLink(link).then(() => this.statement(op, a, b));
      throw e;
    });
  }

  /** callIn() for a statement call (see statement()). */
  statementIn(generation: number, op: StatementOp, a?: unknown, b?: unknown): Promise<unknown> {
    if (this.#deadReason) return Promise.reject(this.#deadReason);
    const link = this.#link;
    if (!link || link.generation !== generation) return Promise.reject(leaderChanged(false, this.key));
    return link.statements.call(op, a, b);
  }

  /** Waits for a link (not `previous`); the generation of the link calls now go to. */
  async linkGeneration(): Promise<number> {
    if (!this.#link) await this.#nextLink(null);
    return this.#link!.generation;
  }

  #nextLink(previous: WorkerLink | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.#deadReason) {
          this.#linkWaiters.delete(check);
          reject(this.#deadReason);
        } else if (this.#link && this.#link !== previous) {
          this.#linkWaiters.delete(check);
          resolve();
        }
      };
      this.#linkWaiters.add(check);
      check();
    });
  }

  #setLink(link: WorkerLink): void {
    const previous = this.#link;
    this.#link = link;
    if (previous && previous !== link) previous.break(leaderChanged(true, this.key));
    for (const waiter of [...this.#linkWaiters]) waiter();
    if (previous) for (const listener of [...this.#relinkListeners]) listener();
  }

  #dropLink(link: WorkerLink, reason: WalsyncError): void {
    if (this.#link === link) this.#link = null;
    link.break(reason);
  }

  #newGeneration(): number {
    return ++this.#generation;
  }

  /** Stops the channel at once (used on close, and by crash tests to simulate a killed tab). */
  terminate(reason = new WalsyncError('DATABASE_CLOSED', 'the database is closed')): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#die(reason);
    this.#link?.break(reason);
    this.#worker?.terminate();
    // Once the worker is gone (and only then) another tab may lead: the lock goes with the cleanups.
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch {
        // Cleanups only let go of things.
      }
    }
  }

  #die(reason: WalsyncError): void {
    if (this.#deadReason) return;
    this.#deadReason = reason;
    forget(this);
    this.#deadWire.trip(reason);
    for (const waiter of [...this.#linkWaiters]) waiter();
  }

  // ── leading ────────────────────────────────────────────────────────────────────────────────

  /**
   * Opens the database in this tab's own worker and makes it the channel's link. `lockWaitMs`:
   * how long to retry files another context still holds (a leader that just went away).
   */
  async lead(request: OpenRequest, callbacks: SyncCallbacks | undefined, lockWaitMs: number): Promise<void> {
    const worker = takeWorkerForNextOpen()?.(request.path) ?? startWorker(request.path);
    this.#worker = worker;
    const link = new WorkerLink(worker as unknown as Endpoint, {
      own: true,
      generation: this.#newGeneration(),
      leaderId: tabId,
      onBreak: () => undefined,
    });
    // Crash tests: a worker that reached an armed kill point asks to be killed on the spot.
    worker.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as { type?: string; point?: string; metadataBeforeLastWriteJson?: string | null } | null;
      if (data && data.type === 'walsync:kill-point') {
        const context = { metadataBeforeLastWriteJson: data.metadataBeforeLastWriteJson ?? null };
        this.terminate(new WalsyncError('DATABASE_CLOSED', `the worker was killed at ${data.point} (crash test)`, { context }));
      } else {
        this.#dispatch(data);
      }
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.terminate(new WalsyncError('DATABASE_CLOSED', `the database worker failed: ${event.message || 'unknown error'}`));
    });
    const call = <T>(op: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> => Tripwire.race(op(link.methods), link.lostWire, this.#deadWire);
    // Sent together, not one round trip after another: the worker takes its liveness lock beside
    // its queue, and calls are handled in the order sent (the kill point before open).
    const watching = this.#watchOwnWorker(call);
    const armed = takeKillPointOnNextOpen();
    const arming = armed !== null ? call((api) => api.armKillPointForTesting(armed)) : Promise.resolve();
    const opening = call((api) => api.open({ ...request, lockWaitMs }, callbacks ? proxy(callbacks) : undefined));
    const [, , result] = await Promise.all([watching, arming, opening]);
    noteOpenStartup(result.startup);
    if (!this.alive) throw this.#deadReason;
    this.#setLink(link);
  }

  /**
   * Watches for the own worker's death however it happens (terminated behind our back, out of
   * memory, crashed): nothing reaches the page then, so the worker holds a Web Lock for its whole
   * life and we queue for the same lock; the browser grants it to us the moment the worker's
   * context goes away, and every call in flight or queued rejects with DATABASE_CLOSED. Followers
   * watch the same lock. This costs nothing while the worker lives (no heartbeat).
   */
  async #watchOwnWorker(call: <T>(op: (api: Remote<WorkerApi>) => Promise<T>) => Promise<T>): Promise<void> {
    if (!lockManager()) return;
    const name = `walsync:worker-alive:${this.key}:${randomId()}`;
    if (!(await call((api) => api.holdLivenessLock(name)))) return;
    this.#livenessLock = name;
    whenLockFree(name, () => this.terminate(new WalsyncError('DATABASE_CLOSED', 'the database worker stopped (it was terminated or crashed)', { context: { key: this.key } })));
  }

  /** Serves follower tabs: announces this tab as leader and attaches each follower to the worker. */
  serveFollowers(bus: BroadcastChannel, options: SharedOptions): void {
    const relays = new Map<string, MessagePort>();
    const attach = (request: ConnectRequest, port: MessagePort, refuse: (error: SerializedWalsyncError) => void): void => {
      const conflict = optionsConflict(options, request.options);
      if (conflict) {
        refuse(serializeError(new WalsyncError('INVALID_ARGUMENT', `connect(): this database is open in another tab with other options; this tab asked for ${conflict}. Every tab must open it with the same options.`, { context: { key: this.key } })));
        port.close();
        return;
      }
      const link = this.#link;
      if (!link?.own) return;
      const livenessLock = this.#livenessLock ?? '';
      void link.methods
        .attachSession(transfer(port, [port]), { sessionId: request.sid, lockName: request.lockName, welcome: { leaderId: tabId, livenessLock } })
        .catch(() => undefined);
    };
    const onBus = (event: MessageEvent): void => {
      const m = event.data as BusMessage;
      if (m.t === 'who') {
        bus.postMessage({ t: 'leader', id: tabId } satisfies BusMessage);
      } else if (m.t === 'connect' && m.to === tabId) {
        relays.get(m.request.sid)?.close();
        const channel = new MessageChannel();
        const sid = m.request.sid;
        relays.set(sid, channel.port1);
        channel.port1.onmessage = (e) => bus.postMessage({ t: 'to-follower', from: tabId, sid, data: e.data } satisfies BusMessage);
        attach(m.request, channel.port2, (error) =>
          bus.postMessage({ t: 'to-follower', from: tabId, sid, data: { type: 'walsync:refused', error } } satisfies BusMessage),
        );
      } else if (m.t === 'to-leader' && m.to === tabId) {
        relays.get(m.sid)?.postMessage(m.data);
      }
    };
    bus.addEventListener('message', onBus);
    const stopBroker = usesSharedWorker()
      ? onBrokeredConnect(this.key, (request, port) => attach(request, port, (error) => port.postMessage({ type: 'walsync:refused', error })))
      : () => undefined;
    this.#cleanups.push(() => {
      bus.removeEventListener('message', onBus);
      stopBroker();
      for (const port of relays.values()) port.close();
    });
    bus.postMessage({ t: 'leader', id: tabId } satisfies BusMessage);
  }

  // ── following ──────────────────────────────────────────────────────────────────────────────

  /**
   * Follows whichever tab leads: asks who leads, connects to it, and connects again to each new
   * leader announced. Resolves once the first link is up; rejects if the leader refuses this tab
   * (its options conflict). `stopped` ends it (this tab became leader, or the channel closed).
   */
  follow(bus: BroadcastChannel, options: SharedOptions, sessionLock: string, stopped: AbortSignal): Promise<void> {
    const sid = randomId();
    let pending: { leaderId: string; since: number; close: () => void } | null = null;
    return new Promise<void>((resolveFirst, rejectFirst) => {
      const connectTo = (leaderId: string): void => {
        if (stopped.aborted || leaderId === tabId) return;
        const current = this.#link;
        if (current && !current.own && current.leaderId === leaderId && !current.broken) return;
        if (pending && pending.leaderId === leaderId && Date.now() - pending.since < 2000) return;
        pending?.close();
        // A new leader: the old one is gone, so calls still with it will never be answered.
        if (current && !current.own && current.leaderId !== leaderId) this.#dropLink(current, leaderChanged(true, this.key));
        const relay = !usesSharedWorker();
        const request: ConnectRequest = { key: this.key, sid, lockName: sessionLock, options, relay };
        let endpoint: Endpoint & { close(): void };
        if (relay) {
          endpoint = new RelayEndpoint(bus, sid, leaderId);
        } else {
          const channel = new MessageChannel();
          endpoint = channel.port1;
          channel.port1.start();
          sendBrokeredConnect(leaderId, request, channel.port2);
        }
        const attempt = { leaderId, since: Date.now(), close: () => endpoint.close() };
        pending = attempt;
        const onFirst = (event: MessageEvent): void => {
          const data = event.data as { type?: string; leaderId?: string; livenessLock?: string; error?: SerializedWalsyncError } | null;
          if (data?.type !== 'walsync:welcome' && data?.type !== 'walsync:refused') return;
          endpoint.removeEventListener('message', onFirst as EventListener);
          if (pending !== attempt || stopped.aborted) {
            endpoint.close();
            return;
          }
          pending = null;
          if (data.type === 'walsync:refused') {
            endpoint.close();
            const error = deserializeError(data.error!);
            if (!this.#link) rejectFirst(error);
            this.terminate(error);
            return;
          }
          const link: WorkerLink = new WorkerLink(endpoint, {
            own: false,
            generation: this.#newGeneration(),
            leaderId,
            onBreak: () => endpoint.close(),
          });
          endpoint.addEventListener('message', ((e: MessageEvent) => this.#dispatch(e.data)) as EventListener);
          // The leader's worker holds this lock for its life: it comes free when that worker is gone.
          if (data.livenessLock) {
            whenLockFree(data.livenessLock, () => {
              if (link.broken) return;
              this.#dropLink(link, leaderChanged(true, this.key));
              ask();
            });
          }
          this.#setLink(link);
          resolveFirst();
        };
        endpoint.addEventListener('message', onFirst as EventListener);
        if (relay) bus.postMessage({ t: 'connect', to: leaderId, request } satisfies BusMessage);
      };
      const ask = (): void => {
        if (!stopped.aborted) bus.postMessage({ t: 'who' } satisfies BusMessage);
      };
      const onBus = (event: MessageEvent): void => {
        const m = event.data as BusMessage;
        if (m.t === 'leader') connectTo(m.id);
      };
      bus.addEventListener('message', onBus);
      // Messages can be lost to a leader that was just going away: while unlinked, ask again.
      const timer = setInterval(() => {
        if (!this.#link || this.#link.broken) ask();
      }, 250);
      const stop = (): void => {
        bus.removeEventListener('message', onBus);
        clearInterval(timer);
        pending?.close();
        pending = null;
      };
      stopped.addEventListener('abort', stop, { once: true });
      this.#cleanups.push(stop);
      ask();
    });
  }

  /** Registers something to let go of when the channel stops. */
  onStop(cleanup: () => void): void {
    if (this.#terminated) cleanup();
    else this.#cleanups.push(cleanup);
  }

  /** Closes the database if this tab owns it (followers only end their session), then stops. */
  async close(): Promise<void> {
    const link = this.#link;
    try {
      if (link?.own && this.alive) await this.call((api) => api.close());
    } finally {
      this.terminate();
    }
  }
}
