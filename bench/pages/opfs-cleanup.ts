/** Removes the benchmark's OPFS state, so every run starts from an empty origin. */
import { deleteDatabase } from '../../src/index.js';
import type { AnyBenchStorage } from './open-database.js';
import { SAHPOOL_DIRECTORY } from './sahpool-storage.js';

/** Folder that holds walsync's benchmark databases (connect() paths are `<folder>/<name>.db`). */
export const WALSYNC_BENCH_DIR = 'walsync-bench';

/**
 * Removes one closed benchmark database: walsync's own with deleteDatabase() (its files and any
 * sync metadata), the opfs-sahpool pool by removing its folder; `:memory:` leaves nothing.
 */
export async function removeBenchDatabase(storage: AnyBenchStorage, path: string): Promise<void> {
  if (storage === 'memory') return;
  if (storage.startsWith('opfs-sahpool')) await removeBenchFiles();
  else await deleteDatabase(path);
}

/**
 * Deletes both benchmark folders. A worker that just closed may still hold its sync access handles
 * for a moment (terminate() is asynchronous), so a locked entry is retried briefly.
 */
export async function removeBenchFiles(): Promise<void> {
  const root = await navigator.storage.getDirectory();
  for (const name of [WALSYNC_BENCH_DIR, SAHPOOL_DIRECTORY]) await removeWithRetry(root, name);
}

async function removeWithRetry(root: FileSystemDirectoryHandle, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await root.removeEntry(name, { recursive: true });
      return;
    } catch (e) {
      const error = e as DOMException;
      if (error.name === 'NotFoundError') return;
      if (attempt >= 50) throw new Error(`could not remove OPFS folder ${name}: ${error.name}: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
