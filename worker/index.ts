/** Worker entry: one dedicated worker per database path, exposing a WorkerHost to the facade. */
import { expose } from 'comlink';
import { installErrorTransfer } from './rpc-errors.js';
import { WorkerHost } from './worker-host.js';

installErrorTransfer();
expose(new WorkerHost());
