/**
 * transaction() on the main thread: the function it returns (with its deferred/immediate/exclusive
 * variants), the runner that wraps a call in BEGIN…COMMIT/ROLLBACK on one worker, and the
 * `Transaction` handle the function gets.
 */
import { WalsyncError, isWalsyncError } from '../contract/errors.js';
import type { WorkerChannel } from './worker-channel.js';
import { type Executor, Statement } from './statement.js';
import { type BatchInput, type BatchResultSet, toBatchRequest, toBatchResultSets } from './batch.js';
import type { Database } from './database.js';
import type { BatchResults } from '../contract/worker-api.js';
import { StatementOp } from '../contract/statement-calls.js';

/**
 * The handle a transaction function gets as its last argument: its statements run inside the
 * transaction, like calls on the Database itself while the transaction is open. It stops working
 * when the transaction ends.
 */
export class Transaction {
  readonly #executor: Executor;

  /** @internal */
  constructor(executor: Executor) {
    this.#executor = executor;
  }

  /** Runs one or more SQL statements inside the transaction. */
  exec(sql: string): Promise<void> {
    return this.#executor.statement(StatementOp.Exec, sql) as Promise<void>;
  }

  /** A statement that runs inside the transaction. */
  prepare(sql: string): Statement {
    return new Statement(this.#executor, sql);
  }

  /** Runs statements in order, in one round trip to the worker, inside this transaction. */
  async batch(statements: readonly BatchInput[]): Promise<BatchResultSet[]> {
    const input = toBatchRequest(statements);
    return toBatchResultSets((await this.#executor.statement(StatementOp.Batch, input, null)) as BatchResults);
  }
}

export type TransactionMode = 'deferred' | 'immediate' | 'exclusive';

/**
 * What `transaction(fn)` returns: call it to run `fn` in a transaction of the mode given to
 * transaction() (deferred by default), or call `.deferred`, `.immediate` or `.exclusive` for that
 * mode (sync-wasm's and better-sqlite3's form).
 */
export interface TransactionFunction<A extends unknown[], T> {
  (...args: A): Promise<T>;
  readonly default: TransactionFunction<A, T>;
  readonly deferred: TransactionFunction<A, T>;
  readonly immediate: TransactionFunction<A, T>;
  readonly exclusive: TransactionFunction<A, T>;
  /** The database the transaction runs on. */
  readonly database: Database;
}

/** @internal A call that would wait forever for the transaction open on its handle (or cannot run inside it). */
export function insideTransaction(call: string): WalsyncError {
  return new WalsyncError(
    'INVALID_ARGUMENT',
    `${call} cannot run inside a transaction: while transaction() is open, every call on this database belongs to the transaction, and ${call} would have to wait for it to end. Call it after the transaction ends`,
    { context: { call } },
  );
}

/** COMMIT found no transaction: the transaction function ended it itself. */
function endedByFunction(cause: WalsyncError): WalsyncError {
  return new WalsyncError(
    'INVALID_ARGUMENT',
    'transaction(): the transaction was already ended by the function (it ran COMMIT, END or ROLLBACK itself), so what it wrote until then was committed or rolled back by that statement, and what it wrote afterwards was committed statement by statement. End a transaction() by returning (COMMIT) or throwing (ROLLBACK), never with SQL',
    { cause },
  );
}

/** @internal What the runner needs of the Database handle it runs on (its private state, by accessor). */
export interface TransactionHost {
  /** The handle's close() was called. */
  isClosed(): boolean;
  channel(): WorkerChannel;
  /** The transaction open on the handle, if any (see Database's #openTransaction). */
  openTransaction(): Executor | null;
  setOpenTransaction(executor: Executor | null): void;
}

/** @internal transaction()'s body: checks its arguments and builds the function with its variants. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function transactionFunction<T>(database: Database, host: TransactionHost, fn: (...args: any[]) => Promise<T> | T, mode: TransactionMode): TransactionFunction<any[], T> {
  if (typeof fn !== 'function') throw new WalsyncError('INVALID_ARGUMENT', 'transaction() takes a function');
  if (!['deferred', 'immediate', 'exclusive'].includes(mode)) {
    throw new WalsyncError('INVALID_ARGUMENT', `transaction(): unknown mode "${String(mode)}"`);
  }
  const variants = {
    default: transactionRunner(host, fn, mode),
    deferred: transactionRunner(host, fn, 'deferred'),
    immediate: transactionRunner(host, fn, 'immediate'),
    exclusive: transactionRunner(host, fn, 'exclusive'),
  };
  // As in sync-wasm (and better-sqlite3): each variant carries all of them, and the database.
  const properties: PropertyDescriptorMap = {
    default: { value: variants.default },
    deferred: { value: variants.deferred },
    immediate: { value: variants.immediate },
    exclusive: { value: variants.exclusive },
    database: { value: database, enumerable: true },
  };
  for (const variant of Object.values(variants)) Object.defineProperties(variant, properties);
  return variants.default as TransactionFunction<any[], T>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function transactionRunner<T>(host: TransactionHost, fn: (...args: any[]) => Promise<T> | T, mode: TransactionMode): (...args: any[]) => Promise<T> {
  return (...args: any[]) => {
    if (host.isClosed()) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the database is closed'));
    if (host.openTransaction()) return Promise.reject(insideTransaction('transaction()'));
    const channel = host.channel();
    return channel.lock.run(async () => {
      let active = true;
      // Every call of the transaction goes to the worker its BEGIN went to: after a leader change
      // (another tab's worker now owns the database) they reject, as the transaction died there.
      let generation = -1;
      const ended = (): Promise<never> => Promise.reject(new WalsyncError('INVALID_ARGUMENT', 'this transaction has already ended'));
      const executor: Executor = {
        call: (op) => (active ? channel.callIn(generation, op) : ended()),
        statement: (op, a, b) => (active ? channel.statementIn(generation, op, a, b) : ended()),
      };
      // Set before BEGIN goes out, so nothing issued on this handle from now on queues behind us.
      host.setOpenTransaction(executor);
      try {
        generation = await channel.linkGeneration();
        await channel.callIn(generation, (api) => api.exec(`BEGIN ${mode.toUpperCase()}`));
        try {
          const result = await fn(...args, new Transaction(executor));
          await channel.callIn(generation, (api) => api.exec('COMMIT'));
          return result;
        } catch (e) {
          // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back what is open.
          if (channel.alive && channel.generation === generation && !(await channel.callIn(generation, (api) => api.isAutocommit()))) {
            await channel.callIn(generation, (api) => api.exec('ROLLBACK'));
          } else if (isWalsyncError(e, 'SQLITE_ERROR') && /no transaction is active/.test(e.message)) {
            throw endedByFunction(e);
          }
          throw e;
        }
      } finally {
        active = false;
        host.setOpenTransaction(null);
      }
    });
  };
}

