/**
 * Round-trip floor: how long one page→worker→page message takes with bare postMessage and with
 * Comlink, and nothing else. Compared with a walsync get() on :memory:, it shows how much of a
 * per-call cost is the messaging itself and how much is the library's own work.
 */
import { wrap } from 'comlink';

interface ComlinkEcho {
  echo(value: number): number;
}

/** Average milliseconds per round trip over `count` sequential postMessage echoes. */
export async function postMessageRoundTrip(count: number): Promise<number> {
  const worker = new Worker(new URL('./raw-echo-worker.ts', import.meta.url), { type: 'module' });
  try {
    const echo = (value: number) =>
      new Promise<number>((resolve) => {
        worker.addEventListener('message', (event: MessageEvent<number>) => resolve(event.data), { once: true });
        worker.postMessage(value);
      });
    await echo(0); // the worker has started once it answers
    const started = performance.now();
    for (let i = 0; i < count; i++) await echo(i);
    return (performance.now() - started) / count;
  } finally {
    worker.terminate();
  }
}

/** Average milliseconds per round trip over `count` sequential Comlink calls. */
export async function comlinkRoundTrip(count: number): Promise<number> {
  const worker = new Worker(new URL('./comlink-echo-worker.ts', import.meta.url), { type: 'module' });
  try {
    const api = wrap<ComlinkEcho>(worker);
    await api.echo(0);
    const started = performance.now();
    for (let i = 0; i < count; i++) await api.echo(i);
    return (performance.now() - started) / count;
  } finally {
    worker.terminate();
  }
}
