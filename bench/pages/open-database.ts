/**
 * Opens a database for one storage kind the way a user would. walsync's own storages go through the
 * public connect(); sqlite-wasm's opfs-sahpool VFS is only reachable through the internal channel,
 * which runs the very same worker and Database facade, so the three columns differ only in storage.
 */
import { connect } from '../../src/connect.js';
import { Database } from '../../src/database.js';
import { acquireChannel } from '../../src/worker-channel.js';

export type BenchStorage = 'opfs' | 'opfs-sahpool' | 'memory';

/** Durability for every file-backed run: the library's default (`full`: sync the log at every commit). */
const SYNCHRONOUS = 'full';

export async function openDatabase(storage: BenchStorage, path: string): Promise<Database> {
  switch (storage) {
    case 'opfs':
      return connect({ path, durability: SYNCHRONOUS });
    case 'memory':
      return connect({ path: ':memory:' });
    case 'opfs-sahpool': {
      const channel = await acquireChannel({ path, storage: 'opfs-sahpool', synchronous: SYNCHRONOUS });
      return new Database(channel, path, false);
    }
  }
}
