/**
 * `walsync/drizzle`: Drizzle ORM on a walsync database, through Drizzle's `sqlite-proxy` driver.
 *
 * ```ts
 * import { connect } from 'walsync';
 * import { drizzle } from 'walsync/drizzle';
 *
 * const orm = drizzle(await connect({ path: 'app.db' }), { schema });
 * await orm.transaction(async (tx) => { ... }); // one walsync transaction
 * ```
 * @packageDocumentation
 */
import type { DrizzleConfig } from 'drizzle-orm';
import { type AsyncBatchRemoteCallback, type AsyncRemoteCallback, type SqliteRemoteDatabase, drizzle as drizzleProxy } from 'drizzle-orm/sqlite-proxy';
import type { BindValue, Database, Transaction, TransactionMode } from './database.js';
import { type HeldTransaction, beginHeldTransaction } from './held-transaction.js';

type Method = 'run' | 'all' | 'values' | 'get';

// The statements Drizzle's sqlite-proxy session sends for db.transaction() (savepoints of nested
// transactions are ordinary statements inside it). "rollback to savepoint" must not match.
const BEGIN = /^\s*begin(?:\s+(deferred|immediate|exclusive))?(?:\s+transaction)?\s*;?\s*$/i;
const COMMIT = /^\s*(?:commit|end)(?:\s+transaction)?\s*;?\s*$/i;
const ROLLBACK = /^\s*rollback(?:\s+transaction)?\s*;?\s*$/i;

/**
 * A Drizzle database (sqlite-proxy) whose queries run on `db`. Drizzle's `transaction()` runs as
 * one walsync transaction (BEGIN, the callback's statements, COMMIT; ROLLBACK if it throws), with
 * its `behavior` as the mode; nested transactions are savepoints inside it. `batch()` runs its
 * statements in one walsync transaction: all of them or none. As with walsync's own
 * `transaction()`, while a Drizzle transaction is open every query on this Drizzle database (and
 * on `db`) runs inside it. Rows are read as arrays, so joined tables' columns of the same name
 * (`users.id`, `posts.id`) keep their own values.
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  db: Database,
  config: DrizzleConfig<TSchema> = {},
): SqliteRemoteDatabase<TSchema> {
  let open: HeldTransaction | null = null;
  // Drizzle transactions on one database take turns: a BEGIN waits until the open transaction
  // ends (on one connection it would fail, and Drizzle's ROLLBACK after that failure would roll
  // back the open transaction, not its own). Resolved when the last queued transaction ends.
  let turn: Promise<void> = Promise.resolve();
  let endTurn: (() => void) | null = null;
  const takeTurn = async (): Promise<() => void> => {
    const previous = turn;
    let release!: () => void;
    turn = new Promise<void>((resolve) => (release = resolve));
    await previous;
    return release;
  };
  const nextTurn = (): void => {
    const release = endTurn;
    endTurn = null;
    release?.();
  };
  // Drizzle sends ROLLBACK after a failed COMMIT; walsync has rolled back already, and an error
  // from that ROLLBACK would replace the COMMIT's in what the app sees.
  let commitFailed = false;

  const query = async (on: Database | Transaction, sql: string, params: readonly unknown[], method: Method): Promise<{ rows: unknown[] }> => {
    const statement = on.prepare(sql);
    const args = params as readonly BindValue[];
    switch (method) {
      case 'run':
        await statement.run(args);
        return { rows: [] };
      case 'get':
        return { rows: (await statement.raw().get<unknown[]>(args)) as unknown[] };
      case 'all':
      case 'values':
        return { rows: await statement.raw().all<unknown[]>(args) };
    }
  };

  const callback: AsyncRemoteCallback = async (sql, params, method) => {
    const begin = BEGIN.exec(sql);
    if (begin) {
      const release = await takeTurn();
      commitFailed = false;
      try {
        open = await beginHeldTransaction(db, (begin[1]?.toLowerCase() ?? 'deferred') as TransactionMode);
      } catch (e) {
        release();
        throw e;
      }
      endTurn = release;
      return { rows: [] };
    }
    if (COMMIT.test(sql) && open) {
      const ending = open;
      open = null;
      try {
        await ending.commit();
      } catch (e) {
        // The turn ends with the ROLLBACK Drizzle sends next, so no queued BEGIN slips in between.
        commitFailed = true;
        throw e;
      }
      nextTurn();
      return { rows: [] };
    }
    if (ROLLBACK.test(sql) && (open || commitFailed)) {
      const ending = open;
      open = null;
      commitFailed = false;
      try {
        await ending?.rollback();
      } finally {
        nextTurn();
      }
      return { rows: [] };
    }
    return query(open?.tx ?? db, sql, params, method);
  };

  const batch: AsyncBatchRemoteCallback = async (queries) => {
    const runAll = async (on: Database | Transaction) => {
      const results: { rows: unknown[] }[] = [];
      for (const q of queries) results.push(await query(on, q.sql, q.params, q.method));
      return results;
    };
    // Inside an open transaction (the outer Drizzle database used from its callback) it joins it,
    // like any statement; otherwise it takes its turn among the transactions.
    if (open) return runAll(open.tx);
    const release = await takeTurn();
    try {
      return await db.transaction((tx: Transaction) => runAll(tx))();
    } finally {
      release();
    }
  };

  return drizzleProxy<TSchema>(callback, batch, config);
}
