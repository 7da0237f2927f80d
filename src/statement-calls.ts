/**
 * The facade's side of statement calls (contract/statement-calls.ts): a compact request/answer
 * protocol over the worker's endpoint (one postMessage each way, no Comlink proxies), and, when the
 * page is cross-origin isolated and talks to its own dedicated worker, a SharedArrayBuffer channel
 * that skips the message loop altogether for calls whose request and answer fit in it.
 */
import { WalsyncError, deserializeError, type SerializedWalsyncError } from '../contract/errors.js';
import {
  BinaryReader,
  BinaryWriter,
  CONTROL,
  CannotEncode,
  SharedCallLayout as L,
  SharedState,
  StatementOp,
  Status,
  readAnswer,
  writeRequest,
  type CallEndpoint,
} from '../contract/statement-calls.js';
import type { BatchRequest } from '../contract/worker-api.js';

export type { CallEndpoint };

/** Makes statement calls by op code (the transports below). */
export interface StatementCaller {
  readonly transport: 'shared' | 'port';
  call(op: number, a?: unknown, b?: unknown): Promise<unknown>;
  /** Stops: calls in flight and later reject with `reason`. */
  close(reason: WalsyncError): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: unknown): void;
}

/** Batch requests hand their typed arrays over instead of copying them (the facade does not reuse them). */
function requestTransfer(op: number, a: unknown): Transferable[] {
  if (op !== StatementOp.Batch) return [];
  const r = a as BatchRequest;
  return [r.sqlIndex.buffer, r.argCount.buffer];
}

/** Statement calls over postMessage: `[id, op, a, b]` out, `[id, status, value]` back. */
export class PortStatementCaller implements StatementCaller {
  readonly transport = 'port' as const;
  readonly #endpoint: CallEndpoint;
  readonly #post: (message: unknown, transfer: Transferable[]) => void;
  readonly #pending = new Map<number, Pending>();
  readonly #listener: (event: MessageEvent) => void;
  #nextId = 1;
  #closed: WalsyncError | null = null;

  /** `post` sends to the endpoint (the channel's own, which may also wake the worker's shared loop). */
  constructor(endpoint: CallEndpoint, post: (message: unknown, transfer: Transferable[]) => void = (m, t) => endpoint.postMessage(m, t)) {
    this.#endpoint = endpoint;
    this.#post = post;
    this.#listener = (event) => {
      const data = event.data as unknown[];
      if (!Array.isArray(data)) return;
      this.settle(data[0] as number, data[1] as number, data[2]);
    };
    endpoint.addEventListener('message', this.#listener);
  }

  /** Settles call `id` with an answer that arrived (by postMessage, or spilled from shared memory). */
  settle(id: number, status: number, value: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (status === Status.Ok) pending.resolve(value);
    else pending.reject(deserializeError(value as SerializedWalsyncError));
  }

  /** A new id whose answer `expect` will receive. */
  newId(): number {
    const id = this.#nextId;
    this.#nextId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  /** Waits for the answer of call `id`, sent by whoever made the request. */
  expect(id: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** Drops the wait for call `id` (its answer came another way). */
  forget(id: number): void {
    this.#pending.delete(id);
  }

  call(op: number, a?: unknown, b?: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.newId();
    const answer = this.expect(id);
    try {
      this.#post([id, op, a, b], requestTransfer(op, a));
    } catch (e) {
      // A value that cannot be cloned (e.g. a named argument holding a function) fails here.
      this.#pending.delete(id);
      return Promise.reject(e);
    }
    return answer;
  }

  close(reason: WalsyncError): void {
    if (this.#closed) return;
    this.#closed = reason;
    this.#endpoint.removeEventListener('message', this.#listener);
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
  }
}

/** How long the page spins on the shared state before it parks on Atomics.waitAsync (a fast call's length). */
const SPIN_MS = 0.05;
/** How long calls answered while spinning may run back to back before the page's event loop gets a turn. */
const PAGE_SLICE_MS = 4;
/** Parked waits wake this often to notice a closed channel. */
const PARK_TIMEOUT_MS = 1000;

/** `Atomics.waitAsync` (ES2024; the project's lib is older). */
const waitAsync = (Atomics as unknown as {
  waitAsync?: (array: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** Whether this page can use the shared-memory channel at all. */
export function sharedCallsAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  return g.crossOriginIsolated === true && typeof g.SharedArrayBuffer === 'function' && typeof waitAsync === 'function';
}

/**
 * Statement calls through a SharedArrayBuffer shared with this page's own dedicated worker. One call
 * at a time (they queue here, in order): the request is written into the buffer, the worker woken
 * with Atomics.notify (or a Kick message when it is in its event loop), and the answer read back
 * from the buffer. Requests that do not fit (batches, odd values) and answers that do not fit go by
 * postMessage, still in the same order.
 */
export class SharedStatementCaller implements StatementCaller {
  readonly transport = 'shared' as const;
  /** For the benchmark: calls made, calls that had to wake the worker with a message, calls the page parked for. */
  readonly counters = { calls: 0, kicks: 0, parks: 0, spills: 0 };
  readonly #buffer: SharedArrayBuffer;
  readonly #ctrl: Int32Array;
  readonly #endpoint: CallEndpoint;
  readonly #port: PortStatementCaller;
  #tail: Promise<unknown> = Promise.resolve();
  /** Calls made and not yet settled (the one using the buffer and those queued behind it). */
  #inFlight = 0;
  #closed: WalsyncError | null = null;
  /** The page's event-loop turn check: a message to ourselves, pending since `#sliceStart`. */
  readonly #ping = new MessageChannel();
  #pingPending = false;
  #sliceStart = 0;
  #onPing: (() => void)[] = [];

  /** Sends the buffer to the worker behind `endpoint`; `port` carries what does not fit. */
  constructor(endpoint: CallEndpoint, port: PortStatementCaller, bytes: number = L.DEFAULT_BYTES) {
    this.#buffer = new SharedArrayBuffer(bytes);
    this.#ctrl = new Int32Array(this.#buffer, 0, L.CONTROL_BYTES / 4);
    this.#endpoint = endpoint;
    this.#port = port;
    this.#ping.port1.onmessage = () => {
      this.#pingPending = false;
      const waiting = this.#onPing;
      this.#onPing = [];
      for (const resume of waiting) resume();
    };
    endpoint.postMessage([CONTROL.SharedSetup, this.#buffer]);
  }

  /** Asks the worker to return to its event loop: a message was just posted to it. */
  interrupt(): void {
    Atomics.store(this.#ctrl, L.Yield, 1);
    Atomics.notify(this.#ctrl, L.State);
  }

  call(op: number, a?: unknown, b?: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    // One call at a time through the buffer: a call made while another is in flight waits its turn.
    const result = this.#inFlight === 0 ? this.#callNow(op, a, b) : this.#tail.then(() => this.#callNow(op, a, b));
    this.#inFlight++;
    const settled = result.then(
      () => void this.#inFlight--,
      () => void this.#inFlight--,
    );
    this.#tail = settled;
    return result;
  }

  close(reason: WalsyncError): void {
    if (this.#closed) return;
    this.#closed = reason;
    this.#ping.port1.close();
    for (const resume of this.#onPing) resume();
    this.#onPing = [];
  }

  async #callNow(op: number, a: unknown, b: unknown): Promise<unknown> {
    if (this.#closed) throw this.#closed;
    const ctrl = this.#ctrl;
    if (op === StatementOp.Batch) return this.#port.call(op, a, b);
    try {
      writeRequest(new BinaryWriter(this.#buffer, L.CONTROL_BYTES), op, a, b);
    } catch (e) {
      if (e instanceof CannotEncode) return this.#port.call(op, a, b);
      throw e;
    }
    const id = this.#port.newId();
    // Registered before the request goes out: a spilled answer may be dispatched while we park.
    const spilled = this.#port.expect(id);
    spilled.catch(() => undefined);
    Atomics.store(ctrl, L.Id, id);
    Atomics.store(ctrl, L.State, SharedState.Request);
    Atomics.notify(ctrl, L.State);
    // Not listening (or about to stop: then it comes back for the request by itself): wake it.
    this.counters.calls++;
    if (Atomics.load(ctrl, L.Listening) === 0) {
      this.counters.kicks++;
      this.#endpoint.postMessage([CONTROL.Kick]);
    }

    let spun = true;
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(ctrl, L.State) !== SharedState.Answer) {
      if (performance.now() < spinUntil) continue;
      if (spun) this.counters.parks++;
      spun = false;
      const waiting = waitAsync!(ctrl, L.State, SharedState.Request, PARK_TIMEOUT_MS);
      if (waiting.async) await waiting.value;
      if (this.#closed) throw this.#closed;
    }
    const length = Atomics.load(ctrl, L.Length);
    let value: unknown;
    if (length < 0) {
      // Spilled: the worker posted the answer before flipping the state.
      this.counters.spills++;
      value = await spilled;
    } else {
      this.#port.forget(id);
      const answer = readAnswer(new BinaryReader(this.#buffer, L.CONTROL_BYTES), op);
      if (answer.status !== Status.Ok) throw deserializeError(answer.value as SerializedWalsyncError);
      value = answer.value;
    }
    if (spun) await this.#fairTurn();
    return value;
  }

  /**
   * Calls answered while spinning resolve in microtasks: a loop of awaited calls would never let
   * the page's event loop run (its timers, input, the worker's other answers). After PAGE_SLICE_MS
   * without a turn, the next answer waits for one.
   */
  #fairTurn(): Promise<void> | void {
    if (!this.#pingPending) {
      this.#pingPending = true;
      this.#sliceStart = performance.now();
      this.#ping.port2.postMessage(null);
      return;
    }
    if (performance.now() - this.#sliceStart < PAGE_SLICE_MS) return;
    return new Promise<void>((resume) => this.#onPing.push(resume));
  }
}
