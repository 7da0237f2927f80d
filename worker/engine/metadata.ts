/**
 * Sync metadata: who this client is and how far it is synced. Kept in IndexedDB (idb-keyval), one
 * record per database path, always replaced whole, so a crash leaves either the old or the new record.
 * IndexedDB and OPFS cannot commit together; the engine orders its writes so that every crash point
 * is recoverable: data is made durable first, metadata second, and a pull intent is recorded before
 * any destructive step (see pull.ts).
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
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
  remove(): Promise<void>;
}

let idbStore: UseStore | undefined;

/** Metadata in IndexedDB, keyed by database path. */
export class IdbMetadataStore implements MetadataStore {
  readonly #key: string;

  constructor(path: string) {
    this.#key = metadataKey(path);
    idbStore ??= createStore(METADATA_IDB_DATABASE, METADATA_IDB_STORE);
  }

  async load(): Promise<SyncMetadata | undefined> {
    return get<SyncMetadata>(this.#key, idbStore);
  }

  async save(metadata: SyncMetadata): Promise<void> {
    await set(this.#key, metadata, idbStore);
  }

  async remove(): Promise<void> {
    await del(this.#key, idbStore);
  }
}

/** Metadata in memory (Node tests and `:memory:` databases). */
export class MemoryMetadataStore implements MetadataStore {
  #value: SyncMetadata | undefined;

  async load(): Promise<SyncMetadata | undefined> {
    return this.#value === undefined ? undefined : structuredClone(this.#value);
  }

  async save(metadata: SyncMetadata): Promise<void> {
    this.#value = structuredClone(metadata);
  }

  async remove(): Promise<void> {
    this.#value = undefined;
  }
}

export function newMetadata(clientId: string): SyncMetadata {
  return {
    version: 1,
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
