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
/** What SQLite's init waits for once its wasm has compiled (see holdSqliteRuntimeLoad). */
let initHold: Promise<void> | null = null;

/** Epoch ms with sub-ms precision, comparable between the page and its workers. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** When loadSqliteRuntime() first resolved (epoch ms), or 0. */
export function runtimeReadyAt(): number {
  return readyAt;
}

/**
 * Holds SQLite's init back until `until` settles (at most `maxMs`), if it has not begun. The init
 * (instantiation, sqlite-wasm's own setup) runs about 50 ms in one piece on this thread. An open's
 * first steps (the IndexedDB record, the OPFS handles, an early bootstrap request) are chains of
 * round trips to the browser, each needing this thread for a moment. Queued behind the init, a
 * first bootstrap's request went out about 90 ms after the open's message arrived; ahead of it,
 * the init runs while the request travels and the server prepares its answer.
 */
export function holdSqliteRuntimeLoad(until: Promise<unknown>, maxMs: number): void {
  initHold = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    const release = () => {
      clearTimeout(timer);
      // One task later: microtasks the settling started (a fetch being issued) run first.
      setTimeout(resolve, 0);
    };
    until.then(release, release);
  });
}

/**
 * Loads SQLite (once per worker; later calls return the first call's promise). `wasm`: its module,
 * already compiling (worker/sqlite-wasm-prefetch.ts); without it sqlite-wasm fetches its own.
 */
export function loadSqliteRuntime(wasm?: Promise<WebAssembly.Module> | null): Promise<SqliteRuntime> {
  runtime ??= (async () => {
    // Quiet: sqlite-wasm otherwise logs a banner and notes about VFSes we do not use.
    // sqlite-wasm's own OPFS VFSes each start a helper worker (and download its script) in
    // cross-origin-isolated pages; walsync has its own VFS, so switch them off before init.
    (globalThis as { sqlite3ApiConfig?: object }).sqlite3ApiConfig = {
      disable: { vfs: { opfs: true, 'opfs-vfs': true, 'opfs-wl': true, kvvfs: true } },
    };
    const init = sqlite3InitModule as unknown as (options: object) => Promise<Sqlite3Static>;
    // Both ways stream (compileStreaming in the prefetch, sqlite-wasm's instantiateStreaming
    // otherwise), so the browser's code cache serves the compiled module on repeat visits. A failed
    // prefetch falls back to sqlite-wasm's own fetch, which reports the failure if it fails too.
    const options: Record<string, unknown> = { print: () => {}, printErr: () => {} };
    const compiled = wasm ? await wasm.catch(() => null) : null;
    if (initHold) await initHold;
    let instantiateFailed: Promise<never> | null = null;
    if (compiled) {
      // Emscripten's hook has no way to report a failure: a failed instantiation rejects the race instead.
      instantiateFailed = new Promise<never>((_, reject) => {
        options.instantiateWasm = (imports: WebAssembly.Imports, ready: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => {
          WebAssembly.instantiate(compiled, imports).then((instance) => ready(instance, compiled), reject);
          return {};
        };
      });
    }
    const sqlite3 = await (instantiateFailed ? Promise.race([init(options), instantiateFailed]) : init(options));
    const loaded = { sqlite3, vfs: WalsyncVfs.install(sqlite3) };
    readyAt = epochNow();
    return loaded;
  })();
  return runtime;
}
