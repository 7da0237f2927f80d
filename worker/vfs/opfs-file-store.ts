/**
 * FileStores on OPFS sync access handles (dedicated workers only). A handle is exclusive: while this
 * worker holds it no other tab or worker can open the file, which is what keeps two writers apart.
 */
import { WalsyncError } from '../../contract/errors.js';
import type { FileStore } from './file-store.js';

export class OpfsFileStore implements FileStore {
  readonly #handle: FileSystemSyncAccessHandle;
  #closed = false;

  constructor(handle: FileSystemSyncAccessHandle) {
    this.#handle = handle;
  }

  read(dest: Uint8Array, at: number): number {
    return this.#handle.read(dest, { at });
  }

  write(src: Uint8Array, at: number): void {
    const n = this.#handle.write(src, { at });
    if (n !== src.length) throw new Error(`short write: ${n} of ${src.length} bytes`);
  }

  size(): number {
    return this.#handle.getSize();
  }

  truncate(size: number): void {
    this.#handle.truncate(size);
  }

  flush(): void {
    this.#handle.flush();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handle.close();
  }
}

/** Checks that this context can use OPFS sync access handles, with a message saying what is missing. */
export function assertOpfsAvailable(): void {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  if (!(globalThis as { isSecureContext?: boolean }).isSecureContext) {
    throw new WalsyncError(
      'OPFS_UNAVAILABLE',
      'OPFS needs a secure context: serve the page over https or from localhost',
    );
  }
  if (!nav?.storage?.getDirectory) {
    throw new WalsyncError('OPFS_UNAVAILABLE', 'this browser has no Origin Private File System (navigator.storage.getDirectory)');
  }
  const fileHandle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  if (!fileHandle || !('createSyncAccessHandle' in fileHandle.prototype)) {
    throw new WalsyncError(
      'OPFS_UNAVAILABLE',
      'this browser cannot open OPFS files synchronously (FileSystemFileHandle.createSyncAccessHandle); use a current Chrome, Edge, Firefox or Safari',
    );
  }
}

/** A database path in its one spelling, and where its files live in OPFS. */
export interface DatabasePath {
  /** The path's one spelling (`"./app.db"` and `"/app.db"` are `"app.db"`): the key of everything per database. */
  readonly normalized: string;
  /** Folders from the OPFS root down to the file. */
  readonly dirs: string[];
  readonly fileName: string;
}

/**
 * Parses a database path; the one place that says which paths are valid and which spellings name the
 * same database. Valid: names separated by `/`, optionally preceded by one `/` or `./` (both mean
 * the OPFS root, so `app.db`, `./app.db` and `/app.db` are one database). Invalid (INVALID_ARGUMENT):
 * an empty path or name (`a//b.db`, `dir/`), a `.` or `..` name, a backslash, a control character
 * such as NUL. Nothing else is rewritten: `App.db` and `app.db` are two databases.
 */
export function parseDatabasePath(path: string): DatabasePath {
  const fail = (reason: string) =>
    new WalsyncError('INVALID_ARGUMENT', `invalid database path ${JSON.stringify(path)}: ${reason}`, { context: { path } });
  if (/[\u0000-\u001f\u007f]/.test(path)) throw fail('it contains a control character (such as NUL)');
  if (path.includes('\\')) throw fail('a backslash is not allowed; separate folders with "/"');
  const relative = path.startsWith('./') ? path.slice(2) : path.startsWith('/') ? path.slice(1) : path;
  const names = relative.split('/');
  if (names.some((n) => n === '')) throw fail('it has an empty name (a "//", or a "/" at the end)');
  if (names.some((n) => n === '.' || n === '..')) throw fail('"." and ".." are not allowed as names');
  return { normalized: names.join('/'), dirs: names.slice(0, -1), fileName: names[names.length - 1]! };
}

export async function openDirectory(dirs: readonly string[]): Promise<FileSystemDirectoryHandle> {
  let dir = await navigator.storage.getDirectory();
  for (const name of dirs) dir = await dir.getDirectoryHandle(name, { create: true });
  return dir;
}

/**
 * Opens (creating if needed) `name` in `dir`. A file another context holds is DATABASE_LOCKED at
 * once, unless `waitMs` > 0: then it is retried for that long, because after a worker of this tab
 * stopped (closed or terminated) the browser releases its handles asynchronously, and reopening
 * the same path a moment later would otherwise fail for nothing. Another tab holding the file is
 * not transient: the facade passes 0 unless its own worker for the path just stopped.
 */
export async function openOpfsFile(dir: FileSystemDirectoryHandle, name: string, waitMs = 0): Promise<OpfsFileStore> {
  const fileHandle = await dir.getFileHandle(name, { create: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return new OpfsFileStore(await fileHandle.createSyncAccessHandle());
    } catch (e) {
      const name_ = (e as { name?: string }).name;
      if (name_ === 'NoModificationAllowedError' || name_ === 'InvalidStateError') {
        if (Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new WalsyncError('DATABASE_LOCKED', `the database file ${name} is open in another tab or worker`, {
          context: { file: name },
          cause: e,
        });
      }
      if (name_ === 'QuotaExceededError') {
        throw new WalsyncError('QUOTA_EXCEEDED', `storage quota exceeded while opening ${name}`, { cause: e });
      }
      throw new WalsyncError('IO_ERROR', `could not open OPFS file ${name}: ${(e as Error).message}`, { cause: e });
    }
  }
}
