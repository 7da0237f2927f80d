/**
 * Samples the JS heap of a page and of its dedicated workers over CDP while an operation runs.
 * Workers are reached with Target.setAutoAttach on a page session (flatten: false, so messages go
 * through Target.sendMessageToTarget and Playwright's CDPSession can carry them). Each sample asks
 * every target for Runtime.getHeapUsage; a tick's total is the sum over targets.
 */
import type { CDPSession, Page } from 'playwright-core';

export interface HeapUsage {
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
}

export interface HeapPeak {
  /** Max over samples of Σ targets usedSize (V8 JS heap objects). */
  peakUsed: number;
  /** Max over samples of Σ targets (usedSize + backingStorageSize): JS heap plus ArrayBuffer backing stores (incl. wasm memory). */
  peakUsedPlusBuffers: number;
  /** The same sums at the start of the operation. */
  baseUsed: number;
  baseUsedPlusBuffers: number;
  samples: number;
  targets: string[];
}

interface Pending {
  resolve(v: HeapUsage | null): void;
}

export class HeapSampler {
  readonly #cdp: CDPSession;
  readonly #workers = new Map<string, string>();
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  #running = false;
  #loop: Promise<void> | undefined;
  #peakUsed = 0;
  #peakBoth = 0;
  #base: { used: number; both: number } | undefined;
  #samples = 0;

  private constructor(cdp: CDPSession) {
    this.#cdp = cdp;
  }

  /**
   * With `onNewWorker`, workers start paused: the hook runs first (e.g. to start a CPU profile),
   * then the worker is resumed.
   */
  static async attach(page: Page, onNewWorker?: (sessionId: string, url: string) => Promise<void>): Promise<HeapSampler> {
    const cdp = await page.context().newCDPSession(page);
    const sampler = new HeapSampler(cdp);
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type !== 'worker') return;
      sampler.#workers.set(e.sessionId, e.targetInfo.url);
      if (e.waitingForDebugger) {
        void (async () => {
          try {
            await onNewWorker?.(e.sessionId, e.targetInfo.url);
          } finally {
            await sampler.sendToWorker(e.sessionId, 'Runtime.runIfWaitingForDebugger', {}, 5000);
          }
        })();
      }
    });
    cdp.on('Target.detachedFromTarget', (e) => sampler.#workers.delete(e.sessionId));
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const message = JSON.parse(e.message) as { id?: number; result?: HeapUsage };
      if (message.id === undefined) return;
      const key = `${e.sessionId}:${message.id}`;
      const pending = sampler.#pending.get(key);
      if (!pending) return;
      sampler.#pending.delete(key);
      pending.resolve(message.result ?? null);
    });
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: onNewWorker !== undefined, flatten: false });
    return sampler;
  }

  get cdp(): CDPSession {
    return this.#cdp;
  }

  /** Worker sessions by session id → script url. */
  get workers(): ReadonlyMap<string, string> {
    return this.#workers;
  }

  /** Sends a CDP command to a worker target and waits for its answer. */
  sendToWorker<T>(sessionId: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T | null> {
    const id = this.#nextId++;
    const key = `${sessionId}:${id}`;
    return new Promise<T | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        resolve(null);
      }, timeoutMs);
      this.#pending.set(key, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T | null);
        },
      });
      this.#cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => {
        clearTimeout(timer);
        this.#pending.delete(key);
        resolve(null);
      });
    });
  }

  async #sample(): Promise<void> {
    const reads: Promise<HeapUsage | null>[] = [this.#cdp.send('Runtime.getHeapUsage').catch(() => null) as Promise<HeapUsage | null>];
    for (const sessionId of this.#workers.keys()) reads.push(this.sendToWorker<HeapUsage>(sessionId, 'Runtime.getHeapUsage', {}, 2000));
    const usages = (await Promise.all(reads)).filter((u): u is HeapUsage => u !== null);
    const used = usages.reduce((s, u) => s + u.usedSize, 0);
    const both = usages.reduce((s, u) => s + u.usedSize + (u.backingStorageSize ?? 0), 0);
    this.#base ??= { used, both };
    this.#peakUsed = Math.max(this.#peakUsed, used);
    this.#peakBoth = Math.max(this.#peakBoth, both);
    this.#samples++;
  }

  /** Runs a full GC on the page and every worker, so a measurement starts from live objects only. */
  async collectGarbage(): Promise<void> {
    await Promise.all([
      this.#cdp.send('HeapProfiler.collectGarbage').catch(() => undefined),
      ...[...this.#workers.keys()].map((sid) => this.sendToWorker(sid, 'HeapProfiler.collectGarbage', {}, 10_000)),
    ]);
  }

  /** Starts sampling every `intervalMs` (each tick waits for the previous one's answers). */
  async start(intervalMs = 20): Promise<void> {
    this.#peakUsed = 0;
    this.#peakBoth = 0;
    this.#base = undefined;
    this.#samples = 0;
    this.#running = true;
    await this.#sample();
    this.#loop = (async () => {
      while (this.#running) {
        await new Promise((r) => setTimeout(r, intervalMs));
        if (this.#running) await this.#sample();
      }
    })();
  }

  async stop(): Promise<HeapPeak> {
    this.#running = false;
    await this.#loop;
    await this.#sample();
    return {
      peakUsed: this.#peakUsed,
      peakUsedPlusBuffers: this.#peakBoth,
      baseUsed: this.#base?.used ?? 0,
      baseUsedPlusBuffers: this.#base?.both ?? 0,
      samples: this.#samples,
      targets: ['page', ...this.#workers.values()],
    };
  }

  async detach(): Promise<void> {
    await this.#cdp.detach().catch(() => undefined);
  }
}
