/** The files behind one walsync database: opening them in OPFS (all at once) and registering them with the VFS, and closing them. */
import type { SqliteRuntime } from './sqlite-module.js';
import type { FileStore } from './vfs/file-store.js';
import { AppendCoalescingStore } from './vfs/append-coalescing-store.js';
import { PreallocatingStore } from './vfs/preallocating-store.js';
import { ReadAheadStore } from './vfs/read-ahead-store.js';
import { DATABASE_FILE_SUFFIXES } from './storage-layout.js';
import {
  assertOpfsAvailable,
  openDirectory,
  openOpfsFile,
  parseDatabasePath,
} from './vfs/opfs-file-store.js';

/** The files behind a walsync database, as the VFS and the engine see them. */
export interface DatabaseFiles {
  /** Name SQLite opens (registered with the VFS). */
  readonly name: string;
  readonly db: FileStore;
  readonly wal: FileStore;
  readonly journal: FileStore;
  /** The sync engine's revert store (`<db>-revert`). */
  readonly revert: FileStore;
  /** The sync engine's download buffer (`<db>-changes`). */
  readonly changes: FileStore;
  readonly directory: FileSystemDirectoryHandle | null;
  readonly baseName: string;
}

/** Opens the OPFS files of `path` and registers them with the VFS (no SQLite connection yet). */
export async function openOpfsDatabaseFiles(runtime: SqliteRuntime, path: string, lockWaitMs: number): Promise<DatabaseFiles> {
  return registerDatabaseFiles(runtime, await openDatabaseFileHandles(path, lockWaitMs));
}

/**
 * Opens the OPFS files of `path` without SQLite: the worker opens them while the wasm still loads
 * (cold start). registerDatabaseFiles() then gives them to the VFS; until then
 * closeDatabaseFileHandles() is how to let go of them.
 */
export async function openDatabaseFileHandles(path: string, lockWaitMs: number): Promise<DatabaseFiles> {
  assertOpfsAvailable();
  const { dirs, fileName } = parseDatabasePath(path);
  const directory = await openDirectory(dirs);
  // All at once: each open is an asynchronous round trip to the browser's storage process.
  const attempts = await Promise.allSettled(DATABASE_FILE_SUFFIXES.map((suffix) => openOpfsFile(directory, fileName + suffix, lockWaitMs)));
  const failed = attempts.find((a): a is PromiseRejectedResult => a.status === 'rejected');
  if (failed) {
    for (const a of attempts) if (a.status === 'fulfilled') a.value.close();
    throw failed.reason;
  }
  const opened: FileStore[] = attempts.map((a) => (a as PromiseFulfilledResult<FileStore>).value);
  const name = `/${[...dirs, fileName].join('/')}`;
  const files: DatabaseFiles = {
    name,
    // A scan (the first count(*) after a bootstrap or pull) reads pages in file order: a megabyte
    // per OPFS call instead of a page (read-ahead-store.ts).
    db: new ReadAheadStore(opened[0]!),
    // SQLite writes each WAL frame as two writes (header, page): one OPFS write call instead; the
    // log grows a chunk ahead, so a commit's write and flush do not extend the file; and scans
    // read ahead as the database file's do.
    wal: new ReadAheadStore(new AppendCoalescingStore(new PreallocatingStore(opened[1]!))),
    journal: opened[2]!,
    revert: opened[3]!,
    changes: opened[4]!,
    directory,
    baseName: fileName,
  };
  return files;
}

/** Makes `files` the ones SQLite gets when it opens the database's name. */
export function registerDatabaseFiles(runtime: SqliteRuntime, files: DatabaseFiles): DatabaseFiles {
  runtime.vfs.registerFile(files.name, files.db);
  runtime.vfs.registerFile(`${files.name}-wal`, files.wal);
  runtime.vfs.registerFile(`${files.name}-journal`, files.journal);
  return files;
}

/** Unregisters the files from the VFS and closes them. */
export function closeDatabaseFiles(runtime: SqliteRuntime, files: DatabaseFiles): void {
  for (const suffix of ['', '-wal', '-journal']) runtime.vfs.unregisterFile(files.name + suffix);
  closeDatabaseFileHandles(files);
}

/** Closes the files (registered with no VFS, or unregistered already). */
export function closeDatabaseFileHandles(files: DatabaseFiles): void {
  for (const f of [files.db, files.wal, files.journal, files.revert, files.changes]) f.close();
}
