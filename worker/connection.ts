/**
 * Opens SQLite connections with the settings the sync engine depends on. Every connection to a
 * walsync database goes through here, so the settings cannot drift between the worker and tests.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { PAGE_SIZE } from './protocol/pull-updates.js';
import { WALSYNC_VFS_NAME } from './vfs/walsync-vfs.js';

/** The sync protocol's page size (the build's default is 8192): every connection is set to it. */
export { PAGE_SIZE };

const SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE = 1006;

export interface ConnectionSettings {
  /** `synchronous` level: FULL syncs the WAL on every commit; NORMAL only at checkpoints. */
  readonly synchronous: 'full' | 'normal';
}

/**
 * Opens `name` (a file registered with the walsync VFS) read-write in WAL mode:
 * - page_size 4096 before anything is written;
 * - locking_mode EXCLUSIVE first, so WAL works without shared memory (the wal-index lives in the heap);
 * - wal_autocheckpoint 0 and NO_CKPT_ON_CLOSE: only the engine decides when the WAL is folded into
 *   the database file, because frames after the sync watermark are the unsynced local changes.
 */
export function openWalConnection(sqlite3: Sqlite3Static, name: string, settings: ConnectionSettings): Database {
  const db = new sqlite3.oo1.DB({ filename: name, flags: 'c', vfs: WALSYNC_VFS_NAME });
  try {
    sqlite3.capi.sqlite3_db_config(db.pointer!, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, 0);
    db.exec(`PRAGMA page_size=${PAGE_SIZE}`);
    db.exec('PRAGMA locking_mode=EXCLUSIVE');
    const mode = db.selectValue('PRAGMA journal_mode=WAL');
    if (mode !== 'wal') throw new Error(`could not enable WAL mode (journal_mode=${String(mode)})`);
    db.exec('PRAGMA wal_autocheckpoint=0');
    db.exec(`PRAGMA synchronous=${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // Temp tables, indices and sorts stay in memory; they never need to survive a crash.
    db.exec('PRAGMA temp_store=MEMORY');
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Opens a read-only connection to a registered snapshot file (see WalLog.snapshotAt). */
export function openSnapshotConnection(sqlite3: Sqlite3Static, name: string): Database {
  const db = new sqlite3.oo1.DB({ filename: name, flags: 'r', vfs: WALSYNC_VFS_NAME });
  db.exec('PRAGMA query_only=1');
  return db;
}
