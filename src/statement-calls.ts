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
  /** Answers that came before anyone expected them (see settle). */
  readonly #early = new Map<number, [number, unknown]>();
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
    if (!pending) {
      // A shared call's spilled answer may be dispatched while the page is parked, before the
      // caller has read the state that says it spilled: kept until expect() asks for it.
      this.#early.set(id, [status, value]);
      return;
    }
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

  /** Waits for the answer of call `id`, sent by whoever made the request (it may have arrived already). */
  expect(id: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const early = this.#early.get(id);
    if (early) {
      this.#early.delete(id);
      return early[0] === Status.Ok ? Promise.resolve(early[1]) : Promise.reject(deserializeError(early[1] as SerializedWalsyncError));
    }
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
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
    this.#early.clear();
  }
}

/**
 * How long the page spins on the shared state before it parks on Atomics.waitAsync. A parked call
 * wakes 100–200 µs late (the waitAsync answer is a task), so an answer due within about that long
 * is cheaper waited for than parked for. Even a fast call's answer comes late when the worker's
 * thread must first wake up from Atomics.wait: with a 50 µs spin, 20–45% of 10k point selects
 * parked on a busy 2-core machine and the loop took 0.6–1 s; with 100 µs, 3–5% parked and it took
 * 0.4–0.47 s (same run, interleaved). Calls the worker takes longer to serve (a commit's OPFS
 * write) get twice their mean service time plus HANDOFF_MS, up to MAX_SPIN_MS: such times vary
 * widely. With the mean plus HANDOFF_MS, 45–74% of durability-'normal' commits (served in 115–180
 * µs on average) parked; with twice the mean, 22–41%, and 3,000 of them took 10–13% less time (10
 * interleaved rounds). Calls slower than that (spinning would not catch them: a flushed commit)
 * get MIN_SPIN_MS. The page's event loop still gets a turn every PAGE_SLICE_MS.
 */
const MIN_SPIN_MS = 0.1;
const MAX_SPIN_MS = 0.5;
/** The two wake-ups around a call's service (request seen, answer seen). */
const HANDOFF_MS = 0.03;
/** One slow call (a big query) must not swing the average for long: it counts as at most this. */
const SERVICE_SAMPLE_CAP_MS = 1;

/** @internal How long the page spins for a call, given how long the worker took to serve recent ones (ms). */
export function spinBudgetMs(serviceMs: number): number {
  const expected = 2 * serviceMs + HANDOFF_MS;
  return expected > MAX_SPIN_MS ? MIN_SPIN_MS : Math.max(MIN_SPIN_MS, expected);
}
/** How long calls answered while spinning may run back to back before the page's event loop gets a turn. */
const PAGE_SLICE_MS = 4;
/** Parked waits wake this often to notice a closed channel (close() wakes them at once too). */
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

/** A call made while another one had the buffer: it waits its turn, in order. */
interface QueuedCall {
  readonly op: number;
  readonly a: unknown;
  readonly b: unknown;
  resolve(value: unknown): void;
  reject(e: unknown): void;
}

/**
 * Statement calls through a SharedArrayBuffer shared with this page's own dedicated worker. One call
 * at a time (they queue here, in order): the request is written into the buffer, the worker woken
 * with Atomics.notify (or a Kick message when it is in its event loop), and the answer read back
 * from the buffer. Requests that do not fit (batches, odd values) and answers that do not fit go by
 * postMessage, still in the same order. A call answered while the page spins costs no promise
 * beyond the one it returns.
 */
export class SharedStatementCaller implements StatementCaller {
  readonly transport = 'shared' as const;
  /**
   * For the benchmark: calls made, calls that had to wake the worker with a message, calls the page
   * parked for, answers spilled to postMessage, and the worker's own time serving them (µs).
   */
  readonly counters = { calls: 0, kicks: 0, parks: 0, spills: 0, servedUs: 0 };
  readonly #ctrl: Int32Array;
  readonly #endpoint: CallEndpoint;
  readonly #port: PortStatementCaller;
  /** One writer and one reader of the data area, reused by every call. */
  readonly #writer: BinaryWriter;
  readonly #reader: BinaryReader;
  /** A call owns the buffer (from its request until its answer is read, or a postMessage call's answer). */
  #busy = false;
  readonly #queue: QueuedCall[] = [];
  readonly #release = (): void => {
    const next = this.#queue.shift();
    if (!next) {
      this.#busy = false;
      return;
    }
    // The buffer passes to the next call (still busy); it starts once the ended call's caller has its answer.
    queueMicrotask(() => {
      if (this.#closed) next.reject(this.#closed);
      else this.#start(next.op, next.a, next.b).then(next.resolve, next.reject);
    });
  };
  #closed: WalsyncError | null = null;
  /** Time spent in calls answered while spinning since the page's event loop last had a turn. */
  #spunMs = 0;
  /** A moving average of how long the worker took to serve recent calls (it reports each). */
  #serviceMs = 0;
  /** The page's event-loop turn: a message to ourselves, posted when a turn is due. */
  readonly #ping = new MessageChannel();
  #pingPending = false;
  #onTurn: (() => void)[] = [];

  /** Sends the buffer to the worker behind `endpoint`; `port` carries what does not fit. */
  constructor(endpoint: CallEndpoint, port: PortStatementCaller, bytes: number = L.DEFAULT_BYTES) {
    const buffer = new SharedArrayBuffer(bytes);
    this.#ctrl = new Int32Array(buffer, 0, L.CONTROL_BYTES / 4);
    this.#writer = new BinaryWriter(buffer, L.CONTROL_BYTES);
    this.#reader = new BinaryReader(buffer, L.CONTROL_BYTES);
    this.#endpoint = endpoint;
    this.#port = port;
    this.#ping.port1.onmessage = () => this.#turnTaken();
    endpoint.postMessage([CONTROL.SharedSetup, buffer]);
  }

  /** Asks the worker to return to its event loop: a message was just posted to it. */
  interrupt(): void {
    Atomics.store(this.#ctrl, L.Yield, 1);
    Atomics.notify(this.#ctrl, L.State);
  }

  call(op: number, a?: unknown, b?: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    // One call at a time through the buffer: a call made while another is in flight waits its turn.
    if (this.#busy) return new Promise((resolve, reject) => this.#queue.push({ op, a, b, resolve, reject }));
    return this.#start(op, a, b);
  }

  close(reason: WalsyncError): void {
    if (this.#closed) return;
    this.#closed = reason;
    // Answers still to come by postMessage (spilled, or calls that did not fit) will not come.
    this.#port.close(reason);
    for (const queued of this.#queue.splice(0)) queued.reject(reason);
    this.#ping.port1.close();
    this.#turnTaken();
    // A parked call wakes now and sees the channel closed.
    Atomics.notify(this.#ctrl, L.State);
  }

  /** Makes call `op`; the buffer is this call's until #release runs. */
  #start(op: number, a: unknown, b: unknown): Promise<unknown> {
    this.#busy = true;
    if (op === StatementOp.Batch) return this.#byPort(op, a, b);
    const w = this.#writer;
    w.pos = L.CONTROL_BYTES;
    try {
      writeRequest(w, op, a, b);
    } catch (e) {
      if (e instanceof CannotEncode) return this.#byPort(op, a, b);
      this.#release();
      return Promise.reject(e);
    }
    const ctrl = this.#ctrl;
    const id = this.#port.newId();
    const started = performance.now();
    Atomics.store(ctrl, L.Id, id);
    Atomics.store(ctrl, L.State, SharedState.Request);
    Atomics.notify(ctrl, L.State);
    this.counters.calls++;
    // Not listening (or about to stop: then it comes back for the request by itself): wake it.
    if (Atomics.load(ctrl, L.Listening) === 0) {
      this.counters.kicks++;
      this.#endpoint.postMessage([CONTROL.Kick]);
    }
    const spinUntil = started + spinBudgetMs(this.#serviceMs);
    while (Atomics.load(ctrl, L.State) !== SharedState.Answer) {
      if (performance.now() < spinUntil) continue;
      this.counters.parks++;
      return this.#park(op, id);
    }
    const answer = this.#answer(op, id);
    this.#spunMs += performance.now() - started;
    return this.#spunMs > PAGE_SLICE_MS ? this.#afterTurn(answer) : answer;
  }

  /** A call that goes by postMessage keeps the buffer until its answer is in, so no later call overtakes it. */
  #byPort(op: number, a: unknown, b: unknown): Promise<unknown> {
    const answer = this.#port.call(op, a, b);
    answer.then(this.#release, this.#release);
    return answer;
  }

  /** Waits on Atomics.waitAsync for the answer the spin did not see. */
  async #park(op: number, id: number): Promise<unknown> {
    const ctrl = this.#ctrl;
    while (Atomics.load(ctrl, L.State) !== SharedState.Answer) {
      if (this.#closed) throw this.#closed;
      const waiting = waitAsync!(ctrl, L.State, SharedState.Request, PARK_TIMEOUT_MS);
      if (waiting.async) await waiting.value;
    }
    // The page's event loop ran while we were parked.
    this.#spunMs = 0;
    return this.#answer(op, id);
  }

  /** Reads the answer of call `id` (or waits for its spilled message) and frees the buffer. */
  #answer(op: number, id: number): Promise<unknown> {
    const served = Atomics.load(this.#ctrl, L.ServiceMicros) / 1000;
    this.counters.servedUs += served * 1000;
    this.#serviceMs += (Math.min(served, SERVICE_SAMPLE_CAP_MS) - this.#serviceMs) / 8;
    if (Atomics.load(this.#ctrl, L.Length) < 0) {
      // Spilled: the worker posted the answer before flipping the state.
      this.counters.spills++;
      const spilled = this.#port.expect(id);
      this.#release();
      return spilled;
    }
    const r = this.#reader;
    r.pos = L.CONTROL_BYTES;
    let answer: { status: number; value: unknown };
    try {
      answer = readAnswer(r, op);
    } finally {
      this.#release();
    }
    return answer.status === Status.Ok ? Promise.resolve(answer.value) : Promise.reject(deserializeError(answer.value as SerializedWalsyncError));
  }

  /**
   * Calls answered while spinning resolve in microtasks: a loop of awaited calls would never let
   * the page's event loop run (its timers, input, the worker's other answers). After PAGE_SLICE_MS
   * of such calls, the next answer waits for one turn.
   */
  #afterTurn(answer: Promise<unknown>): Promise<unknown> {
    const turn = new Promise<void>((resume) => {
      this.#onTurn.push(resume);
      if (this.#pingPending || this.#closed) return;
      this.#pingPending = true;
      this.#ping.port2.postMessage(null);
    });
    if (this.#closed) this.#turnTaken();
    return answer.then(
      (value) => turn.then(() => value),
      (e: unknown) => turn.then(() => Promise.reject(e)),
    );
  }

  #turnTaken(): void {
    this.#pingPending = false;
    this.#spunMs = 0;
    const waiting = this.#onTurn;
    this.#onTurn = [];
    for (const resume of waiting) resume();
  }
}
