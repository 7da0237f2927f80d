/**
 * Cold start as an app sees it: this page connects as soon as it runs, to the database named in
 * `?path=` (`&synced=1`: a synced one, `url` a function returning null, so no server), and runs one
 * query. Every figure is ms since navigation start (performance.now() in the page; the worker's
 * steps come as epoch times, converted with performance.timeOrigin).
 */
import { connect } from '../../src/connect.js';
import { lastOpenStartupForTesting } from '../../src/testing-hooks.js';

const moduleReady = performance.now();
// bench/trace-cold-start.ts aligns the trace's clock with this page's by this mark.
performance.mark('walsync:moduleReady');

export interface ColdStartSplit {
  /** The page's module (walsync imported) has run. */
  readonly moduleReady: number;
  /** The worker's script has run. */
  readonly workerReady: number;
  /** SQLite's wasm is compiled and instantiated in the worker. */
  readonly wasmReady: number;
  /** The worker has opened the database. */
  readonly open: number;
  /** connect() resolved in the page. */
  readonly connected: number;
  /** The first query's result is in the page. */
  readonly firstResult: number;
}

declare global {
  interface Window {
    coldStart?: ColdStartSplit | { error: string };
  }
}

const params = new URLSearchParams(location.search);
const path = params.get('path') ?? 'walsync-bench/cold.db';
const synced = params.get('synced') === '1';
/** bench/profile-cold-start.ts: leave the database open, so the worker's profile can be read. */
const keepOpen = params.get('keepOpen') === '1';

(async () => {
  const db = await connect(synced ? { path, url: () => null } : { path });
  const connected = performance.now();
  const row = await db.prepare('SELECT count(*) AS n FROM items').get();
  const firstResult = performance.now();
  if (row === undefined) throw new Error('the first query returned no row');
  const startup = lastOpenStartupForTesting()!;
  const pageTime = (epoch: number) => epoch - performance.timeOrigin;
  if (!keepOpen) await db.close();
  window.coldStart = {
    moduleReady,
    workerReady: pageTime(startup.workerReady),
    wasmReady: pageTime(startup.wasmReady),
    open: pageTime(startup.opened),
    connected,
    firstResult,
  };
})().catch((e: unknown) => {
  window.coldStart = { error: String((e as Error)?.stack ?? e) };
});
