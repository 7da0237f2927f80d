/** deleteDatabase(): removes a closed database's files and sync metadata, the way out of any state. */
import { createStore, del } from 'idb-keyval';
import { WalsyncError } from '../contract/errors.js';
import { DATABASE_FILE_SUFFIXES, METADATA_IDB_DATABASE, METADATA_IDB_STORE, metadataKey } from '../worker/storage-layout.js';
import { parseDatabasePath } from '../worker/vfs/opfs-file-store.js';
import { isOpenInThisTab } from './open-channels.js';

/** How long a file still held by a worker that was just closed is waited for (the browser releases handles asynchronously). */
const RELEASE_WAIT_MS = 1000;

/**
 * Deletes the database at `path`: its files in the Origin Private File System and its sync
 * metadata (client id, revision, positions). Afterwards `connect({ path })` starts a new, empty
 * database, and `connect({ path, url })` downloads the server's as on a first start. Changes not
 * pushed are lost with it. Resolves also when there is nothing to delete.
 *
 * The database must be closed: while it is open, in this tab or another one, this rejects with
 * `DATABASE_LOCKED` and deletes nothing.
 */
export async function deleteDatabase(path: string): Promise<void> {
  if (typeof path !== 'string' || path.trim() === '' || path === ':memory:') {
    throw new WalsyncError('INVALID_ARGUMENT', 'deleteDatabase() takes the path of an OPFS database, e.g. "app.db"');
  }
  // One path, one database, however it is spelled (the same rule as connect()).
  const { normalized, dirs, fileName } = parseDatabasePath(path);
  path = normalized;
  if (isOpenInThisTab(path)) {
    throw new WalsyncError('DATABASE_LOCKED', `deleteDatabase(): ${path} is open in this tab; close every handle first`, { context: { path } });
  }
  const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
  if (!storage?.getDirectory) {
    throw new WalsyncError('OPFS_UNAVAILABLE', 'this browser has no Origin Private File System (navigator.storage.getDirectory)');
  }
  const directory = await findDirectory(await storage.getDirectory(), dirs);
  if (directory) {
    // The main file first: while another tab or worker holds the database, its removal fails and
    // nothing is removed; once it is gone, the rest are no longer held either.
    for (const suffix of DATABASE_FILE_SUFFIXES) await removeFile(directory, fileName + suffix, path);
  }
  await del(metadataKey(path), createStore(METADATA_IDB_DATABASE, METADATA_IDB_STORE));
}

async function findDirectory(root: FileSystemDirectoryHandle, dirs: readonly string[]): Promise<FileSystemDirectoryHandle | null> {
  let dir = root;
  for (const name of dirs) {
    try {
      dir = await dir.getDirectoryHandle(name);
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError' || (e as DOMException).name === 'TypeMismatchError') return null;
      throw ioError(e, name);
    }
  }
  return dir;
}

async function removeFile(dir: FileSystemDirectoryHandle, name: string, path: string): Promise<void> {
  const deadline = Date.now() + RELEASE_WAIT_MS;
  for (;;) {
    try {
      await dir.removeEntry(name);
      return;
    } catch (e) {
      const kind = (e as DOMException).name;
      if (kind === 'NotFoundError') return;
      if (kind !== 'NoModificationAllowedError' && kind !== 'InvalidStateError') throw ioError(e, name);
      if (Date.now() >= deadline) {
        throw new WalsyncError('DATABASE_LOCKED', `deleteDatabase(): ${path} is open in another tab or worker; close it there first`, {
          context: { path, file: name },
          cause: e,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function ioError(e: unknown, name: string): WalsyncError {
  return new WalsyncError('IO_ERROR', `deleteDatabase(): could not remove ${name}: ${(e as Error)?.message ?? String(e)}`, { context: { file: name }, cause: e });
}
