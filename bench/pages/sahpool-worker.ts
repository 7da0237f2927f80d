/**
 * The benchmarks' comparison worker: the library's own worker host, served the same way, except that
 * a database is opened on sqlite-wasm's opfs-sahpool VFS instead of walsync's, so the bench's
 * columns differ only in storage. The page starts it for one open with startNextWorkerWithForTesting
 * (see open-database.ts); the facade and every call path are the library's.
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import { PAGE_SIZE } from '../../worker/connection.js';
import { LocalDatabase } from '../../worker/local-database.js';
import { serveWorkerHost } from '../../worker/serve-host.js';
import { type SqliteRuntime, epochNow, loadSqliteRuntime } from '../../worker/sqlite-module.js';
import { WorkerHost } from '../../worker/worker-host.js';
import type { OpenRequest } from '../../contract/worker-api.js';
import { SAHPOOL_DIRECTORY, sahpoolModeOf } from './sahpool-storage.js';

const workerReady = epochNow();
const mode = sahpoolModeOf((globalThis as unknown as { name: string }).name);

async function openOnSahpool(runtime: SqliteRuntime, request: OpenRequest): Promise<LocalDatabase> {
  const pool = await runtime.sqlite3.installOpfsSAHPoolVfs({ name: 'walsync-bench-sahpool', directory: SAHPOOL_DIRECTORY });
  const db: Database = new pool.OpfsSAHPoolDb(`/${request.path}`);
  db.exec(`PRAGMA page_size=${PAGE_SIZE}`);
  if (mode === 'sahpool-wal') {
    // The pool has no shared memory: WAL needs exclusive locking (the wal-index lives in the heap).
    db.exec('PRAGMA locking_mode=EXCLUSIVE');
    db.exec('PRAGMA journal_mode=WAL');
  }
  db.exec(`PRAGMA synchronous=${request.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  return LocalDatabase.onConnection(runtime, request, db);
}

serveWorkerHost(new WorkerHost(workerReady, openOnSahpool));
loadSqliteRuntime().catch(() => undefined);
