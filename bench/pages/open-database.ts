/**
 * Opens a database for one storage kind the way a user would. walsync's own storages go through the
 * public connect(); sqlite-wasm's opfs-sahpool VFS is only reachable through the internal channel,
 * which runs the very same worker and Database facade, so the columns differ only in storage.
 */
import { connect } from '../../src/connect.js';
import { Database } from '../../src/database.js';
import { acquireChannel } from '../../src/acquire-channel.js';

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
    case 'opfs-sahpool-wal':
    case 'opfs-sahpool-wal-normal': {
      const wal = storage !== 'opfs-sahpool';
      const synchronous = storage === 'opfs-sahpool-wal-normal' ? 'normal' : SYNCHRONOUS;
      const channel = await acquireChannel({ path, storage: wal ? 'opfs-sahpool-wal' : 'opfs-sahpool', synchronous });
      return new Database(channel, path, false);
    }
  }
}
