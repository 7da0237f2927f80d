/** Loads sqlite-wasm once per worker and installs our VFS into it. */
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncVfs } from './vfs/walsync-vfs.js';

export interface SqliteRuntime {
  readonly sqlite3: Sqlite3Static;
  readonly vfs: WalsyncVfs;
}

let runtime: Promise<SqliteRuntime> | undefined;
/** When the runtime became ready (epoch ms, see OpenResult.startup); 0 until then. */
let readyAt = 0;

/** Epoch ms with sub-ms precision, comparable between the page and its workers. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** When loadSqliteRuntime() first resolved (epoch ms), or 0. */
export function runtimeReadyAt(): number {
  return readyAt;
}

export function loadSqliteRuntime(): Promise<SqliteRuntime> {
  runtime ??= (async () => {
    // Quiet: sqlite-wasm otherwise logs a banner and notes about VFSes we do not use.
    // sqlite-wasm's own OPFS VFSes each start a helper worker (and download its script) in
    // cross-origin-isolated pages; walsync has its own VFS, so switch them off before init.
    (globalThis as { sqlite3ApiConfig?: object }).sqlite3ApiConfig = {
      disable: { vfs: { opfs: true, 'opfs-vfs': true, 'opfs-wl': true, kvvfs: true } },
    };
    const init = sqlite3InitModule as unknown as (options: object) => Promise<Sqlite3Static>;
    // sqlite-wasm fetches sqlite3.wasm with WebAssembly.instantiateStreaming, so the browser's code
    // cache serves the compiled module on repeat visits.
    const sqlite3 = await init({ print: () => {}, printErr: () => {} });
    const loaded = { sqlite3, vfs: WalsyncVfs.install(sqlite3) };
    readyAt = epochNow();
    return loaded;
  })();
  return runtime;
}
