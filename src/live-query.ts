/**
 * Live queries: a query that runs at once, then again whenever a table it reads changes, and hands
 * over its rows only when they differ from the rows it handed over last.
 */
import { WalsyncError, isWalsyncError } from '../contract/errors.js';
import type { QueryResult, SqlValue } from '../contract/worker-api.js';
import { type Row, toRows } from './rows.js';
import type { TablesChangedListener } from './table-changes.js';

/** Options of `db.watch()`. */
export interface WatchOptions {
  /**
   * Called when a run of the query fails (e.g. `no such table`). The watch goes on: the next change
   * of any table runs the query again; but a statement a watch cannot take (one that writes:
   * `INVALID_ARGUMENT`) ends it. Without it, the error goes to `console.error`. A closed
   * database ends the watch without an error.
   */
  onError?: (error: WalsyncError) => void;
}

/** @internal What a live query needs from its database. */
export interface LiveQuerySource {
  /** Runs the query outside any open transaction (waits for it to end) and names the tables it read. */
  run(): Promise<QueryResult & { tables: string[] }>;
  /** Listens for table changes; `ready` settles once changes are reported. */
  subscribe(listener: TablesChangedListener): { unsubscribe: () => void; ready: Promise<void> };
}

/** @internal One running watch. */
export class LiveQuery {
  readonly #source: LiveQuerySource;
  readonly #deliver: (rows: Row[]) => void;
  readonly #fail: (error: WalsyncError) => void;
  readonly #ended: () => void;
  #unsubscribe: (() => void) | null = null;
  #stopped = false;
  #running = false;
  /** A change arrived while a run was in flight: run once more after it, so the last change is never missed. */
  #dirty = false;
  /** Lower-cased names of the tables the last successful run read; null: unknown, any change re-runs. */
  #tables: Set<string> | null = null;
  #last: QueryResult | null = null;

  constructor(source: LiveQuerySource, deliver: (rows: Row[]) => void, fail: (error: WalsyncError) => void, ended: () => void = () => undefined) {
    this.#source = source;
    this.#deliver = deliver;
    this.#fail = fail;
    this.#ended = ended;
  }

  /** Subscribes first, then runs: a change made after the subscription is either in the run or re-runs it. */
  start(): void {
    const { unsubscribe, ready } = this.#source.subscribe((tables) => this.#onChange(tables));
    this.#unsubscribe = unsubscribe;
    // The first run waits for the notices to be on; if turning them on failed, the run reports why.
    ready.then(
      () => this.#schedule(),
      () => this.#schedule(),
    );
  }

  /** Stops for good; `ended` tells an iterator to finish (the database closed). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#ended();
  }

  #onChange(tables: ReadonlySet<string>): void {
    if (this.#stopped) return;
    const reads = this.#tables;
    if (reads !== null && ![...tables].some((t) => reads.has(t.toLowerCase()))) return;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      do {
        this.#dirty = false;
        let result: QueryResult & { tables: string[] };
        try {
          result = await this.#source.run();
        } catch (e) {
          if (this.#stopped) return;
          if (isWalsyncError(e, 'DATABASE_CLOSED')) {
            this.stop();
            return;
          }
          this.#tables = null;
          this.#fail(e instanceof WalsyncError ? e : new WalsyncError('INTERNAL', String((e as Error)?.message ?? e), { cause: e }));
          // A statement that writes (or two of them) stays invalid whatever changes: stop for good.
          if (isWalsyncError(e, 'INVALID_ARGUMENT')) {
            this.stop();
            return;
          }
          continue;
        }
        if (this.#stopped) return;
        this.#tables = new Set(result.tables.map((t) => t.toLowerCase()));
        if (this.#last === null || !sameResult(this.#last, result)) {
          this.#last = { columns: result.columns, rows: result.rows };
          this.#deliver(toRows(result.columns, result.rows));
        }
      } while (this.#dirty && !this.#stopped);
    } finally {
      this.#running = false;
    }
  }
}

/** Column names and every value equal (blobs byte by byte): cheap next to the query, no serializing. */
export function sameResult(a: QueryResult, b: QueryResult): boolean {
  if (a.columns.length !== b.columns.length || a.rows.length !== b.rows.length) return false;
  for (let i = 0; i < a.columns.length; i++) if (a.columns[i] !== b.columns[i]) return false;
  for (let r = 0; r < a.rows.length; r++) {
    const x = a.rows[r]!;
    const y = b.rows[r]!;
    if (x.length !== y.length) return false;
    for (let c = 0; c < x.length; c++) if (!sameValue(x[c]!, y[c]!)) return false;
  }
  return true;
}

function sameValue(x: SqlValue, y: SqlValue): boolean {
  if (x instanceof Uint8Array || y instanceof Uint8Array) {
    if (!(x instanceof Uint8Array && y instanceof Uint8Array) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  // 1 and 1n are different results (the app sees a number or a bigint); Object.is keeps -0 apart too.
  return Object.is(x, y);
}

/**
 * The async-iterable form of a watch: each `next()` gives the newest result not yet seen (results
 * that came and went while the loop body ran are skipped: a live query is about the current state).
 * Starts on the first `next()`; `break` (or `return()`) stops the watch; a failing query throws.
 */
export function liveIterator(start: (deliver: (rows: Row[]) => void, fail: (e: WalsyncError) => void, ended: () => void) => () => void): AsyncIterableIterator<Row[]> {
  let stop: (() => void) | null = null;
  let pending: { rows: Row[] } | null = null;
  let error: WalsyncError | null = null;
  let done = false;
  let waiter: { resolve: (r: IteratorResult<Row[]>) => void; reject: (e: unknown) => void } | null = null;
  const settle = (): void => {
    if (!waiter) return;
    const w = waiter;
    if (pending) {
      waiter = null;
      const { rows } = pending;
      pending = null;
      w.resolve({ value: rows, done: false });
    } else if (error) {
      waiter = null;
      const e = error;
      error = null;
      w.reject(e);
    } else if (done) {
      waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  };
  const finish = (): void => {
    done = true;
    const s = stop;
    stop = null;
    s?.();
  };
  const iterator: AsyncIterableIterator<Row[]> = {
    next() {
      if (!stop && !done) {
        stop = start(
          (rows) => {
            pending = { rows };
            settle();
          },
          (e) => {
            error = e;
            finish();
            settle();
          },
          () => {
            done = true;
            settle();
          },
        );
      }
      return new Promise<IteratorResult<Row[]>>((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      });
    },
    return() {
      finish();
      pending = null;
      if (waiter) {
        waiter.resolve({ value: undefined, done: true });
        waiter = null;
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
