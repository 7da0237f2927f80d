/** Worker entry: one dedicated worker per database path, exposing a WorkerHost to the facade. */
// First, so SQLite's wasm downloads and compiles while the other modules are evaluated.
import { prefetchedSqliteWasm } from './sqlite-wasm-prefetch.js';
import { epochNow, loadSqliteRuntime } from './sqlite-module.js';
import { WorkerHost } from './worker-host.js';
import { serveWorkerHost } from './serve-host.js';

const workerReady = epochNow();
serveWorkerHost(new WorkerHost(workerReady));
// Fetch and compile SQLite's wasm now, while the page is still getting to connect() (the facade
// may start this worker ahead of time); a failure is cached and reported by open().
loadSqliteRuntime(prefetchedSqliteWasm).catch(() => undefined);
