/**
 * What tabs of one origin use to share a database: Web Locks (who leads, who is alive), a
 * BroadcastChannel per database (the leader announces itself; followers ask for it), and a
 * SharedWorker broker that hands a follower's MessagePort to the leader's tab, which gives it to its
 * worker. Where there is no SharedWorker (or a test forces it), the follower's calls travel over the
 * BroadcastChannel and the leader tab relays them to its worker through a MessagePort of its own.
 */
import type { Endpoint } from 'comlink';

/** This tab's id among the tabs of the origin (a follower addresses its leader by it). */
export const tabId = randomId();

export function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function lockManager(): LockManager | null {
  return (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks ?? null;
}

/** A Web Lock held until `release()`. */
export interface HeldLock {
  release(): void;
}

/**
 * Requests the Web Lock `name`; resolves once it is held (null with `ifAvailable` when another
 * context holds it). A queued request rejects with an AbortError when `signal` aborts first.
 */
export function acquireLock(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal } = {}): Promise<HeldLock | null> {
  const locks = lockManager()!;
  return new Promise<HeldLock | null>((resolve, reject) => {
    locks
      .request(name, options, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve({ release: () => release() }));
      })
      .catch(reject);
  });
}

/** Calls `onFree` once the Web Lock `name` is free (at once if nobody holds it): its holder is gone. */
export function whenLockFree(name: string, onFree: () => void, signal?: AbortSignal): void {
  lockManager()
    ?.request(name, signal ? { signal } : {}, () => onFree())
    .catch(() => undefined);
}

/** Messages on a database's BroadcastChannel. */
export type BusMessage =
  | { readonly t: 'who' }
  | { readonly t: 'leader'; readonly id: string }
  | { readonly t: 'connect'; readonly to: string; readonly request: ConnectRequest }
  | { readonly t: 'to-leader'; readonly to: string; readonly sid: string; readonly data: unknown }
  | { readonly t: 'to-follower'; readonly from: string; readonly sid: string; readonly data: unknown };

/** A follower asks the leader to serve it. */
export interface ConnectRequest {
  readonly key: string;
  readonly sid: string;
  /** The Web Lock the follower holds for its life. */
  readonly lockName: string;
  /** The options that must match the leader's (see optionsConflict). */
  readonly options: SharedOptions;
  /** True when the follower's calls come over the BroadcastChannel (no port). */
  readonly relay: boolean;
}

/** The open options every tab of a database must agree on. */
export interface SharedOptions {
  readonly synchronous: string;
  readonly sync: {
    readonly url: string | null;
    readonly clientName: string;
    readonly tablesIgnore: readonly string[];
    readonly hasTransform: boolean;
    readonly hasFetch: boolean;
  } | null;
}

/**
 * Why a follower's options cannot be served by this leader, or null. Only what one database can
 * have once is compared: durability and, when both sync, the server (when both know it), the
 * client name, ignored tables and whether a transform or fetch hook exists. A follower without a
 * url uses the leader's sync as it is (its own push/pull refuse with SYNC_NOT_CONFIGURED).
 */
export function optionsConflict(leader: SharedOptions, follower: SharedOptions): string | null {
  if (leader.synchronous !== follower.synchronous) return `durability "${follower.synchronous}" (it was opened with "${leader.synchronous}")`;
  const a = leader.sync;
  const b = follower.sync;
  if (!b) return null;
  if (!a) return 'a "url" (it was opened without one)';
  if (a.url !== null && b.url !== null && a.url !== b.url) return `url ${b.url} (it was opened with ${a.url})`;
  if (a.clientName !== b.clientName) return `clientName "${b.clientName}" (it was opened with "${a.clientName}")`;
  if ([...a.tablesIgnore].sort().join('\u0000') !== [...b.tablesIgnore].sort().join('\u0000')) return 'another tablesIgnore list';
  if (a.hasTransform !== b.hasTransform) return b.hasTransform ? 'a transform (it was opened without one)' : 'no transform (it was opened with one)';
  if (a.hasFetch !== b.hasFetch) return b.hasFetch ? 'a fetch option (it was opened without one)' : 'no fetch option (it was opened with one)';
  return null;
}

let forcedRelay = false;

/** Test hook: tabs use the BroadcastChannel relay even where SharedWorker exists. */
export function forceBroadcastChannelRelayForTesting(force: boolean): void {
  forcedRelay = force;
}

/** Which path this tab takes to another tab's worker. */
export function usesSharedWorker(): boolean {
  return !forcedRelay && typeof SharedWorker !== 'undefined' && broker() !== null;
}

let brokerPort: MessagePort | null | undefined;
const brokerHandlers = new Map<string, (request: ConnectRequest, port: MessagePort) => void>();

/** The broker's port, registered under this tab's id (null where no SharedWorker can start). */
function broker(): MessagePort | null {
  if (brokerPort !== undefined) return brokerPort;
  try {
    const worker = new SharedWorker(new URL('./tab-broker.js', import.meta.url), { type: 'module', name: 'walsync tab broker' });
    // A broker script that cannot load (a bundler that did not emit it): every tab relays instead
    // (a leader serves both paths; a follower's next connect attempt takes the relay).
    worker.addEventListener('error', () => {
      brokerPort = null;
    });
    brokerPort = worker.port;
    brokerPort.onmessage = (event: MessageEvent) => {
      const request = event.data as ConnectRequest;
      const port = event.ports[0];
      if (port) brokerHandlers.get(request.key)?.(request, port);
    };
    brokerPort.start();
    brokerPort.postMessage({ register: tabId });
  } catch {
    brokerPort = null;
  }
  return brokerPort;
}

/** Leader side: hears connect requests with ports for `key` (until the returned function is called). */
export function onBrokeredConnect(key: string, handler: (request: ConnectRequest, port: MessagePort) => void): () => void {
  broker();
  brokerHandlers.set(key, handler);
  return () => {
    if (brokerHandlers.get(key) === handler) brokerHandlers.delete(key);
  };
}

/** Follower side: sends `request` with `port` to the leader tab `to` through the broker. */
export function sendBrokeredConnect(to: string, request: ConnectRequest, port: MessagePort): void {
  broker()!.postMessage({ to, payload: request }, [port]);
}

/** A follower's end of the relay: Comlink's endpoint over the database's BroadcastChannel. */
export class RelayEndpoint implements Endpoint {
  readonly #bus: BroadcastChannel;
  readonly #sid: string;
  readonly #leaderId: string;
  readonly #listeners = new Set<EventListenerOrEventListenerObject>();
  readonly #onBus: (event: MessageEvent) => void;

  constructor(bus: BroadcastChannel, sid: string, leaderId: string) {
    this.#bus = bus;
    this.#sid = sid;
    this.#leaderId = leaderId;
    this.#onBus = (event) => {
      const m = event.data as BusMessage;
      if (m.t !== 'to-follower' || m.sid !== sid || m.from !== leaderId) return;
      const delivered = { data: m.data } as MessageEvent;
      for (const listener of [...this.#listeners]) {
        if (typeof listener === 'function') listener(delivered);
        else listener.handleEvent(delivered);
      }
    };
    bus.addEventListener('message', this.#onBus);
  }

  postMessage(data: unknown): void {
    const message: BusMessage = { t: 'to-leader', to: this.#leaderId, sid: this.#sid, data };
    this.#bus.postMessage(message);
  }

  addEventListener(_type: string, listener: EventListenerOrEventListenerObject): void {
    this.#listeners.add(listener);
  }

  removeEventListener(_type: string, listener: EventListenerOrEventListenerObject): void {
    this.#listeners.delete(listener);
  }

  close(): void {
    this.#bus.removeEventListener('message', this.#onBus);
    this.#listeners.clear();
  }
}
