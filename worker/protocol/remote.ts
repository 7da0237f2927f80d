/** What the engine needs from the server, independent of how the protocol layer spells it. */
import type { UpsertShape } from '../sql/upsert-shape.js';
import type { PageImage } from '../vfs/wal-log.js';
import type { EngineValue } from '../../contract/sql-value.js';

/** A page as the server sends it. */
export type PulledPage = PageImage;

export interface PullResponse {
  readonly revision: string;
  readonly dbSizePages: number;
  /** Pages in arrival order, streamed from the response body. */
  readonly pages: AsyncIterable<PulledPage>;
  /**
   * Lets go of an answer whose pages will not be read: the request is aborted and its body
   * dropped. (Leaving `pages` unread would not: a generator never started runs no cleanup.)
   */
  cancel(): Promise<void>;
}

export interface HighWaterMark {
  readonly pullGen: number;
  readonly changeId: number;
}

export interface PushStatement {
  readonly sql: string;
  readonly args: readonly EngineValue[];
  /** A failure of this statement does not stop the push (e.g. adding a column another client added first). */
  readonly ignoreError?: boolean;
  /** Set on a one-row upsert that may be merged with its neighbours of the same shape into one statement. */
  readonly upsert?: UpsertShape;
}

export interface PullOptions {
  /** Give up (NETWORK_ERROR naming `limit`) unless the answer starts within `ms`: the first connect's bootstrap. */
  readonly answerWithin?: { readonly ms: number; readonly limit: string };
}

/** A pull the caller may cut short while it waits (a long poll). */
export interface StoppablePullOptions extends PullOptions {
  /** Aborting it while the server has sent nothing yet drops the request: pullUpdates() resolves null. */
  readonly stopWaiting: AbortSignal;
}

export interface SyncRemote {
  /** Like the form below, but null if `stopWaiting` aborted before any byte of the answer: nothing was received. */
  pullUpdates(clientRevision: string | null, longPollTimeoutMs: number, options: StoppablePullOptions): Promise<PullResponse | null>;
  pullUpdates(clientRevision: string | null, longPollTimeoutMs: number, options?: PullOptions): Promise<PullResponse>;
  /** The database's first page (its header) as of `revision`; null if the database is empty then. */
  readFirstPage(revision: string): Promise<Uint8Array | null>;
  /** Pages `pgnos` of the database as of `revision` (those it has then), by page number. */
  readPagesAt(revision: string, pgnos: readonly number[]): Promise<Map<number, Uint8Array>>;
  /** This client's row of `turso_sync_last_change_id` on the server; null if it has none. */
  readHighWater(clientId: string): Promise<HighWaterMark | null>;
  /**
   * Applies `statements` and moves this client's high-water mark, all in one server transaction.
   * On a refused statement nothing is applied and it throws PUSH_REJECTED with context.statementIndex.
   */
  push(statements: readonly PushStatement[], clientId: string, mark: HighWaterMark): Promise<void>;
  readonly sentBytes: number;
  readonly receivedBytes: number;
}
