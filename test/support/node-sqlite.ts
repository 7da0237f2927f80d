/** sqlite-wasm in Node with the walsync VFS over in-memory files: the VFS and engine layers, minus OPFS. */
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { WalsyncVfs } from '../../worker/vfs/walsync-vfs.js';
import { MemoryFileStore } from '../../worker/vfs/file-store.js';

let loaded: Promise<{ sqlite3: Sqlite3Static; vfs: WalsyncVfs }> | undefined;

export function loadSqlite(): Promise<{ sqlite3: Sqlite3Static; vfs: WalsyncVfs }> {
  loaded ??= (async () => {
    const init = sqlite3InitModule as unknown as (options: object) => Promise<Sqlite3Static>;
    const sqlite3 = await init({ print: () => {}, printErr: () => {} });
    return { sqlite3, vfs: WalsyncVfs.install(sqlite3) };
  })();
  return loaded;
}

export interface MemoryDatabaseFiles {
  readonly name: string;
  readonly db: MemoryFileStore;
  readonly wal: MemoryFileStore;
  readonly journal: MemoryFileStore;
}

let counter = 0;

/** Registers a fresh set of in-memory files (database, WAL, journal) under a unique name. */
export function registerMemoryFiles(vfs: WalsyncVfs, init?: { db?: Uint8Array; wal?: Uint8Array }): MemoryDatabaseFiles {
  const name = `/test-${process.pid}-${++counter}.db`;
  const files = {
    name,
    db: new MemoryFileStore(init?.db),
    wal: new MemoryFileStore(init?.wal),
    journal: new MemoryFileStore(),
  };
  vfs.registerFile(name, files.db);
  vfs.registerFile(`${name}-wal`, files.wal);
  vfs.registerFile(`${name}-journal`, files.journal);
  return files;
}
