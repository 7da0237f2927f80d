/**
 * The benchmarks' comparison storage, sqlite-wasm's own opfs-sahpool VFS: what the page and its
 * worker (sahpool-worker.ts) agree on. Pure data, importable from both.
 */

/** The folder the pool keeps all of its databases in. */
export const SAHPOOL_DIRECTORY = '.walsync-bench-sahpool';

/** Journal mode DELETE (sqlite-wasm's default for the pool), or WAL with exclusive locking (the flush floor). */
export type SahpoolMode = 'sahpool' | 'sahpool-wal';

/** The worker's name carries its mode (the worker reads it before the facade's open() arrives). */
export function sahpoolWorkerName(mode: SahpoolMode): string {
  return `walsync-bench ${mode}`;
}

export function sahpoolModeOf(workerName: string): SahpoolMode {
  return workerName === sahpoolWorkerName('sahpool-wal') ? 'sahpool-wal' : 'sahpool';
}
