/** One link from a WorkerChannel to the worker that owns its database (see WorkerLink). */
import { type Endpoint, type Remote, releaseProxy, wrap } from 'comlink';
import type { WalsyncError } from '../contract/errors.js';
import type { WorkerApi } from '../contract/worker-api.js';
import { STATEMENT_METHODS } from '../contract/statement-calls.js';
import { type CallEndpoint, PortStatementCaller, SharedStatementCaller, type StatementCaller, sharedCallsAvailable } from './statement-calls.js';
import { statementTransportForTesting } from './testing-hooks.js';
import { Tripwire } from './tripwire.js';

/**
 * One way to the owning worker: this tab's own worker, or a session of the leader tab's worker.
 * Statement calls (run/get/all/...) take a compact message protocol, or shared memory with this
 * tab's own worker when the page is cross-origin isolated; the other calls take Comlink.
 */
export class WorkerLink {
  readonly own: boolean;
  readonly generation: number;
  readonly leaderId: string;
  readonly methods: Remote<WorkerApi>;
  /** Trips when the link breaks: what calls race against (see tripwire.ts). */
  readonly lostWire = new Tripwire();
  /** How statement calls travel on this link. */
  readonly statements: StatementCaller;
  readonly #api: Remote<WorkerApi>;
  broken: WalsyncError | null = null;
  readonly #onBreak: () => void;

  constructor(endpoint: Endpoint, options: { own: boolean; generation: number; leaderId: string; onBreak: () => void }) {
    this.own = options.own;
    this.generation = options.generation;
    this.leaderId = options.leaderId;
    this.#onBreak = options.onBreak;
    const target = endpoint as unknown as CallEndpoint;
    let shared: SharedStatementCaller | null = null;
    // Everything posted to the own worker (Comlink's control calls, statement requests that do not
    // fit in shared memory) first asks it to leave its shared-memory wait, or it would sit there.
    const post = (message: unknown, transfer: Transferable[] = []): void => {
      target.postMessage(message, transfer);
      shared?.interrupt();
    };
    this.#api = wrap<WorkerApi>({
      postMessage: post,
      addEventListener: target.addEventListener.bind(target),
      removeEventListener: target.removeEventListener.bind(target),
    } as unknown as Endpoint);
    const port = new PortStatementCaller(target, post);
    if (options.own && statementTransportForTesting() === 'auto' && sharedCallsAvailable()) shared = new SharedStatementCaller(target, port);
    this.statements = shared ?? port;
    const cache = new Map<PropertyKey, unknown>();
    for (const [name, op] of Object.entries(STATEMENT_METHODS)) {
      const statements = this.statements;
      cache.set(name, (a?: unknown, b?: unknown) => statements.call(op, a, b));
    }
    // Each method fetched from the Comlink proxy once: every property read of a Comlink proxy makes
    // a new proxy (and registers it for finalization), which costs on each call.
    this.methods = new Proxy({} as Remote<WorkerApi>, {
      get: (_, name) => {
        if (!cache.has(name)) cache.set(name, (this.#api as unknown as Record<PropertyKey, unknown>)[name]);
        return cache.get(name);
      },
    });
  }

  /** Ends the link: calls in flight on it reject with `reason`. */
  break(reason: WalsyncError): void {
    if (this.broken) return;
    this.broken = reason;
    this.lostWire.trip(reason);
    this.statements.close(reason);
    try {
      this.#api[releaseProxy]();
    } catch {
      // Already released.
    }
    this.#onBreak();
  }
}
