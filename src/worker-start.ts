/** Starting the database worker: a fresh one, or the one prewarmed as this module loaded. */
import { WalsyncError } from '../contract/errors.js';

/** A worker for the database at `path`: the prewarmed one if it is still there, else a new one. */
export function startWorker(path: string): Worker {
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
