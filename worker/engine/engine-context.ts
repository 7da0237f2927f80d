/**
 * What the sync phases share: the database's files and connection, change capture, the revert
 * store, and the metadata record with the one way to replace it. Each phase (bootstrap.ts,
 * pull.ts, pull-recover.ts, push.ts, reseed.ts) takes this object as its first argument and
 * hands its own result back as a value; SyncEngine only orders the phases.
 * Metadata is saved before it is used: `meta` is always the record as last saved, so a crash
 * between two phases finds on disk exactly what the next phase would have read.
 */
import { WalsyncError } from '../../contract/errors.js';
import { type TraceEvent, type TraceLevel, traced } from '../../contract/trace.js';
import type { DatabaseRowTransformResult, SyncCallbacks, SyncConfig } from '../../contract/worker-api.js';
import type { DatabaseFiles, LocalDatabase } from '../local-database.js';
import type { WalLog, WalState } from '../vfs/wal-log.js';
import type { CapturedChange, ChangeCapture } from '../cdc/change-capture.js';
import type { MetadataStore, SyncMetadata } from './metadata.js';
import type { SyncRemote } from '../protocol/remote.js';
import type { RevertStore } from './revert-store.js';
import { SyncedBase, effectiveWatermark } from './synced-base.js';

/** Changes read from the log per step: bounds memory on large logs. */
export const CHANGE_BATCH = 1000;

/** Traces one engine step (a no-op unless `tracing` covers `level`). */
export type Tracer = (level: TraceLevel, step: string, fields: TraceEvent['fields']) => void;

/** The tracer for a database: events go to the app's logger through SyncCallbacks.trace. */
export function tracerFor(config: SyncConfig, callbacks: SyncCallbacks | undefined, path: string): Tracer {
  // `callbacks` is a Comlink proxy in the worker: its methods are called on it, never detached.
  if (!config.tracing || !callbacks?.trace) return () => undefined;
  return (level, step, fields) => {
    if (!traced(config.tracing, level)) return;
    // Never awaited, never thrown: a logger that fails must not fail the step it describes.
    try {
      callbacks.trace?.({ level, step, path, fields }).catch(() => undefined);
    } catch {
      // The page is gone (its proxy closed): nobody to tell.
    }
  };
}

/** Milliseconds since `start` (a performance.now() reading), rounded for a log line. */
export function msSince(start: number): number {
  return Math.round(performance.now() - start);
}

export class EngineContext {
  readonly files: DatabaseFiles;
  readonly local: LocalDatabase;
  readonly capture: ChangeCapture;
  readonly revert: RevertStore;
  readonly config: SyncConfig;
  readonly callbacks: SyncCallbacks | undefined;
  /** Checkpoints if the WAL grew too large (SyncEngine.afterWrite): a finished pull calls it. */
  readonly afterWrite: () => Promise<void>;
  readonly trace: Tracer;
  readonly #store: MetadataStore;
  #meta: SyncMetadata;
  sentBytes = 0;
  receivedBytes = 0;
  /** Remotes whose bytes a counted() call in progress is counting. */
  readonly #counting = new Set<SyncRemote>();

  constructor(args: {
    files: DatabaseFiles;
    local: LocalDatabase;
    capture: ChangeCapture;
    revert: RevertStore;
    config: SyncConfig;
    callbacks: SyncCallbacks | undefined;
    store: MetadataStore;
    meta: SyncMetadata;
    afterWrite: () => Promise<void>;
    trace: Tracer;
  }) {
    this.files = args.files;
    this.local = args.local;
    this.capture = args.capture;
    this.revert = args.revert;
    this.config = args.config;
    this.callbacks = args.callbacks;
    this.#store = args.store;
    this.#meta = args.meta;
    this.afterWrite = args.afterWrite;
    this.trace = args.trace;
  }

  /** The metadata record as last saved. */
  get meta(): SyncMetadata {
    return this.#meta;
  }

  get clientId(): string {
    return this.#meta.clientId;
  }

  async saveMeta(meta: SyncMetadata): Promise<void> {
    await this.#store.save(meta);
    this.#meta = meta;
  }

  log(): WalLog {
    return this.local.walLog();
  }

  /** The synced base as the WAL (in `state`, read now if not given) and the revert store hold it. */
  syncedBase(log: WalLog = this.log(), state: WalState = log.state()): SyncedBase {
    return new SyncedBase(log, state, this.revert, effectiveWatermark(this.#meta.watermark, state), this.#meta.basePages);
  }

  /** Forgets the download and the intent in it, durably (a stale intent must not come back). */
  clearChanges(): void {
    this.files.changes.truncate(0);
    this.files.changes.flush();
  }

  /** `e` as reported to the app: quota failures (through SQLite or our own file writes) as QUOTA_EXCEEDED. */
  storageError(e: unknown, operation: string, outcome: string): unknown {
    return this.local.describeError(e, operation, outcome);
  }

  assertNoTransaction(operation: string): void {
    if (!this.local.isAutocommit()) {
      throw new WalsyncError('INVALID_ARGUMENT', `cannot ${operation} while a transaction is open; commit or roll it back first`);
    }
  }

  assertNoReseedPending(): void {
    if (this.#meta.reseedPending === true) {
      throw new WalsyncError('SERVER_RESET', 'a resetSync() did not finish (the page closed or the network failed while it sent the database): call resetSync() again; push and pull wait for it');
    }
  }

  /**
   * Runs remote work and adds the bytes it moved to this engine's counters. Work counted inside
   * other counted work on the same remote (requests sent together) is counted once, by the outer.
   */
  async counted<T>(remote: SyncRemote, work: () => Promise<T>): Promise<T> {
    if (this.#counting.has(remote)) return work();
    this.#counting.add(remote);
    const sent = remote.sentBytes;
    const received = remote.receivedBytes;
    try {
      return await work();
    } finally {
      this.#counting.delete(remote);
      this.sentBytes += remote.sentBytes - sent;
      this.receivedBytes += remote.receivedBytes - received;
    }
  }

  /** Asks the app's transform hook about a batch of changes (local-only ones are always kept). */
  async transform(db: LocalDatabase['connection'], changes: readonly CapturedChange[]): Promise<DatabaseRowTransformResult[]> {
    const results: DatabaseRowTransformResult[] = changes.map(() => null);
    const callbacks = this.callbacks;
    if (!this.config.hasTransform || !callbacks) return results;
    const asked: number[] = [];
    const mutations = [];
    for (let i = 0; i < changes.length; i++) {
      const m = this.capture.mutation(db, changes[i]!);
      if (m) {
        asked.push(i);
        mutations.push(m);
      }
    }
    if (mutations.length === 0) return results;
    const answers = await callbacks.transform(mutations);
    if (!Array.isArray(answers) || answers.length !== mutations.length) {
      throw new WalsyncError('INVALID_ARGUMENT', 'the transform hook must give one result per change');
    }
    asked.forEach((index, k) => {
      results[index] = answers[k] ?? null;
    });
    return results;
  }
}

/** "7", or "3 (with 5, 9)" for a net change that stands for several logged ones. */
export function describeIds(change: Pick<CapturedChange, 'changeId' | 'changeIds'>): string {
  const others = change.changeIds.filter((id) => id !== change.changeId);
  return others.length === 0 ? String(change.changeId) : `${change.changeId} (with ${others.join(', ')})`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
