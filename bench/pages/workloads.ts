/**
 * The timed workloads. Each runs entirely inside the page, timed with performance.now(), so the
 * Playwright round trip that starts it is not counted. Each gets a fresh database at a unique path;
 * opening, schema creation, closing and file cleanup happen outside the timed section.
 */
import type { Database } from '../../src/database.js';
import { openDatabase, type AnyBenchStorage, type BenchStorage } from './open-database.js';
import { removeBenchDatabase, removeBenchFiles, WALSYNC_BENCH_DIR } from './opfs-cleanup.js';

const CREATE_TABLE = 'CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value INTEGER NOT NULL)';
const INSERT = 'INSERT INTO items(id, name, value) VALUES (?, ?, ?)';
const SELECT_BY_ID = 'SELECT id, name, value FROM items WHERE id = ?';

/** The arguments of row `i` (1-based), the same for every storage. */
function rowArgs(i: number): [number, string, number] {
  return [i, `item number ${i}`, i * 7];
}

let pathCounter = 0;
/** A path nobody used before in this origin, so no run sees another's file. */
export function uniquePath(label: string): string {
  return `${WALSYNC_BENCH_DIR}/${label}-${Date.now()}-${++pathCounter}.db`;
}

/** Opens a fresh database with the items table, runs `timed`, closes it and removes its files. */
async function withFreshDatabase(storage: AnyBenchStorage, label: string, timed: (db: Database) => Promise<void>): Promise<number> {
  const path = uniquePath(label);
  const db = await openDatabase(storage, path);
  try {
    await db.exec(CREATE_TABLE);
    const started = performance.now();
    await timed(db);
    return performance.now() - started;
  } finally {
    await db.close();
    await removeBenchDatabase(storage, path);
  }
}

function insertStatements(count: number): { sql: string; args: unknown[] }[] {
  const statements = new Array<{ sql: string; args: unknown[] }>(count);
  for (let i = 0; i < count; i++) statements[i] = { sql: INSERT, args: rowArgs(i + 1) };
  return statements;
}

/**
 * `count` inserts in one transaction with db.batch(statements, 'immediate'): the API the README
 * names as "the fast way to write many rows" (one worker round trip). Building the statement array
 * is inside the timing, as it is part of what the user's code does.
 */
export function insertManyWithBatch(storage: BenchStorage, count: number): Promise<number> {
  return withFreshDatabase(storage, 'batch', async (db) => {
    const results = await db.batch(insertStatements(count), 'immediate');
    if (results.length !== count) throw new Error(`batch returned ${results.length} results, expected ${count}`);
  });
}

/**
 * `count` inserts in one transaction written the other natural way: db.transaction() with one
 * awaited stmt.run() per row (one worker round trip per row).
 */
export function insertManyInTransactionLoop(storage: BenchStorage, count: number): Promise<number> {
  return withFreshDatabase(storage, 'txloop', async (db) => {
    await db.transaction(async (tx) => {
      const insert = tx.prepare(INSERT);
      for (let i = 1; i <= count; i++) await insert.run(...rowArgs(i));
    }, 'immediate')();
  });
}

/** A run that may stop early: how long it took for how many of the rows it was asked for. */
export interface CappedRun {
  readonly ms: number;
  readonly rows: number;
}

/**
 * `count` inserts, each its own implicit transaction (one commit, so one log sync, per row). Stops
 * early once `capMs` have passed: a slow disk can make one commit take tens of milliseconds, and the
 * runner then scales the time up to `count` rows (commits cost the same whether early or late).
 */
export async function insertAutocommit(storage: AnyBenchStorage, count: number, capMs: number): Promise<CappedRun> {
  let rows = 0;
  const ms = await withFreshDatabase(storage, 'autocommit', async (db) => {
    const insert = db.prepare(INSERT);
    const started = performance.now();
    for (let i = 1; i <= count; i++) {
      await insert.run(...rowArgs(i));
      rows = i;
      if (performance.now() - started > capMs) break;
    }
  });
  return { ms, rows };
}

/**
 * `count` point selects by primary key, one awaited stmt.get() each, over a table of `count` rows
 * (filled untimed). Ids come from a fixed pseudo-random sequence, the same for every storage.
 */
export async function pointSelects(storage: BenchStorage, count: number): Promise<number> {
  const path = uniquePath('select');
  const db = await openDatabase(storage, path);
  try {
    await db.exec(CREATE_TABLE);
    await db.batch(insertStatements(count), 'immediate');
    const select = db.prepare(SELECT_BY_ID);
    let seed = 12345;
    let found = 0;
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648; // a fixed LCG: same ids on every run
      const row = await select.get((seed % count) + 1);
      if (row) found++;
    }
    const elapsed = performance.now() - started;
    if (found !== count) throw new Error(`point selects found ${found} of ${count} rows`);
    return elapsed;
  } finally {
    await db.close();
    await removeBenchDatabase(storage, path);
  }
}

/** Creates the database the cold-start run will open (a file-backed one with some rows), and closes it. */
export async function prepareColdStart(storage: AnyBenchStorage, rows: number): Promise<string> {
  const path = uniquePath('cold');
  if (storage === 'memory') return path; // nothing survives; the cold run opens an empty database
  const db = await openDatabase(storage, path);
  await db.exec(CREATE_TABLE);
  await db.batch(insertStatements(rows), 'immediate');
  await db.close();
  return path;
}

/**
 * Cold start, run first thing in a freshly loaded page: from calling connect() (which starts the
 * worker, loads the wasm and opens the files) to the first query result.
 */
export async function coldStart(storage: BenchStorage, path: string): Promise<number> {
  const started = performance.now();
  const db = await openDatabase(storage, path);
  const row = await db.prepare('SELECT count(*) AS n FROM sqlite_schema').get();
  const elapsed = performance.now() - started;
  if (row === undefined) throw new Error('cold start: the first query returned no row');
  await db.close();
  await removeBenchDatabase(storage, path);
  return elapsed;
}

let profiled: Database | null = null;

/** bench/profile-commits.ts: like insertAutocommit, but leaves the database open (its worker's profile is read first). */
export async function insertAutocommitKeepOpen(storage: AnyBenchStorage, count: number): Promise<CappedRun> {
  const db = await openDatabase(storage, uniquePath('profile'));
  profiled = db;
  await db.exec(CREATE_TABLE);
  const insert = db.prepare(INSERT);
  const started = performance.now();
  for (let i = 1; i <= count; i++) await insert.run(...rowArgs(i));
  return { ms: performance.now() - started, rows: count };
}

/** Closes the database insertAutocommitKeepOpen left open and removes the files. */
export async function closeKeptOpen(): Promise<void> {
  await profiled?.close();
  profiled = null;
  await removeBenchFiles();
}
