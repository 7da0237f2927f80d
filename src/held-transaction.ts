/**
 * A walsync transaction held open between two calls, for ORMs that begin, run statements and
 * commit or roll back in separate steps (Kysely's driver, Drizzle's proxy) rather than in one
 * function. It is a `db.transaction()` whose function waits until `commit()` or `rollback()` is
 * called, so the ORM's statements get walsync's guarantees: BEGIN, COMMIT and ROLLBACK under the
 * database lock, other handles of the path waiting, calls that cannot run inside a transaction
 * (push, pull, close) refused instead of waiting forever.
 */
import type { Database, Transaction, TransactionMode } from './database.js';

/** The function's way of saying "roll back": thrown into the transaction, never out of it. */
class RollbackRequested extends Error {
  constructor() {
    super('rollback requested');
  }
}

/** An open transaction: run statements on `tx`, then call commit() or rollback() once. */
export interface HeldTransaction {
  /** The handle statements of this transaction run on. */
  readonly tx: Transaction;
  /** COMMITs; rejects with the COMMIT's error (the transaction is then rolled back). */
  commit(): Promise<void>;
  /** ROLLs BACK. */
  rollback(): Promise<void>;
}

/** Runs BEGIN (in `mode`) on `db` and resolves once the transaction is open. */
export function beginHeldTransaction(db: Database, mode: TransactionMode = 'deferred'): Promise<HeldTransaction> {
  return new Promise<HeldTransaction>((opened, failed) => {
    let end!: (commit: boolean) => void;
    const ended = new Promise<boolean>((resolve) => {
      end = resolve;
    });
    const finished = db.transaction(async (tx: Transaction) => {
      opened({
        tx,
        commit: () => {
          end(true);
          return finished;
        },
        rollback: () => {
          end(false);
          return finished.catch((e: unknown) => {
            if (!(e instanceof RollbackRequested)) throw e;
          });
        },
      });
      if (!(await ended)) throw new RollbackRequested();
    }, mode)();
    // BEGIN failed (or the handle is closed): the function never ran, so nobody else awaits this.
    finished.catch(failed);
  });
}
