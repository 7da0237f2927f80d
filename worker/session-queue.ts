/**
 * The worker host's queue: one operation at a time, in arrival order, so no statement ever
 * interleaves with another or with a sync step. Calls come from sessions (the home tab, follower
 * tabs); an explicit transaction belongs to the session whose call opened it, and the other
 * sessions' calls wait until it ends.
 */
import { WalsyncError } from '../contract/errors.js';
import type { LocalDatabase } from './local-database.js';

/**
 * One client of the host: the home tab's facade (HOME), or a follower tab reaching this worker
 * through a MessagePort. Sessions share the one queue; an explicit transaction belongs to the
 * session whose call opened it, and other sessions' calls wait until it ends.
 */
export interface Session {
  readonly id: string;
  dead: boolean;
}

/** A queued call found another session's transaction open: it goes back to wait for its end. */
const RETRY = Symbol('retry');

/** @internal The host's call queue, and which session owns the connection's open transaction. */
export class SessionQueue {
  static readonly HOME: Session = { id: 'home', dead: false };
  /** The session whose call runs now (set synchronously around a session's method call). */
  current: Session = SessionQueue.HOME;
  /** The session whose explicit transaction is open, or null. */
  #owner: Session | null = null;
  /** Settles when the open transaction of `#owner` ends. */
  #ownerReleased: Promise<void> = Promise.resolve();
  #releaseOwner: () => void = () => undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** Operations queued or running through the queue's promise chain (see serial's fast path). */
  #queued = 0;
  /** The host's open database, or null (none yet, or closed). */
  readonly #database: () => LocalDatabase | null;

  constructor(database: () => LocalDatabase | null) {
    this.#database = database;
  }

  /** The session whose explicit transaction is open, or null. */
  get owner(): Session | null {
    return this.#owner;
  }

  /** Runs `call` as a call of `session` (the session current while it runs synchronously). */
  runAs<T>(session: Session, call: () => T): T {
    const previous = this.current;
    this.current = session;
    try {
      return call();
    } finally {
      this.current = previous;
    }
  }

  /** Network work: waits for the operations queued before it to start (an open() must finish), then runs beside the queue. */
  async network<T>(op: () => Promise<T>): Promise<T> {
    await this.#tail;
    return op();
  }

  serial<T>(op: () => T | Promise<T>, session = this.current): Promise<T> {
    // Nothing queued or running, and no other session's transaction open: run at once. The same
    // checks in the same order, without the turns of the queue's promise chain (a statement call
    // answered through shared memory waits for every one of them).
    if (this.#queued === 0 && (this.#owner === null || this.#owner === session)) return this.#runNow(op, session);
    this.#queued++;
    const done = (): void => void this.#queued--;
    const attempt = (): Promise<T> => {
      const result = this.#tail.then(async (): Promise<T | typeof RETRY> => {
        // Another session's explicit transaction is open: running now would slip this call into it.
        if (this.#owner !== null && this.#owner !== session) return RETRY;
        if (session.dead) throw new WalsyncError('DATABASE_CLOSED', 'the tab of this session is gone', { context: { session: session.id } });
        // The leader tab closed the database: a follower's call was not run, and may go to the next leader.
        if (session !== SessionQueue.HOME && this.#database() === null) {
          throw new WalsyncError('LEADER_CHANGED', 'the tab that owned the database closed it', { context: { mayHaveBeenApplied: false } });
        }
        try {
          return await op();
        } finally {
          this.#settleOwner(session);
        }
      });
      // The queue continues after a failure; the caller still sees the error.
      this.#tail = result.catch(() => undefined);
      return result.then((value) => (value === RETRY ? this.#ownerReleased.then(attempt) : value));
    };
    const settled = attempt();
    settled.then(done, done);
    return settled;
  }

  /** serial()'s body for an idle queue: `op` runs now; an async one holds the queue until it settles. */
  #runNow<T>(op: () => T | Promise<T>, session: Session): Promise<T> {
    if (session.dead) return Promise.reject(new WalsyncError('DATABASE_CLOSED', 'the tab of this session is gone', { context: { session: session.id } }));
    if (session !== SessionQueue.HOME && this.#database() === null) {
      return Promise.reject(new WalsyncError('LEADER_CHANGED', 'the tab that owned the database closed it', { context: { mayHaveBeenApplied: false } }));
    }
    let value: T | Promise<T>;
    try {
      value = op();
    } catch (e) {
      this.#settleOwner(session);
      return Promise.reject(e);
    }
    if (!(value instanceof Promise)) {
      this.#settleOwner(session);
      return Promise.resolve(value);
    }
    this.#queued++;
    const result = value.finally(() => {
      this.#settleOwner(session);
      this.#queued--;
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** After a call of `session`: it owns the connection while it left a transaction open. */
  #settleOwner(session: Session): void {
    const db = this.#database();
    const open = db !== null && !safeIsAutocommit(db);
    if (open && this.#owner === null) {
      this.#owner = session;
      this.#ownerReleased = new Promise<void>((resolve) => (this.#releaseOwner = resolve));
    } else if (!open && this.#owner !== null) {
      this.#owner = null;
      this.#releaseOwner();
    }
  }
}

/** @internal Whether `db` is outside a transaction; true when it cannot tell (no connection to ask). */
export function safeIsAutocommit(db: LocalDatabase): boolean {
  try {
    return db.isAutocommit();
  } catch {
    return true;
  }
}
