/**
 * Sync metadata: who this client is and how far it is synced. Kept in IndexedDB (idb-keyval), one
 * record per database path, always replaced whole, so a crash leaves either the old or the new record.
 * IndexedDB and OPFS cannot commit together; the engine orders its writes so that every crash point
 * is recoverable: data is made durable first, metadata second, and a pull intent is recorded before
 * any destructive step (ARCHITECTURE.md §7). Writes use strict durability (Chromium's default,
 * relaxed, reports a write done before it is on disk); and since a browser may still lose the last
 * write on power loss, nothing recovery needs lives only here: the pull intent is also in the
 * flushed changes file, and a finished bootstrap is recognised from the files (bootstrap.ts).
 */
import { del, get, keys, promisifyRequest, set, type UseStore } from 'idb-keyval';
import { WalsyncError } from '../../contract/errors.js';
import { METADATA_IDB_DATABASE, METADATA_IDB_STORE, metadataKey } from '../storage-layout.js';

export interface WalWatermark {
  /** WAL frames ≤ frame hold the synced base; later frames are local changes. */
  readonly frame: number;
  /** Salts of the WAL that `frame` counts in; a WAL reset (checkpoint) changes them and voids `frame`. */
  readonly salt1: number;
  readonly salt2: number;
}

/** A pull between "pages downloaded" and "local changes replayed" (ARCHITECTURE.md section 4). */
export interface PullIntent {
  /** Revision the pulled pages bring us to. */
  readonly revision: string;
  /** Remote database size in pages at that revision. */
  readonly dbSizePages: number;
  /** Last commit frame of the local state before the pull (the replay source). */
  readonly localEndFrame: number;
  /** Frame count once the rollback+apply commit group is in the WAL. */
  readonly applyEndFrame: number;
  /** Salts of the WAL the frames above count in. */
  readonly salt1: number;
  readonly salt2: number;
  /** The CDC generation before the pull; the replay transaction writes pullGen + 1. */
  readonly localPullGen: number;
}

export interface SyncMetadata {
  readonly version: 1;
  /** `<clientName>-<uuid v4>`, fixed for the life of the local database. */
  readonly clientId: string;
  /** Remote revision the synced base corresponds to; null before the first pull (deferred bootstrap). */
  readonly revision: string | null;
  /** True while a bootstrap is writing the database file: if still set on open, the bootstrap restarts. */
  readonly bootstrapping: boolean;
  readonly watermark: WalWatermark;
  /** Page count of the synced base (cuts the base when rebuilt from DB file + revert store). */
  readonly basePages: number;
  /** Highest local change id known to be on the remote, in CDC generation `lastPushedPullGen`. */
  readonly lastPushedChangeId: number;
  readonly lastPushedPullGen: number;
  readonly lastPushUnixTime: number | null;
  readonly lastPullUnixTime: number | null;
  readonly pullIntent: PullIntent | null;
  /**
   * True once a push of this client committed on the server: from then on the server's database
   * holds this client's row in `turso_sync_last_change_id` for good, so a pulled state without it
   * comes from a server that was reset or replaced. (Absent in older records: no such check.)
   */
  readonly pushedToServer?: boolean;
  /** A pending change was discarded: the next pull rolls back and replays even if the server has nothing new. */
  readonly rebaseOnPull?: boolean;
  /**
   * The `tablesIgnore` option the database was last opened with, so that opened without a url it
   * still records those tables' changes as local-only. (Absent in older records: none.)
   */
  readonly tablesIgnore?: readonly string[];
  /**
   * True from the moment resetSync() starts sending the whole database to a new server until it
   * has recorded that server as the one to pull from: meanwhile push and pull are refused (a
   * plain push would leave the server without the rows of our old base), and resetSync() redoes it.
   */
  readonly reseedPending?: boolean;
}

export interface MetadataStore {
  load(): Promise<SyncMetadata | undefined>;
  save(metadata: SyncMetadata): Promise<void>;
}

let idbStore: UseStore | undefined;

/**
 * idb-keyval's store with strict durability: a write resolves once it is on disk, so the OPFS step
 * that follows it (the one the record describes or permits) never overtakes it.
 */
function strictStore(dbName: string, storeName: string): UseStore {
  let opened: Promise<IDBDatabase> | undefined;
  const database = (): Promise<IDBDatabase> => {
    if (opened) return opened;
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    const current = promisifyRequest(request);
    opened = current;
    current.then(
      (db) => {
        db.onclose = () => (opened = undefined);
      },
      () => (opened = undefined),
    );
    return current;
  };
  return (mode, callback) =>
    database().then((db) => callback(db.transaction(storeName, mode, { durability: 'strict' }).objectStore(storeName)));
}

/** The record as it was before the last write of this worker (crash tests simulate losing that write). */
let lastWrite: { key: string; before: SyncMetadata | null } | null = null;

/** Crash tests: the key written last and its record before that write (null: there was none). */
export function metadataBeforeLastWrite(): { key: string; before: SyncMetadata | null } | null {
  return lastWrite;
}

/** Metadata in IndexedDB, keyed by database path. */
export class IdbMetadataStore implements MetadataStore {
  readonly #key: string;
  /** The record as last read or written (undefined: not read yet). */
  #current: SyncMetadata | null | undefined;

  constructor(path: string) {
    this.#key = metadataKey(path);
    idbStore ??= strictStore(METADATA_IDB_DATABASE, METADATA_IDB_STORE);
  }

  async load(): Promise<SyncMetadata | undefined> {
    const value = (await get<SyncMetadata>(this.#key, idbStore)) ?? (await this.#adoptLegacyRecord());
    if (value !== undefined) checkMetadataVersion(value, this.#key.slice(KEY_PREFIX.length));
    this.#current = value ?? null;
    return value;
  }

  /**
   * Before paths were normalized, a record was keyed by the path as spelled (`db:./app.db`,
   * `db:/app.db`) while the files were shared by every spelling. Such a record moves to the
   * normalized key, else this database would look new (or "created without sync") to its owner.
   * Several spellings: the one synced last wins.
   */
  async #adoptLegacyRecord(): Promise<SyncMetadata | undefined> {
    const path = this.#key.slice(KEY_PREFIX.length);
    const legacy = (await keys(idbStore)).filter(
      (k): k is string => typeof k === 'string' && k !== this.#key && k.startsWith(KEY_PREFIX) && legacySpellingOf(k.slice(KEY_PREFIX.length)) === path,
    );
    let best: { key: string; record: SyncMetadata } | undefined;
    for (const key of legacy) {
      const record = await get<SyncMetadata>(key, idbStore);
      if (record && (!best || lastSynced(record) > lastSynced(best.record))) best = { key, record };
    }
    if (!best) return undefined;
    await set(this.#key, best.record, idbStore);
    await del(best.key, idbStore);
    return best.record;
  }

  async save(metadata: SyncMetadata): Promise<void> {
    const before = this.#current === undefined ? ((await get<SyncMetadata>(this.#key, idbStore)) ?? null) : this.#current;
    await set(this.#key, metadata, idbStore);
    this.#current = metadata;
    lastWrite = { key: this.#key, before };
  }
}

/** What metadataKey() puts before the path. */
const KEY_PREFIX = metadataKey('');

/** The files an old key's path named: earlier versions dropped empty and "." names. */
function legacySpellingOf(path: string): string {
  return path.split('/').filter((name) => name !== '' && name !== '.').join('/');
}

function lastSynced(record: SyncMetadata): number {
  return Math.max(record.lastPullUnixTime ?? 0, record.lastPushUnixTime ?? 0);
}

/** The record layout this walsync reads and writes. */
export const METADATA_VERSION = 1;

/**
 * Refuses a record of a layout this walsync does not know (written by a newer walsync, or not a
 * walsync record): reading it as ours could sync the wrong pages. Nothing is changed.
 */
export function checkMetadataVersion(record: unknown, path: string): asserts record is SyncMetadata {
  const version = (record as { version?: unknown } | null)?.version;
  if (version !== METADATA_VERSION) {
    throw new WalsyncError(
      'INVALID_ARGUMENT',
      `the sync metadata of "${path}" has version ${JSON.stringify(version)}, which this walsync does not read (it reads version ${METADATA_VERSION}); open it with the walsync that wrote it, or delete it with deleteDatabase()`,
      { context: { path, version: String(version) } },
    );
  }
}

export function newMetadata(clientId: string): SyncMetadata {
  return {
    version: METADATA_VERSION,
    clientId,
    revision: null,
    bootstrapping: false,
    watermark: { frame: 0, salt1: 0, salt2: 0 },
    basePages: 0,
    lastPushedChangeId: 0,
    lastPushedPullGen: 0,
    lastPushUnixTime: null,
    lastPullUnixTime: null,
    pullIntent: null,
    pushedToServer: false,
  };
}
