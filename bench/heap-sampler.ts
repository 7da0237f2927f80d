/**
 * Samples the JS heap of a page AND of its dedicated workers over CDP while a workload runs, and
 * keeps the peaks. The page's own CDP session auto-attaches to its workers (non-flattened, because
 * Playwright's CDPSession can only talk to its own target; worker messages are relayed through
 * Target.sendMessageToTarget). Each sample is Runtime.getHeapUsage().usedSize: V8 heap in use,
 * which excludes ArrayBuffer backing stores such as the WebAssembly memory holding SQLite's heap.
 */
import type { CDPSession, Page } from 'playwright-core';

export interface HeapPeaks {
  /** Largest page heap seen, bytes. */
  readonly page: number;
  /** Largest sum over the page's workers seen in one sample, bytes. */
  readonly workers: number;
  /** Largest page + workers sum seen in one sample, bytes. */
  readonly total: number;
  readonly samples: number;
}

interface HeapUsage {
  usedSize: number;
}

const SAMPLE_INTERVAL_MS = 10;

export class HeapSampler {
  readonly #cdp: CDPSession;
  readonly #workerSessions = new Set<string>();
  readonly #pending = new Map<number, (usage: HeapUsage | null) => void>();
  #nextMessageId = 1;

  private constructor(cdp: CDPSession) {
    this.#cdp = cdp;
    cdp.on('Target.attachedToTarget', (event) => {
      if (event.targetInfo.type === 'worker') this.#workerSessions.add(event.sessionId);
    });
    cdp.on('Target.detachedFromTarget', (event) => {
      if (event.sessionId) this.#workerSessions.delete(event.sessionId);
    });
    cdp.on('Target.receivedMessageFromTarget', (event) => {
      const reply = JSON.parse(event.message) as { id?: number; result?: HeapUsage };
      if (reply.id === undefined) return;
      this.#pending.get(reply.id)?.(reply.result ?? null);
      this.#pending.delete(reply.id);
    });
  }

  /** Attach before the workload starts, so its worker is seen from its first moment. */
  static async attach(page: Page): Promise<HeapSampler> {
    const cdp = await page.context().newCDPSession(page);
    const sampler = new HeapSampler(cdp);
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    return sampler;
  }

  /** Samples every few milliseconds until `workload` settles; returns its result and the peaks. */
  async during<T>(workload: Promise<T>): Promise<{ result: T; peaks: HeapPeaks }> {
    let done = false;
    const finished = workload.finally(() => {
      done = true;
    });
    let page = 0;
    let workers = 0;
    let total = 0;
    let samples = 0;
    while (!done) {
      const [pageUsage, workerUsages] = await Promise.all([
        this.#cdp.send('Runtime.getHeapUsage').catch(() => null),
        Promise.all([...this.#workerSessions].map((id) => this.#workerHeap(id))),
      ]);
      const pageUsed = pageUsage?.usedSize ?? 0;
      const workersUsed = workerUsages.reduce((sum, u) => sum + (u?.usedSize ?? 0), 0);
      page = Math.max(page, pageUsed);
      workers = Math.max(workers, workersUsed);
      total = Math.max(total, pageUsed + workersUsed);
      samples++;
      await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, SAMPLE_INTERVAL_MS))]);
    }
    return { result: await finished, peaks: { page, workers, total, samples } };
  }

  async detach(): Promise<void> {
    await this.#cdp.detach().catch(() => undefined);
  }

  #workerHeap(sessionId: string): Promise<HeapUsage | null> {
    const id = this.#nextMessageId++;
    const reply = new Promise<HeapUsage | null>((resolve) => {
      this.#pending.set(id, resolve);
      // A worker that goes away mid-request never answers: count it as nothing.
      setTimeout(() => {
        if (this.#pending.delete(id)) resolve(null);
      }, 1000);
    });
    const message = JSON.stringify({ id, method: 'Runtime.getHeapUsage' });
    return this.#cdp.send('Target.sendMessageToTarget', { sessionId, message }).then(() => reply, () => null);
  }
}
