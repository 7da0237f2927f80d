/** Worker entry: one dedicated worker per database path, exposing a WorkerHost to the facade. */
// First, so SQLite's wasm downloads and compiles while the other modules are evaluated.
import { prefetchedSqliteWasm } from './sqlite-wasm-prefetch.js';
import { type Endpoint, expose } from 'comlink';
import { installErrorTransfer } from '../contract/error-transfer.js';
import { epochNow, loadSqliteRuntime } from './sqlite-module.js';
import { WorkerHost } from './worker-host.js';
import { type CallEndpoint, serveStatementCalls, withoutStatementCalls } from './statement-server.js';

const workerReady = epochNow();
installErrorTransfer();
const host = new WorkerHost(workerReady);
const scope = globalThis as unknown as CallEndpoint;
// Statement calls take the compact protocol (or shared memory); Comlink serves the control calls.
serveStatementCalls(scope, host);
expose(host, withoutStatementCalls(scope) as unknown as Endpoint);
// Fetch and compile SQLite's wasm now, while the page is still getting to connect() (the facade
// may start this worker ahead of time); a failure is cached and reported by open().
loadSqliteRuntime(prefetchedSqliteWasm).catch(() => undefined);
