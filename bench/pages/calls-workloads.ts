/**
 * The call-cost workloads (issue 13, "Calls"): statement calls over each transport — shared memory
 * (the page is cross-origin isolated) and postMessage (what a page without COOP/COEP gets; forced
 * here with the test hook, in the same isolated page, so both run under the same load) — next to
 * the floors: a bare postMessage echo and a bare shared-memory echo.
 */
import { type Database, channelOf } from '../../src/database.js';
import { setStatementTransportForTesting } from '../../src/testing-hooks.js';
import { openDatabase } from './open-database.js';
import { removeBenchDatabase } from './opfs-cleanup.js';
import { uniquePath } from './workloads.js';

export type CallTransport = 'shared' | 'port';
export type CallStorage = 'opfs' | 'memory';
/** The call-split tools also take OPFS with durability 'normal' (one OPFS write per commit, no flush). */
export type SplitStorage = CallStorage | 'opfs-normal';

const CREATE_TABLE = 'CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value INTEGER NOT NULL)';
const INSERT = 'INSERT INTO items(id, name, value) VALUES (?, ?, ?)';

/** Per-call figures in µs. */
export interface CallStats {
  readonly medianUs: number;
  readonly p99Us: number;
  readonly meanUs: number;
  /** Shared memory only: the share of calls the page parked on Atomics.waitAsync for, and that needed a Kick message. */
  readonly parked?: number;
  readonly kicked?: number;
}

function stats(samples: Float64Array, totalMs: number): CallStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    medianUs: sorted[Math.floor(sorted.length / 2)]! * 1000,
    p99Us: sorted[Math.floor(sorted.length * 0.99)]! * 1000,
    meanUs: (totalMs / samples.length) * 1000,
  };
}

async function openWith(transport: CallTransport, storage: SplitStorage, label: string): Promise<{ db: Database; path: string }> {
  setStatementTransportForTesting(transport === 'port' ? 'port' : 'auto');
  const path = uniquePath(label);
  try {
    const db = await openDatabase(storage, path);
    const used = channelOf(db).statementTransport;
    if (used !== transport) throw new Error(`asked for ${transport} calls, got ${used} (is the page cross-origin isolated?)`);
    return { db, path };
  } finally {
    setStatementTransportForTesting('auto');
  }
}

async function closeAndRemove(db: Database, storage: SplitStorage, path: string): Promise<void> {
  await db.close();
  await removeBenchDatabase(storage, path);
}

/** Creates the items table with rows 1…`count`. */
async function fillItems(db: Database, count: number): Promise<void> {
  await db.exec(CREATE_TABLE);
  await db.batch(Array.from({ length: count }, (_, i) => ({ sql: INSERT, args: [i + 1, `item number ${i + 1}`, i * 7] })), 'immediate');
}

/** `count` awaited get() by primary key in pseudo-random order over rows 1…`count`; ms. */
async function pointSelectLoop(db: Database, count: number): Promise<number> {
  const select = db.prepare('SELECT id, name, value FROM items WHERE id = ?');
  let seed = 12345;
  let found = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    if (await select.get((seed % count) + 1)) found++;
  }
  const elapsed = performance.now() - started;
  if (found !== count) throw new Error(`point selects found ${found} of ${count}`);
  return elapsed;
}

/** `count` awaited run() inserts (ids after the table's last) inside one transaction(); ms. */
async function insertLoopTx(db: Database, count: number): Promise<number> {
  const first = ((await db.prepare('SELECT max(id) AS top FROM items').pluck().get<number | null>()) ?? 0) + 1;
  const started = performance.now();
  await db.transaction(async (tx) => {
    const insert = tx.prepare(INSERT);
    for (let i = first; i < first + count; i++) await insert.run(i, `item number ${i}`, i * 7);
  }, 'immediate')();
  return performance.now() - started;
}

/** `count` awaited autocommit run() inserts (ids after the table's last); ms. */
async function insertLoopAutocommit(db: Database, count: number): Promise<number> {
  const first = ((await db.prepare('SELECT max(id) AS top FROM items').pluck().get<number | null>()) ?? 0) + 1;
  const insert = db.prepare(INSERT);
  const started = performance.now();
  for (let i = first; i < first + count; i++) await insert.run(i, `item number ${i}`, i * 7);
  return performance.now() - started;
}

/** `count` inserts (ids after the table's last) as one db.batch(…, 'immediate'), building the array included; ms. */
async function insertBatch(db: Database, count: number): Promise<number> {
  const first = ((await db.prepare('SELECT max(id) AS top FROM items').pluck().get<number | null>()) ?? 0) + 1;
  const started = performance.now();
  const statements = new Array<{ sql: string; args: unknown[] }>(count);
  for (let i = 0; i < count; i++) statements[i] = { sql: INSERT, args: [first + i, `item number ${first + i}`, (first + i) * 7] };
  await db.batch(statements, 'immediate');
  return performance.now() - started;
}

/** The database bench/profile-calls.ts profiles (open between callsOpenForProfile and callsCloseProfiled). */
let profiled: { db: Database; storage: CallStorage; path: string } | null = null;

/** Opens a database over `transport` with `rows` items, kept open for callsProfileLoop. */
export async function callsOpenForProfile(transport: CallTransport, storage: CallStorage, rows: number): Promise<void> {
  const { db, path } = await openWith(transport, storage, 'calls-profile');
  profiled = { db, storage, path };
  await fillItems(db, rows);
}

/** One workload on the database callsOpenForProfile opened: `count` point selects, `count` run() in one transaction, or one batch of `count` inserts; ms. */
export function callsProfileLoop(kind: 'get' | 'run-in-tx' | 'batch' | 'run-autocommit', count: number): Promise<number> {
  if (!profiled) throw new Error('callsOpenForProfile() first');
  if (kind === 'get') return pointSelectLoop(profiled.db, count);
  if (kind === 'run-autocommit') return insertLoopAutocommit(profiled.db, count);
  return kind === 'run-in-tx' ? insertLoopTx(profiled.db, count) : insertBatch(profiled.db, count);
}

/** Closes and removes the database callsOpenForProfile opened. */
export async function callsCloseProfiled(): Promise<void> {
  if (!profiled) return;
  const { db, storage, path } = profiled;
  profiled = null;
  await closeAndRemove(db, storage, path);
}

/** `count` awaited get() by primary key over a `count`-row table; ms. */
export async function callsPointSelects(transport: CallTransport, storage: CallStorage, count: number): Promise<number> {
  const { db, path } = await openWith(transport, storage, 'calls-select');
  try {
    await fillItems(db, count);
    return await pointSelectLoop(db, count);
  } finally {
    await closeAndRemove(db, storage, path);
  }
}

/** Where the time of shared-memory point selects goes: the whole loop, and the worker's own serving of each call. */
export interface PointSelectBreakdown {
  readonly ms: number;
  /** Mean µs the worker spent serving a call (SQLite and walsync's work in the worker). */
  readonly servedUs: number;
  /** Share of calls the page parked on Atomics.waitAsync for. */
  readonly parked: number;
}

/** `count` awaited get() by primary key over shared memory, with the channel's counters read around the loop. */
export async function callsPointSelectBreakdown(storage: SplitStorage, count: number): Promise<PointSelectBreakdown> {
  const { db, path } = await openWith('shared', storage, 'calls-select-split');
  try {
    await fillItems(db, count);
    const counters = channelOf(db).sharedCallCounters!;
    const before = { ...counters };
    const ms = await pointSelectLoop(db, count);
    const calls = counters.calls - before.calls;
    return { ms, servedUs: (counters.servedUs - before.servedUs) / calls, parked: (counters.parks - before.parks) / calls };
  } finally {
    await closeAndRemove(db, storage, path);
  }
}

/** `count` awaited autocommit run() inserts over shared memory, with the channel's counters read around the loop. */
export async function callsAutocommitBreakdown(storage: SplitStorage, count: number): Promise<PointSelectBreakdown & { kicked: number }> {
  const { db, path } = await openWith('shared', storage, 'calls-autocommit-split');
  try {
    await db.exec(CREATE_TABLE);
    const insert = db.prepare(INSERT);
    const counters = channelOf(db).sharedCallCounters!;
    const before = { ...counters };
    const started = performance.now();
    for (let i = 1; i <= count; i++) await insert.run(i, `item number ${i}`, i * 7);
    const ms = performance.now() - started;
    const calls = counters.calls - before.calls;
    return { ms, servedUs: (counters.servedUs - before.servedUs) / calls, parked: (counters.parks - before.parks) / calls, kicked: (counters.kicks - before.kicks) / calls };
  } finally {
    await closeAndRemove(db, storage, path);
  }
}

/** `count` awaited run() inserts inside one transaction(); ms. */
export async function callsInsertLoopTx(transport: CallTransport, storage: CallStorage, count: number): Promise<number> {
  const { db, path } = await openWith(transport, storage, 'calls-txloop');
  try {
    await db.exec(CREATE_TABLE);
    return await insertLoopTx(db, count);
  } finally {
    await closeAndRemove(db, storage, path);
  }
}

/** The same `count` inserts as one db.batch(…, 'immediate'), building the array included; ms. */
export async function callsInsertBatch(transport: CallTransport, storage: CallStorage, count: number): Promise<number> {
  const { db, path } = await openWith(transport, storage, 'calls-batch');
  try {
    await db.exec(CREATE_TABLE);
    const started = performance.now();
    const statements = new Array<{ sql: string; args: unknown[] }>(count);
    for (let i = 0; i < count; i++) statements[i] = { sql: INSERT, args: [i + 1, `item number ${i + 1}`, (i + 1) * 7] };
    await db.batch(statements, 'immediate');
    return performance.now() - started;
  } finally {
    await closeAndRemove(db, storage, path);
  }
}

/** Per-call cost of an awaited `SELECT 1` on :memory:, each call timed on its own. */
export async function callsSelectOne(transport: CallTransport, count: number): Promise<CallStats> {
  const { db, path } = await openWith(transport, 'memory', 'calls-one');
  try {
    const one = db.prepare('SELECT 1 AS one');
    for (let i = 0; i < 200; i++) await one.get(); // warm up (JIT, statement cache)
    const counters = channelOf(db).sharedCallCounters;
    const before = counters ? { ...counters } : null;
    const samples = new Float64Array(count);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await one.get();
      samples[i] = performance.now() - t;
    }
    const result = stats(samples, performance.now() - started);
    if (!counters || !before) return result;
    return { ...result, parked: (counters.parks - before.parks) / count, kicked: (counters.kicks - before.kicks) / count };
  } finally {
    await closeAndRemove(db, 'memory', path);
  }
}

/** Bare postMessage echo round trips to a worker, each timed on its own. */
export async function postMessageEcho(count: number): Promise<CallStats> {
  const worker = new Worker(new URL('./raw-echo-worker.ts', import.meta.url), { type: 'module' });
  try {
    let resolveNext: (v: number) => void = () => undefined;
    worker.onmessage = (event: MessageEvent<number>) => resolveNext(event.data);
    const echo = (value: number) =>
      new Promise<number>((resolve) => {
        resolveNext = resolve;
        worker.postMessage(value);
      });
    for (let i = 0; i < 200; i++) await echo(i);
    const samples = new Float64Array(count);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await echo(i);
      samples[i] = performance.now() - t;
    }
    return stats(samples, performance.now() - started);
  } finally {
    worker.terminate();
  }
}

/**
 * Bare shared-memory echo: the worker blocked in Atomics.wait, the page spinning up to 50 µs on the
 * answer flag before parking on Atomics.waitAsync (walsync's own strategy), each round trip timed.
 */
export async function sharedMemoryEcho(count: number): Promise<CallStats> {
  const worker = new Worker(new URL('./shared-echo-worker.ts', import.meta.url), { type: 'module' });
  const ctrl = new Int32Array(new SharedArrayBuffer(16));
  try {
    await new Promise<void>((resolve) => {
      worker.onmessage = () => resolve();
      worker.postMessage(ctrl.buffer);
    });
    const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> } }).waitAsync;
    const echo = async (value: number): Promise<number> => {
      Atomics.store(ctrl, 2, 0);
      ctrl[1] = value;
      Atomics.store(ctrl, 0, 1);
      Atomics.notify(ctrl, 0);
      const until = performance.now() + 0.05;
      while (Atomics.load(ctrl, 2) === 0) {
        if (performance.now() < until) continue;
        const w = waitAsync(ctrl, 2, 0);
        if (w.async) await w.value;
      }
      return ctrl[1]!;
    };
    for (let i = 0; i < 200; i++) await echo(i);
    const samples = new Float64Array(count);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      if ((await echo(i)) !== i + 1) throw new Error('shared echo answered wrongly');
      samples[i] = performance.now() - t;
    }
    return stats(samples, performance.now() - started);
  } finally {
    Atomics.store(ctrl, 0, 3);
    Atomics.notify(ctrl, 0);
    worker.terminate();
  }
}
