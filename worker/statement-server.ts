/**
 * The worker's side of statement calls (contract/statement-calls.ts): answers `[id, op, a, b]`
 * requests arriving on an endpoint, and, once the page sends a SharedArrayBuffer, requests written
 * into it. Each server dispatches into the StatementApi it is given, so one worker can serve several
 * clients (each its own endpoint and api) side by side.
 */
import { serializeError } from '../contract/errors.js';
import {
  BinaryReader,
  BinaryWriter,
  CONTROL,
  CannotEncode,
  SharedCallLayout as L,
  SharedState,
  type StatementApi,
  StatementOp,
  Status,
  dispatchStatementCall,
  readRequest,
  writeAnswer,
  type CallEndpoint,
} from '../contract/statement-calls.js';

export type { CallEndpoint };

/** True for the statement-call traffic (arrays); everything else is Comlink's or walsync's notices. */
export function isStatementCallMessage(data: unknown): boolean {
  return Array.isArray(data);
}

/** A batch answer's typed array goes back by transfer, not copy. */
function transferOf(op: number, value: unknown): Transferable[] {
  if (op !== StatementOp.Batch || !value) return [];
  const changes = (value as { changes?: Float64Array }).changes;
  return changes ? [changes.buffer] : [];
}

/**
 * Serves statement calls arriving on `endpoint` into `api`. Returns the function that stops serving.
 * Answers go out in the order their calls complete (the api queues them in arrival order anyway).
 */
export function serveStatementCalls(endpoint: CallEndpoint, api: StatementApi): () => void {
  let shared: SharedCallServer | null = null;
  const answer = (id: number, op: number, promise: Promise<unknown>): void => {
    promise.then(
      (value) => endpoint.postMessage([id, Status.Ok, value], transferOf(op, value)),
      (e: unknown) => endpoint.postMessage([id, Status.Error, serializeError(e)]),
    );
  };
  const listener = (event: MessageEvent): void => {
    const data = event.data as unknown[];
    if (!isStatementCallMessage(data)) return;
    const id = data[0] as number;
    if (id > 0) {
      const op = data[1] as number;
      let result: Promise<unknown>;
      try {
        result = dispatchStatementCall(api, op, data[2], data[3]);
      } catch (e) {
        result = Promise.reject(e);
      }
      answer(id, op, result);
    } else if (id === CONTROL.SharedSetup) {
      shared = new SharedCallServer(data[1] as SharedArrayBuffer, api, endpoint);
    } else if (id === CONTROL.Kick) {
      shared?.serve();
    }
  };
  endpoint.addEventListener('message', listener);
  return () => {
    endpoint.removeEventListener('message', listener);
    shared?.stop();
  };
}

/** How long the worker keeps waiting for the next shared call before it returns to its event loop. */
const IDLE_MS = 1;
/**
 * How long it serves calls back to back before it gives its event loop one turn anyway: a page
 * that calls without pause must not starve the worker's timers, network phases of sync, or the
 * messages of other tabs.
 */
const SLICE_MS = 4;
/**
 * How long it spins on the state word for the next call before it blocks in `Atomics.wait`. A page
 * that awaits calls one after another writes the next a few µs after reading an answer; a worker
 * woken from a blocking wait served the same point select in 15–20 µs instead of 10–14, and the
 * whole call took 50–60 µs instead of 30–38 (10k point selects, bench/calls.ts). Not on a single
 * core, where the spin would take the page's own time.
 */
const SPIN_MS = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1 ? 0.05 : 0;

/**
 * Serves requests the page writes into the shared buffer: spins for SPIN_MS, then blocks in
 * `Atomics.wait`, while calls keep coming, and goes back to its event loop after IDLE_MS without
 * one, after SLICE_MS of continuous serving, or at once when the page raises the Yield flag (it
 * posted a message the event loop must handle). While it is away the page wakes it with a Kick message.
 */
class SharedCallServer {
  readonly #ctrl: Int32Array;
  /** One reader and one writer of the data area, reused by every call. */
  readonly #reader: BinaryReader;
  readonly #writer: BinaryWriter;
  readonly #api: StatementApi;
  readonly #endpoint: CallEndpoint;
  #serving = false;
  /**
   * Between leaving the loop and the #resume message: Kicks wait for it. Were a Kick to restart
   * the loop at once, each turn of the event loop would run no task but the Kick, and a page calling
   * without pause starved the worker's fetches (a 1.5 s pull download took 25 s).
   */
  #yielding = false;
  #stopped = false;
  /** A macrotask to come back to after giving the event loop a turn (a MessageChannel: no timer clamping). */
  readonly #resume = new MessageChannel();

  constructor(buffer: SharedArrayBuffer, api: StatementApi, endpoint: CallEndpoint) {
    this.#reader = new BinaryReader(buffer, L.CONTROL_BYTES);
    this.#writer = new BinaryWriter(buffer, L.CONTROL_BYTES);
    this.#ctrl = new Int32Array(buffer, 0, L.CONTROL_BYTES / 4);
    this.#api = api;
    this.#endpoint = endpoint;
    this.#resume.port1.onmessage = () => {
      this.#yielding = false;
      this.serve();
    };
  }

  stop(): void {
    this.#stopped = true;
    this.#resume.port1.close();
  }

  /** Enters the serving loop unless already in it, or away for the event loop's turn (it comes back by itself). */
  serve(): void {
    if (this.#serving || this.#yielding || this.#stopped) return;
    this.#serving = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    const ctrl = this.#ctrl;
    Atomics.store(ctrl, L.Listening, 1);
    const sliceStart = performance.now();
    let idleSince = sliceStart;
    let turn = false;
    try {
      for (;;) {
        if (Atomics.load(ctrl, L.Yield) === 1) break;
        const state = Atomics.load(ctrl, L.State);
        if (state === SharedState.Request) {
          await this.#serveOne();
          const now = performance.now();
          if (now - sliceStart > SLICE_MS) {
            turn = true;
            break;
          }
          idleSince = now;
          continue;
        }
        const idle = performance.now() - idleSince;
        if (idle < SPIN_MS) continue;
        const left = IDLE_MS - idle;
        if (left <= 0) break;
        // Wakes on the page's notify (a request, or Yield) or after the rest of the idle time.
        Atomics.wait(ctrl, L.State, state, left);
      }
    } finally {
      Atomics.store(ctrl, L.Listening, 0);
      Atomics.store(ctrl, L.Yield, 0);
      this.#serving = false;
    }
    // A request written just as we stopped listening found Listening still 1 and sent no Kick:
    // come back for it after one turn of the event loop (as after a slice).
    if (turn || Atomics.load(ctrl, L.State) === SharedState.Request) {
      this.#yielding = true;
      this.#resume.port2.postMessage(null);
    }
  }

  async #serveOne(): Promise<void> {
    const ctrl = this.#ctrl;
    const started = performance.now();
    const id = Atomics.load(ctrl, L.Id);
    let op: number = -1;
    let status: number = Status.Ok;
    let value: unknown;
    try {
      const r = this.#reader;
      r.pos = L.CONTROL_BYTES;
      const request = readRequest(r);
      op = request.op;
      // Awaited in microtasks only when the api answers synchronously (the common case): no
      // event-loop turn between calls.
      value = await dispatchStatementCall(this.#api, op, request.a, request.b);
    } catch (e) {
      status = Status.Error;
      value = serializeError(e);
    }
    let length: number;
    try {
      const w = this.#writer;
      w.pos = L.CONTROL_BYTES;
      writeAnswer(w, op, status, value);
      length = w.pos - L.CONTROL_BYTES;
    } catch (e) {
      if (!(e instanceof CannotEncode)) throw e;
      // Too big for the buffer: the answer goes by postMessage (sent before the state flips, so
      // it is on its way when the page looks for it).
      this.#endpoint.postMessage([id, status, value], status === Status.Ok ? transferOf(op, value) : []);
      length = -1;
    }
    Atomics.store(ctrl, L.Length, length);
    Atomics.store(ctrl, L.ServiceMicros, Math.round((performance.now() - started) * 1000));
    Atomics.store(ctrl, L.State, SharedState.Answer);
    Atomics.notify(ctrl, L.State);
  }
}

/**
 * `endpoint` as Comlink's `expose` should see it: without the statement-call traffic (Comlink
 * would otherwise answer every such message with an empty reply of its own).
 */
export function withoutStatementCalls(endpoint: CallEndpoint): CallEndpoint {
  const wrapped = new Map<(event: MessageEvent) => void, (event: MessageEvent) => void>();
  return {
    postMessage: (message, transfer) => endpoint.postMessage(message, transfer),
    addEventListener(type, listener) {
      const filtered = (event: MessageEvent): void => {
        if (!isStatementCallMessage(event.data)) listener(event);
      };
      wrapped.set(listener, filtered);
      endpoint.addEventListener(type, filtered);
    },
    removeEventListener(type, listener) {
      const filtered = wrapped.get(listener);
      if (!filtered) return;
      wrapped.delete(listener);
      endpoint.removeEventListener(type, filtered);
    },
  };
}
