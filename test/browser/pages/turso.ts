/**
 * Interop test page: walsync and Turso's own browser client (`@tursodatabase/sync-wasm`) side by
 * side, so a test can sync one through the other via a real tursodb.
 */
import * as turso from '@tursodatabase/sync-wasm/bundle';
import './page.js';

declare global {
  interface Window {
    turso: typeof turso;
  }
}

window.turso = turso;

import { syncWasmExamples } from './sync-wasm-examples.js';

declare global {
  interface Window {
    syncWasmExamples: typeof syncWasmExamples;
  }
}

window.syncWasmExamples = syncWasmExamples;
