/**
 * Cold start: fetches and compiles SQLite's wasm from the moment the worker's script starts to run,
 * so the download and the compile (on the browser's background threads, streamed, served from its
 * code cache on repeat visits) overlap the evaluation of the rest of the worker's modules instead of
 * following it. worker/index.ts imports this module first, so its top level runs before any other
 * module of the worker is evaluated. Only the worker imports it (never Node or the page).
 *
 * The URL names the same file sqlite-wasm loads itself: its package's `sqlite3.wasm`, which
 * bundlers emit as one asset for both references. The published build points it at the copy
 * beside the vendored module (scripts/vendor-sqlite.ts rewrites it and fails if it cannot).
 */
const SQLITE_WASM_URL = new URL('../node_modules/@sqlite.org/sqlite-wasm/dist/sqlite3.wasm', import.meta.url);

function prefetch(): Promise<WebAssembly.Module> | null {
  if (typeof fetch !== 'function' || typeof WebAssembly === 'undefined' || typeof WebAssembly.compileStreaming !== 'function') return null;
  try {
    const compiled = WebAssembly.compileStreaming(fetch(SQLITE_WASM_URL, { credentials: 'same-origin' }));
    compiled.catch(() => undefined); // loadSqliteRuntime() reports it
    return compiled;
  } catch {
    return null;
  }
}

/** SQLite's wasm, compiling since the worker started (null where the browser cannot stream). */
export const prefetchedSqliteWasm: Promise<WebAssembly.Module> | null = prefetch();
