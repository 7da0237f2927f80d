/**
 * Live-query benchmark page (see ../run-live-bench.ts): the commit-to-watch delay between two
 * clients through a sync server, and what active watches add to a large insert. Times are taken in
 * the page with performance.now(); the Node runner calls `window.liveBench.*`.
 */
import { connect, deleteDatabase, type Database } from '../../../src/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface LatencyOptions {
  readonly url: string;
  readonly commits: number;
  /** The receiving client's background pull interval. */
  readonly pullIntervalMs: number;
  /** Passed to connect() of the receiving client (0: the server answers at once). */
  readonly longPollTimeoutMs: number;
}

/**
 * Client A commits a row, A's background loop pushes it, B's background loop pulls it, B's watch
 * fires: the delay from A's commit resolving to B's watch callback, per commit. Commits are spaced
 * by a random pause so they do not fall in step with B's pull interval.
 */
async function commitToWatch(options: LatencyOptions): Promise<{ delays: number[]; pushed: number[]; pulls: number[]; bringingPulls: number[]; watchAfterPull: number[] }> {
  const run = `${Date.now()}`;
  const a = await connect({ path: `live-a-${run}.db`, url: options.url, clientName: 'live-a' });
  await a.exec('CREATE TABLE IF NOT EXISTS beats(id INTEGER PRIMARY KEY, at REAL)');
  await a.push();
  const b = await connect({ path: `live-b-${run}.db`, url: options.url, clientName: 'live-b', longPollTimeoutMs: options.longPollTimeoutMs });
  const seenAt = new Map<number, number>();
  const stopWatch = b.watch('SELECT max(id) AS id FROM beats', [], (rows) => {
    const id = Number(rows[0]?.id ?? 0);
    if (!seenAt.has(id)) seenAt.set(id, performance.now());
  });
  // When A's pushes end (performance.now()), to split each delay into push and pull + watch.
  const pushEnds: number[] = [];
  let wasUploading = false;
  a.onSyncStatus((st) => {
    if (wasUploading && !st.uploading && st.lastError === null) pushEnds.push(performance.now());
    wasUploading = st.uploading;
  });
  // B's pulls as [start, end] (performance.now()).
  const pullSpans: [number, number][] = [];
  let pullStart = 0;
  b.onSyncStatus((st) => {
    if (st.downloading && pullStart === 0) pullStart = performance.now();
    if (!st.downloading && pullStart !== 0) {
      pullSpans.push([pullStart, performance.now()]);
      pullStart = 0;
    }
  });
  a.startSync({ pushDelayMs: 0, intervalMs: 60_000 });
  b.startSync({ intervalMs: options.pullIntervalMs });
  const delays: number[] = [];
  const pushed: number[] = [];
  const bringingPulls: number[] = [];
  const watchAfterPull: number[] = [];
  try {
    const insert = a.prepare('INSERT INTO beats(id, at) VALUES (?, ?)');
    for (let i = 1; i <= options.commits; i++) {
      await sleep(50 + Math.random() * options.pullIntervalMs);
      await insert.run(i, Date.now());
      const committedAt = performance.now();
      const deadline = committedAt + 30_000;
      while (!seenAt.has(i)) {
        if (performance.now() > deadline) throw new Error(`commit ${i} did not reach the other client's watch within 30 s`);
        await sleep(2);
      }
      delays.push(seenAt.get(i)! - committedAt);
      const pushEnd = pushEnds.find((t) => t >= committedAt);
      if (pushEnd !== undefined) pushed.push(pushEnd - committedAt);
      // The pull that brought it: the last one that ended before the watch fired.
      const seen = seenAt.get(i)!;
      const bringing = pullSpans.filter(([, end]) => end <= seen).at(-1);
      if (bringing) {
        bringingPulls.push(bringing[1] - bringing[0]);
        watchAfterPull.push(seen - bringing[1]);
      }
    }
  } finally {
    stopWatch();
    a.stopSync();
    b.stopSync();
    await a.close();
    await b.close();
    await deleteDatabase(`live-a-${run}.db`).catch(() => undefined);
    await deleteDatabase(`live-b-${run}.db`).catch(() => undefined);
  }
  return { delays, pushed, pulls: pullSpans.map(([start, end]) => end - start), bringingPulls, watchAfterPull };
}

export interface InsertRun {
  /** From the batch's start until it resolved. */
  readonly insertMs: number;
  /** From the batch's start until every watch delivered its new result (= insertMs without watches). */
  readonly settledMs: number;
}

/** The watches: what 50 list views of one table might show (a few rows or a count per group, by index). */
function watchQuery(i: number): { sql: string; args: unknown[] } {
  return i % 2 === 0
    ? { sql: 'SELECT id, title FROM items WHERE grp = ? ORDER BY id DESC LIMIT 10', args: [i] }
    : { sql: 'SELECT count(*) AS n FROM items WHERE grp = ?', args: [i] };
}

/**
 * One insert of `rows` rows in one transaction (db.batch, 'immediate') into a fresh OPFS database
 * with `watches` live queries on the table; returns its times.
 */
async function insertWithWatches(rows: number, watches: number): Promise<InsertRun> {
  const path = `live-insert-${Date.now()}-${Math.random().toString(36).slice(2)}.db`;
  const db: Database = await connect({ path });
  const stops: (() => void)[] = [];
  try {
    await db.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, title TEXT NOT NULL); CREATE INDEX items_grp ON items(grp)');
    const delivered = new Array<number>(watches).fill(0);
    for (let i = 0; i < watches; i++) {
      const q = watchQuery(i);
      stops.push(db.watch(q.sql, q.args, () => delivered[i]!++));
    }
    // Every watch's first result is in before the insert starts.
    while (delivered.some((n) => n === 0)) await sleep(5);
    const statements: { sql: string; args: unknown[] }[] = [];
    for (let i = 1; i <= rows; i++) statements.push({ sql: 'INSERT INTO items(id, grp, title) VALUES (?, ?, ?)', args: [i, i % 50, `item ${i}`] });
    const started = performance.now();
    await db.batch(statements as never, 'immediate');
    const insertMs = performance.now() - started;
    while (delivered.some((n) => n < 2)) await sleep(0);
    const settledMs = performance.now() - started;
    return { insertMs, settledMs };
  } finally {
    for (const stop of stops) stop();
    await db.close();
    await deleteDatabase(path).catch(() => undefined);
  }
}

const liveBench = { commitToWatch, insertWithWatches };
declare global {
  interface Window {
    liveBench: typeof liveBench;
  }
}
window.liveBench = liveBench;
