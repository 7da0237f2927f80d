/** Test page: exposes the library and a few helpers on `window` for Playwright's page.evaluate(). */
import * as walsync from '../../../src/index.js';
import type { Database } from '../../../src/index.js';
import { createStore, del, get, keys, set } from 'idb-keyval';
import { armKillPointOnNextOpenForTesting, setStatementTransportForTesting } from '../../../src/testing-hooks.js';
import { forceBroadcastChannelRelayForTesting, usesSharedWorker } from '../../../src/tab-links.js';
import { channelOf } from '../../../src/database.js';

// `?calls=port`: statement calls over postMessage even though test pages are cross-origin isolated,
// so tests can cover both transports (see test/browser/calls.test.ts).
if (new URLSearchParams(location.search).get('calls') === 'port') setStatementTransportForTesting('port');

const kit = {
  /** The worker channel behind a Database (kept out of its public shape). */
  channel: channelOf,
  /** How a database's statement calls travel: 'shared' (SharedArrayBuffer) or 'port' (postMessage). */
  statementTransport(db: Database): 'shared' | 'port' {
    return channelOf(db).statementTransport;
  },
  /** Rows of `table` ordered by its first column, as plain arrays (easy to compare). */
  async dump(db: Database, table: string, orderBy = '1'): Promise<unknown[][]> {
    const rows = await db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}" ORDER BY ${orderBy}`).all();
    return rows.map((r) => Object.values(r).map((v) => (typeof v === 'bigint' ? String(v) : v)));
  },
  /** Error fields that survive page.evaluate(). */
  describeError(e: unknown): { code: string; message: string; context: Record<string, unknown> } {
    const err = e as { code?: string; message?: string; context?: Record<string, unknown> };
    return { code: err.code ?? 'none', message: err.message ?? String(e), context: err.context ?? {} };
  },
  /** Runs `f` and returns its error's description (or code 'none'). */
  async errorOf(f: () => Promise<unknown>): Promise<{ code: string; message: string; context: Record<string, unknown> }> {
    try {
      await f();
      return { code: 'none', message: '', context: {} };
    } catch (e) {
      return kit.describeError(e);
    }
  },
  /**
   * Crash tests: puts back a sync metadata record as it was before its last write (the JSON a kill
   * point's error carries), as if the browser lost that IndexedDB write in a power loss.
   */
  async restoreMetadata(json: string): Promise<void> {
    const { key, before } = JSON.parse(json) as { key: string; before: unknown };
    const store = createStore('walsync', 'metadata');
    if (before === null) await del(key, store);
    else await set(key, before, store);
  },
  /** Crash tests: the next database worker stops dead at `point` while it opens. */
  armKillPointOnNextOpen(point: string | null): void {
    armKillPointOnNextOpenForTesting(point);
  },
  /** Multi-tab tests: this page reaches other tabs over the BroadcastChannel relay, never the SharedWorker broker. */
  forceBroadcastChannelRelay(force: boolean): void {
    forceBroadcastChannelRelayForTesting(force);
  },
  /** Which path this page takes to another tab's worker. */
  tabPath(): 'SharedWorker' | 'BroadcastChannel' {
    return usesSharedWorker() ? 'SharedWorker' : 'BroadcastChannel';
  },
  /** The keys of the sync metadata records in IndexedDB. */
  async metadataKeys(): Promise<string[]> {
    return (await keys(createStore('walsync', 'metadata'))).map(String);
  },
  /** Moves a sync metadata record to another key (plays an older version's key for a path). */
  async moveMetadata(from: string, to: string): Promise<void> {
    const store = createStore('walsync', 'metadata');
    await set(to, await get(from, store), store);
    await del(from, store);
  },
  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  },
};

declare global {
  interface Window {
    walsync: typeof walsync;
    kit: typeof kit;
    walsyncReady: boolean;
  }
}

// `?relay` in the page's url: the BroadcastChannel fallback from the start (it survives reloads).
if (new URLSearchParams(location.search).has('relay')) forceBroadcastChannelRelayForTesting(true);
window.walsync = walsync;
window.kit = kit;
window.walsyncReady = true;
