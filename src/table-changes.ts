/**
 * Table change notices on the main thread: one hub per worker (so every handle of a path hears the
 * same notices), fed by the worker's `walsync:tables-changed` messages. The worker installs its
 * change hooks only once someone here listens, so a database nobody watches pays nothing.
 */
import type { TableChangeSource, TablesChangedMessage } from '../worker/table-changes.js';
import type { WorkerChannel } from './worker-channel.js';

export type { TableChangeSource };

/**
 * Called once per committed transaction, batch, pull or push that changed tables (never per row,
 * never for a rolled-back transaction) with the names of the tables it changed, as the schema
 * spells them, and what changed them: `'local'` (this app's statements), `'pull'` (a pull: it
 * reports every table, see the README), `'sync'` (a push's bookkeeping) or `'handover'` (another
 * tab took over the database: every table is reported, as writes made meanwhile sent no notice).
 */
export type TablesChangedListener = (tables: ReadonlySet<string>, source: TableChangeSource) => void;

/** The tables of the main database (a hand-over reports them all). */
const ALL_TABLES = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/** @internal */
export class TableChangeHub {
  readonly #channel: WorkerChannel;
  readonly #listeners = new Set<TablesChangedListener>();
  #enabled: Promise<void> | null = null;

  constructor(channel: WorkerChannel) {
    this.#channel = channel;
    channel.onWorkerMessage('walsync:tables-changed', (data) => this.#dispatch(data as TablesChangedMessage));
    // A new leader's worker knows nothing of our listeners: ask it for notices again. Writes made
    // while no tab led, or before this tab reached the new leader, sent us no notice: once notices
    // are on again, every table is reported changed, so a watch re-runs and misses nothing.
    channel.onRelink(() => {
      if (!this.#enabled || this.#listeners.size === 0) return;
      this.#enabled = null;
      const { unsubscribe, ready } = this.subscribe(() => undefined);
      unsubscribe();
      ready
        .then(() => channel.call((api) => api.all(ALL_TABLES, [])))
        .then(
          (result) => this.#dispatch({ type: 'walsync:tables-changed', tables: result.rows.map((row) => String(row[0])), source: 'handover' }),
          () => undefined, // the channel died or relinked again: that path reports for itself
        );
    });
  }

  /**
   * Adds a listener. `ready` settles once the worker reports changes (at once after the first time):
   * work issued after it is seen, and a query run after it cannot miss a change made after the run.
   */
  subscribe(listener: TablesChangedListener): { unsubscribe: () => void; ready: Promise<void> } {
    this.#listeners.add(listener);
    if (!this.#enabled) {
      // Straight to the worker's queue (not behind the facade's lock): an open transaction must not
      // delay it, and the worker attaches its hooks mid-transaction safely.
      const enabling = this.#channel.call((api) => api.enableTableChangeNotices());
      this.#enabled = enabling;
      enabling.catch(() => {
        if (this.#enabled === enabling) this.#enabled = null;
      });
    }
    return { unsubscribe: () => this.#listeners.delete(listener), ready: this.#enabled };
  }

  #dispatch(message: TablesChangedMessage): void {
    const tables: ReadonlySet<string> = new Set(message.tables);
    for (const listener of [...this.#listeners]) {
      try {
        listener(tables, message.source);
      } catch (e) {
        // One faulty listener must not keep the others (or the live queries) from hearing of the change.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}

const hubs = new WeakMap<WorkerChannel, TableChangeHub>();

/** @internal The hub of `channel`, made on first use. */
export function tableChangesOf(channel: WorkerChannel): TableChangeHub {
  let hub = hubs.get(channel);
  if (!hub) {
    hub = new TableChangeHub(channel);
    hubs.set(channel, hub);
  }
  return hub;
}
