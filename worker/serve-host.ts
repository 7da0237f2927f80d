/** Serves a WorkerHost to the facade from the worker it runs in. */
import { type Endpoint, expose } from 'comlink';
import { installErrorTransfer } from '../contract/error-transfer.js';
import type { WorkerHost } from './worker-host.js';
import { type CallEndpoint, serveStatementCalls, withoutStatementCalls } from './statement-server.js';

/** Answers the facade's calls on this worker's scope: statement calls on the compact protocol (or shared memory), the control calls on Comlink. */
export function serveWorkerHost(host: WorkerHost): void {
  installErrorTransfer();
  const scope = globalThis as unknown as CallEndpoint;
  serveStatementCalls(scope, host);
  expose(host, withoutStatementCalls(scope) as unknown as Endpoint);
}
