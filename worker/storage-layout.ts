/**
 * What one walsync database is made of in the browser's storage: its OPFS files and its IndexedDB
 * metadata record. The one place that says so: the worker opens these files, `deleteDatabase()`
 * removes them, and the demo and the benchmarks use it for their cleanups. Pure data: importable
 * from the main thread and from workers.
 */

/**
 * OPFS file name suffixes of a database at `<path>`: SQLite's three (the database, its write-ahead
 * log, its rollback journal), then the sync engine's two (revert store, pull download buffer).
 * The main file comes first: removing it first means a database held open elsewhere is left whole.
 */
export const DATABASE_FILE_SUFFIXES = ['', '-wal', '-journal', '-revert', '-changes'] as const;

/** Sync metadata lives in IndexedDB: this database and object store, one record per database path. */
export const METADATA_IDB_DATABASE = 'walsync';
export const METADATA_IDB_STORE = 'metadata';

/** The key of a database's sync metadata record in the metadata store. */
export function metadataKey(path: string): string {
  return `db:${path}`;
}

