/** Benchmark page: exposes the workloads on `window` for Playwright's page.evaluate(). */
import { comlinkRoundTrip, postMessageRoundTrip } from './echo-workers.js';
import { removeBenchFiles } from './opfs-cleanup.js';
import * as workloads from './workloads.js';
import * as callWorkloads from './calls-workloads.js';
import * as tabs from './tabs.js';

const bench = { ...workloads, ...callWorkloads, ...tabs, removeBenchFiles, postMessageRoundTrip, comlinkRoundTrip };
export type BenchPageApi = typeof bench;

declare global {
  interface Window {
    bench: BenchPageApi;
    walsyncReady: boolean;
  }
}

window.bench = bench;
window.walsyncReady = true;
