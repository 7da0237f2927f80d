/**
 * The smallest plain sqlite-wasm app on opfs-sahpool: a worker that opens a database and runs one
 * query. Its download size is the baseline the walsync "bytes" figure is compared with.
 */
import { announceLoaded } from './load-signal.js';

const worker = new Worker(new URL('./sqlite-wasm-worker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('message', (event: MessageEvent<{ one: unknown }>) => {
  worker.terminate();
  announceLoaded(event.data.one === 1);
});
