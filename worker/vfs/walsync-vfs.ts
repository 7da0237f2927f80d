/**
 * Our SQLite VFS. Every file SQLite opens maps to a FileStore: the database, its WAL and its rollback
 * journal must be registered beforehand (OPFS handles are opened asynchronously, SQLite's xOpen is
 * synchronous); temp files live in memory. Locks are in-process only: one worker owns a database, and
 * the OPFS sync access handles themselves keep other tabs and workers out.
 */
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { type FileStore, MemoryFileStore } from './file-store.js';

export const WALSYNC_VFS_NAME = 'walsync';
/** sqlite3.h's SQLITE_IOCAP_POWERSAFE_OVERWRITE (sqlite-wasm's capi does not export it). */
const SQLITE_IOCAP_POWERSAFE_OVERWRITE = 0x00001000;

interface OpenFile {
  readonly name: string;
  readonly store: FileStore;
  readonly deleteOnClose: boolean;
}

/** The error behind the last failed I/O call, so the worker can say "quota exceeded" instead of "disk I/O error". */
export interface VfsIoFailure {
  readonly file: string;
  readonly operation: string;
  readonly error: unknown;
}

export class WalsyncVfs {
  readonly #files = new Map<string, FileStore>();
  readonly #open = new Map<number, OpenFile>();
  #lastFailure: VfsIoFailure | null = null;

  /** Installs the VFS into this sqlite3 module instance (once per instance). */
  static install(sqlite3: Sqlite3Static): WalsyncVfs {
    const vfs = new WalsyncVfs();
    vfs.#install(sqlite3);
    return vfs;
  }

  /** Makes `store` the file SQLite gets when it opens `name`. */
  registerFile(name: string, store: FileStore): void {
    this.#files.set(name, store);
  }

  unregisterFile(name: string): void {
    this.#files.delete(name);
  }

  /** Returns and clears the last I/O failure. */
  takeLastFailure(): VfsIoFailure | null {
    const f = this.#lastFailure;
    this.#lastFailure = null;
    return f;
  }

  #install(sqlite3: Sqlite3Static): void {
    // The published typings do not describe the struct binder's `$`-prefixed members or the
    // installVfs() signatures this low-level wiring needs, so this one function works untyped.
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const { capi, wasm } = sqlite3 as any;
    const installVfs = (sqlite3 as any).vfs.installVfs.bind((sqlite3 as any).vfs) as (opt: unknown) => void;
    const heap = (): Uint8Array => wasm.heap8u();
    const openFiles = this.#open;
    const files = this.#files;
    const fail = (file: string, operation: string, error: unknown, rc: number): number => {
      this.#lastFailure = { file, operation, error };
      return isQuotaError(error) ? capi.SQLITE_FULL : rc;
    };
    const fileOf = (pFile: number): OpenFile => {
      const f = openFiles.get(Number(pFile));
      if (!f) throw new Error(`walsync VFS: unknown file handle ${pFile}`);
      return f;
    };

    const io = new capi.sqlite3_io_methods();
    io.$iVersion = 1;
    installVfs({
      io: {
        struct: io,
        methods: {
          xClose: (pFile: number) => {
            const f = openFiles.get(Number(pFile));
            openFiles.delete(Number(pFile));
            if (f?.deleteOnClose) f.store.truncate(0);
            return 0;
          },
          xRead: (pFile: number, pDest: number, n: number, offset: bigint | number) => {
            const f = fileOf(pFile);
            const dest = heap().subarray(Number(pDest), Number(pDest) + n);
            try {
              const got = f.store.read(dest, Number(offset));
              if (got < n) {
                dest.fill(0, got);
                return capi.SQLITE_IOERR_SHORT_READ;
              }
              return 0;
            } catch (e) {
              return fail(f.name, 'read', e, capi.SQLITE_IOERR_READ);
            }
          },
          xWrite: (pFile: number, pSrc: number, n: number, offset: bigint | number) => {
            const f = fileOf(pFile);
            try {
              f.store.write(heap().subarray(Number(pSrc), Number(pSrc) + n), Number(offset));
              return 0;
            } catch (e) {
              return fail(f.name, 'write', e, capi.SQLITE_IOERR_WRITE);
            }
          },
          xTruncate: (pFile: number, size: bigint | number) => {
            const f = fileOf(pFile);
            try {
              f.store.truncate(Number(size));
              return 0;
            } catch (e) {
              return fail(f.name, 'truncate', e, capi.SQLITE_IOERR_TRUNCATE);
            }
          },
          xSync: (pFile: number) => {
            const f = fileOf(pFile);
            try {
              f.store.flush();
              return 0;
            } catch (e) {
              return fail(f.name, 'sync', e, capi.SQLITE_IOERR_FSYNC);
            }
          },
          xFileSize: (pFile: number, pSize: number) => {
            const f = fileOf(pFile);
            try {
              wasm.poke64(pSize, BigInt(f.store.size()));
              return 0;
            } catch (e) {
              return fail(f.name, 'size', e, capi.SQLITE_IOERR_FSTAT);
            }
          },
          // One connection per database file: locks only need to succeed.
          xLock: () => 0,
          xUnlock: () => 0,
          xCheckReservedLock: (_pFile: number, pOut: number) => {
            wasm.poke32(pOut, 0);
            return 0;
          },
          xFileControl: () => capi.SQLITE_NOTFOUND,
          xSectorSize: () => 4096,
          // Honest: OPFS gives no atomic or sequential-write guarantees, only that an open file stays
          // put. Power-safe overwrite (a write changes no byte outside its range, even on power loss)
          // is what SQLite's own unix and Windows VFSes assume by default for the same file systems
          // OPFS lives on; without it SQLite pads every synced WAL commit to a 4096-byte sector
          // boundary by writing its last frame again, twice the frames and bytes per commit.
          xDeviceCharacteristics: () => capi.SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN | SQLITE_IOCAP_POWERSAFE_OVERWRITE,
        },
      },
    });

    const registeredKinds =
      capi.SQLITE_OPEN_MAIN_DB | capi.SQLITE_OPEN_MAIN_JOURNAL | capi.SQLITE_OPEN_WAL;
    let tempCounter = 0;
    const vfsStruct = new capi.sqlite3_vfs();
    const defaultVfs = new capi.sqlite3_vfs(capi.sqlite3_vfs_find(null));
    vfsStruct.$iVersion = 2;
    vfsStruct.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
    vfsStruct.$mxPathname = 1024;
    vfsStruct.$xRandomness = defaultVfs.$xRandomness;
    defaultVfs.dispose();
    installVfs({
      vfs: {
        struct: vfsStruct,
        name: WALSYNC_VFS_NAME,
        methods: {
          xOpen: (_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number) => {
            const name: string = zName ? wasm.cstrToJs(zName) : `temp-${++tempCounter}`;
            let store = files.get(name);
            if (!store) {
              if (flags & registeredKinds) {
                this.#lastFailure = { file: name, operation: 'open', error: new Error(`file ${name} is not registered`) };
                return capi.SQLITE_CANTOPEN;
              }
              store = new MemoryFileStore();
            }
            openFiles.set(Number(pFile), {
              name,
              store,
              deleteOnClose: (flags & capi.SQLITE_OPEN_DELETEONCLOSE) !== 0,
            });
            const file = new capi.sqlite3_file(pFile);
            file.$pMethods = io.pointer;
            file.dispose();
            if (pOutFlags) wasm.poke32(pOutFlags, flags);
            return 0;
          },
          xDelete: (_pVfs: number, zName: number) => {
            // Registered files keep their handle; "deleting" one empties it.
            files.get(wasm.cstrToJs(zName))?.truncate(0);
            return 0;
          },
          xAccess: (_pVfs: number, zName: number, _flags: number, pOut: number) => {
            const store = files.get(wasm.cstrToJs(zName));
            wasm.poke32(pOut, store && store.size() > 0 ? 1 : 0);
            return 0;
          },
          xFullPathname: (_pVfs: number, zName: number, nOut: number, pOut: number) =>
            wasm.cstrncpy(pOut, zName, nOut) < nOut ? 0 : capi.SQLITE_CANTOPEN,
          xCurrentTime: (_pVfs: number, pOut: number) => {
            wasm.poke(pOut, 2440587.5 + Date.now() / 86400000, 'double');
            return 0;
          },
          xCurrentTimeInt64: (_pVfs: number, pOut: number) => {
            wasm.poke(pOut, 210866760000000n + BigInt(Date.now()), 'i64');
            return 0;
          },
          // Nothing else in this thread could release a lock while we sleep.
          xSleep: () => 0,
          xGetLastError: (_pVfs: number, nOut: number, pOut: number) => {
            const failure = this.#lastFailure;
            if (failure && nOut > 0) {
              const text = `${failure.operation} ${failure.file}: ${String((failure.error as Error)?.message ?? failure.error)}`;
              const bytes = new TextEncoder().encode(text).subarray(0, nOut - 1);
              heap().set(bytes, Number(pOut));
              heap()[Number(pOut) + bytes.length] = 0;
            }
            return 0;
          },
        },
      },
    });
  }
}

export function isQuotaError(e: unknown): boolean {
  return (
    typeof e === 'object' && e !== null && (e as { name?: string }).name === 'QuotaExceededError'
  );
}
