/**
 * Sync benchmark page: drives walsync and Turso's @tursodatabase/sync-wasm (loaded on demand) with
 * the same operations, timed in the page with performance.now(). The Node runner calls
 * `window.syncBench.*` through page.evaluate().
 */
import * as walsync from '../../../src/index.js';

type TursoModule = typeof import('@tursodatabase/sync-wasm');
export type Client = 'walsync' | 'turso';

/** What the benchmark needs from either client's database. */
interface SyncDb {
  exec(sql: string): Promise<void>;
  prepare(sql: string): { get(...args: unknown[]): Promise<unknown>; run(...args: unknown[]): Promise<unknown> };
  push(): Promise<void>;
  pull(): Promise<boolean>;
  stats(): Promise<{ networkSentBytes: number; networkReceivedBytes: number; [k: string]: unknown }>;
  close(): Promise<void>;
}

export interface LibBytes {
  sent: number;
  received: number;
}

let tursoLoading: Promise<TursoModule> | undefined;
function loadTurso(): Promise<TursoModule> {
  tursoLoading ??= import('@tursodatabase/sync-wasm');
  return tursoLoading;
}

const dbs = new Map<string, SyncDb>();

function db(path: string): SyncDb {
  const d = dbs.get(path);
  if (!d) throw new Error(`no open database ${path}`);
  return d;
}

/** The engine's trace events of walsync clients (BENCH_TRACE=1), each with the page's time on arrival. */
const traced: { at: number; step: string; fields: Record<string, unknown> }[] = [];

async function connectClient(client: Client, path: string, url: string): Promise<SyncDb> {
  if (client === 'walsync') {
    const tracing = window.syncBenchTrace ? ({ tracing: 'debug', logger: (e: walsync.TraceEvent) => traced.push({ at: performance.now(), step: e.step, fields: { ...e.fields } }) } as const) : {};
    return (await walsync.connect({ path, url, clientName: 'bench-w', ...tracing })) as unknown as SyncDb;
  }
  const turso = await loadTurso();
  return (await turso.connect({ path, url, clientName: 'bench-t' })) as unknown as SyncDb;
}

async function count(d: SyncDb): Promise<number> {
  const row = (await d.prepare('SELECT count(*) AS n FROM items').get()) as { n: number | bigint };
  return Number(row.n);
}

async function libBytes(d: SyncDb): Promise<LibBytes> {
  const s = await d.stats();
  return { sent: s.networkSentBytes, received: s.networkReceivedBytes };
}

/** Deterministic 200-character hex payload for row `id` (same bytes for both clients). */
function payload(id: number): string {
  let x = (id * 2654435761) >>> 0;
  let out = '';
  while (out.length < 200) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, 200);
}

const bench = {
  /** Loads a client's code before anything is timed (for Turso: its module, wasm and worker). */
  async load(client: Client): Promise<number> {
    const t = performance.now();
    if (client === 'turso') await loadTurso();
    return performance.now() - t;
  },

  /** connect() on a fresh path (bootstraps from the server) + SELECT count(*), timed together. */
  async bootstrap(client: Client, path: string, url: string): Promise<{ ms: number; connectMs: number; count: number; lib: LibBytes }> {
    const t0 = performance.now();
    const d = await connectClient(client, path, url);
    const t1 = performance.now();
    let n: number;
    try {
      n = await count(d);
    } catch (e) {
      // Once seen (not reproduced since): a bootstrap that opened empty. Say how long connect took
      // (over bootstrapWaitMs means the documented open-empty path) and what the status said.
      const status = client === 'walsync' ? (d as unknown as walsync.Database).syncStatus : null;
      const said = status ? `; bootstrapped ${status.bootstrapped}, revision ${status.revision}, lastError ${status.lastError?.code ?? 'none'}` : '';
      throw new Error(`${client} bootstrap of ${path}: connect took ${Math.round(t1 - t0)} ms, then count(*) failed: ${(e as Error).message}${said}`);
    }
    const ms = performance.now() - t0;
    dbs.set(path, d);
    return { ms, connectMs: t1 - t0, count: n, lib: await libBytes(d) };
  },

  async open(client: Client, path: string, url: string): Promise<number> {
    const t0 = performance.now();
    dbs.set(path, await connectClient(client, path, url));
    return performance.now() - t0;
  },

  /** Inserts rows [first, first+n) locally in one transaction. */
  async insertLocal(client: Client, path: string, first: number, n: number): Promise<number> {
    const d = db(path);
    const t0 = performance.now();
    const sql = 'INSERT INTO items(id, name, payload) VALUES (?, ?, ?)';
    if (client === 'walsync') {
      const statements = [];
      for (let id = first; id < first + n; id++) statements.push({ sql, args: [id, `item-${id}`, payload(id)] });
      await (d as unknown as walsync.Database).batch(statements, 'immediate');
    } else {
      await d.exec('BEGIN');
      const stmt = d.prepare(sql);
      for (let id = first; id < first + n; id++) await stmt.run(id, `item-${id}`, payload(id));
      await d.exec('COMMIT');
    }
    return performance.now() - t0;
  },

  async libBytes(path: string): Promise<LibBytes> {
    return libBytes(db(path));
  },

  async count(path: string): Promise<number> {
    return count(db(path));
  },

  /** push(), timed. */
  async push(path: string): Promise<{ ms: number }> {
    const d = db(path);
    const t0 = performance.now();
    await d.push();
    return { ms: performance.now() - t0 };
  },

  /** pull() + SELECT count(*), timed together. */
  async pull(path: string): Promise<{ ms: number; pullMs: number; count: number; changed: boolean }> {
    const d = db(path);
    const t0 = performance.now();
    const changed = await d.pull();
    const t1 = performance.now();
    const n = await count(d);
    return { ms: performance.now() - t0, pullMs: t1 - t0, count: n, changed };
  },

  /** Trace events since the last call (BENCH_TRACE=1), times relative to `since` (a performance.now()). */
  takeTrace(): { at: number; step: string; fields: Record<string, unknown> }[] {
    return traced.splice(0);
  },

  async close(path: string): Promise<void> {
    const d = dbs.get(path);
    dbs.delete(path);
    await d?.close();
  },
};

declare global {
  interface Window {
    syncBench: typeof bench;
    /** Set by the runner (BENCH_TRACE=1): walsync clients trace at 'debug' into takeTrace(). */
    syncBenchTrace?: boolean;
    walsyncReady: boolean;
  }
}

window.syncBench = bench;
window.walsyncReady = true;
