/**
 * Opens a database for one storage kind the way a user would: through the public connect(). For
 * sqlite-wasm's opfs-sahpool VFS, connect() runs in the benchmarks' comparison worker
 * (sahpool-worker.ts: the library's worker host opening its database on the pool), so the columns
 * differ only in storage: same facade, same calls, same worker code.
 */
import { connect } from '../../src/connect.js';
import type { Database } from '../../src/database.js';
import { startNextWorkerWithForTesting } from '../../src/testing-hooks.js';
import { type SahpoolMode, sahpoolWorkerName } from './sahpool-storage.js';

/** The three columns of the main table. */
export type BenchStorage = 'opfs' | 'opfs-sahpool' | 'memory';
/**
 * The commit table's variants: walsync with `durability: 'normal'`, walsync synced (change capture on;
 * a `url` function returning null keeps sync deferred, so no server is needed), and the flush floor:
 * opfs-sahpool in WAL mode with synchronous=FULL (one OPFS flush per commit, nothing else).
 */
export type CommitStorage = 'opfs-normal' | 'opfs-synced' | 'opfs-sahpool-wal' | 'opfs-sahpool-wal-normal';
export type AnyBenchStorage = BenchStorage | CommitStorage;

/** Durability for every file-backed run: the library's default (`full`: sync the log at every commit). */
const SYNCHRONOUS = 'full';

export async function openDatabase(storage: AnyBenchStorage, path: string): Promise<Database> {
  switch (storage) {
    case 'opfs':
      return connect({ path, durability: SYNCHRONOUS });
    case 'opfs-normal':
      return connect({ path, durability: 'normal' });
    case 'opfs-synced':
      return connect({ path, durability: SYNCHRONOUS, url: () => null });
    case 'memory':
      return connect({ path: ':memory:' });
    case 'opfs-sahpool':
      return connectOnSahpool('sahpool', path, SYNCHRONOUS);
    case 'opfs-sahpool-wal':
      return connectOnSahpool('sahpool-wal', path, SYNCHRONOUS);
    case 'opfs-sahpool-wal-normal':
      return connectOnSahpool('sahpool-wal', path, 'normal');
  }
}

function startSahpoolWorker(mode: SahpoolMode): Worker {
  return new Worker(new URL('./sahpool-worker.ts', import.meta.url), { type: 'module', name: sahpoolWorkerName(mode) });
}

/**
 * The cold-start run loads this page with `?prewarm=sahpool` for the sahpool column: the comparison
 * worker then starts as the page loads, as the library's own is prewarmed (src/worker-start.ts), and
 * the first sahpool open adopts it. (The library's prewarmed worker starts in that page too, idle.)
 */
let prewarmedSahpool: Worker | null = new URLSearchParams(location.search).get('prewarm') === 'sahpool' ? startSahpoolWorker('sahpool') : null;

async function connectOnSahpool(mode: SahpoolMode, path: string, durability: 'full' | 'normal'): Promise<Database> {
  const prewarmed = mode === 'sahpool' ? prewarmedSahpool : null;
  if (prewarmed) prewarmedSahpool = null;
  startNextWorkerWithForTesting(() => prewarmed ?? startSahpoolWorker(mode));
  try {
    return await connect({ path, durability });
  } finally {
    // Applies to this open only, even when it failed before starting a worker.
    startNextWorkerWithForTesting(null);
  }
}
