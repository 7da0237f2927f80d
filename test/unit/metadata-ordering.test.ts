/**
 * The order of durable writes the crash arguments rest on (ARCHITECTURE.md §7): data first,
 * metadata second, and the revert store's header only after its entries. Checked in Node with
 * in-memory files that log every write and flush beside the metadata saves.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WalsyncError } from '../../contract/errors.js';
import type { SyncConfig } from '../../contract/worker-api.js';
import { PAGE_SIZE } from '../../worker/connection.js';
import { openSyncedFiles } from '../../worker/engine/bootstrap.js';
import { type MetadataStore, type SyncMetadata, checkMetadataVersion, newMetadata } from '../../worker/engine/metadata.js';
import { RevertStore } from '../../worker/engine/revert-store.js';
import type { DatabaseFiles } from '../../worker/local-database.js';
import type { SyncRemote } from '../../worker/protocol/remote.js';
import { type FileStore, MemoryFileStore } from '../../worker/vfs/file-store.js';

/** A memory file that logs its writes, truncates and flushes into `log` (and can fail a chosen write). */
class LoggedFile extends MemoryFileStore {
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly failWrite?: (at: number) => boolean,
  ) {
    super();
  }
  override write(src: Uint8Array, at: number): void {
    if (this.failWrite?.(at)) throw new Error(`${this.name}: crash at write ${at}`);
    this.log.push(`${this.name}.write`);
    super.write(src, at);
  }
  override truncate(size: number): void {
    this.log.push(`${this.name}.truncate`);
    super.truncate(size);
  }
  override flush(): void {
    this.log.push(`${this.name}.flush`);
  }
}

function loggedFiles(log: string[]): DatabaseFiles {
  const file = (name: string) => new LoggedFile(name, log);
  return { name: '/t.db', db: file('db'), wal: file('wal'), journal: file('journal'), revert: file('revert'), changes: file('changes'), directory: null, baseName: 't.db' };
}

function loggedStore(log: string[], initial?: SyncMetadata): MetadataStore & { value: SyncMetadata | undefined } {
  return {
    value: initial,
    async load() {
      return this.value;
    },
    async save(m) {
      log.push(`meta.save(${m.bootstrapping ? 'bootstrapping' : `revision ${m.revision}`})`);
      this.value = m;
    },
  };
}

const config: SyncConfig = {
  url: 'http://server',
  clientName: 'test',
  tablesIgnore: [],
  bootstrapIfEmpty: true,
  longPollTimeoutMs: 0,
  timeouts: { silenceMs: 1000, requestMs: 1000, bootstrapWaitMs: 1000 },
  autoCheckpointBytes: 0,
  hasTransform: false,
  authToken: null,
  hasFetch: false,
};

/** A server whose bootstrap sends `pages` pages, or fails after `failAfter` of them. */
function server(pages: number, failAfter = Infinity): SyncRemote {
  return {
    sentBytes: 0,
    receivedBytes: 0,
    async pullUpdates() {
      return {
        revision: 'r1',
        dbSizePages: pages,
        pages: (async function* () {
          for (let pgno = 1; pgno <= pages; pgno++) {
            if (pgno > failAfter) throw new WalsyncError('NETWORK_ERROR', 'connection reset');
            yield { pgno, data: new Uint8Array(PAGE_SIZE).fill(pgno) };
          }
        })(),
        cancel: async () => undefined,
      };
    },
    readFirstPage: async () => null,
    readPagesAt: async () => new Map(),
    readHighWater: async () => null,
    push: async () => undefined,
  };
}

describe('bootstrap', () => {
  test('"bootstrapping" is saved before the files are cut, the finished record only after the pages are flushed', async () => {
    const log: string[] = [];
    const store = loggedStore(log);
    const traced: [string, string, unknown][] = [];
    const trace = (level: string, step: string, fields: unknown) => void traced.push([level, step, fields]);
    const opened = await openSyncedFiles({ files: loggedFiles(log), metadata: store, config, remoteFor: () => server(3), trace });
    assert.equal(opened.meta.revision, 'r1');
    assert.deepEqual(traced.map(([level, step]) => [level, step]), [['info', 'bootstrap']]);
    assert.equal((traced[0]![2] as { pages: number }).pages, 3);
    const first = (entry: string) => log.indexOf(entry);
    const last = (entry: string) => log.lastIndexOf(entry);
    assert.ok(first('meta.save(bootstrapping)') < first('db.truncate'), log.join(' '));
    assert.ok(last('db.write') < last('db.flush'), log.join(' '));
    assert.ok(last('db.flush') < first('meta.save(revision r1)'), log.join(' '));
    assert.equal(store.value?.bootstrapping, false);
  });

  test('a bootstrap cut short leaves "bootstrapping" saved, and the next open restarts it', async () => {
    const log: string[] = [];
    const store = loggedStore(log);
    const files = loggedFiles(log);
    // Offline mid-download: the database starts empty, the record says so (no revision).
    const first = await openSyncedFiles({ files, metadata: store, config, remoteFor: () => server(3, 1), trace: () => undefined });
    assert.equal(first.meta.revision, null);
    assert.equal(files.db.size(), 0);
    // A crash mid-bootstrap instead (the record still says bootstrapping): the next open redoes it.
    await store.save({ ...store.value!, bootstrapping: true });
    const again = await openSyncedFiles({ files, metadata: store, config, remoteFor: () => server(2), trace: () => undefined });
    assert.equal(again.meta.revision, 'r1');
    assert.equal(files.db.size(), 2 * PAGE_SIZE);
  });
});

describe('revert store', () => {
  const page = (n: number) => new Uint8Array(PAGE_SIZE).fill(n);

  test('entries are flushed before the header counts them', () => {
    const log: string[] = [];
    const file = new LoggedFile('revert', log);
    new RevertStore(file, PAGE_SIZE).append([{ pgno: 2, data: page(2) }, { pgno: 5, data: page(5) }], 9);
    assert.deepEqual(log, ['revert.write', 'revert.write', 'revert.flush', 'revert.write', 'revert.flush']);
  });

  test('a crash before the header is raised reopens as before the append; the saved pages read back', () => {
    let crashAtHeader = false;
    const file = new LoggedFile('revert', [], (at) => crashAtHeader && at === 0);
    new RevertStore(file, PAGE_SIZE).append([{ pgno: 2, data: page(2) }], 4);
    // The next append dies at its header write (offset 0): its entry is on disk, uncounted.
    crashAtHeader = true;
    assert.throws(() => new RevertStore(file, PAGE_SIZE).append([{ pgno: 3, data: page(3) }], 6), /crash at write 0/);
    const reopened = new RevertStore(new MemoryFileStore(copyOf(file)), PAGE_SIZE);
    assert.deepEqual(reopened.pgnos(), [2]);
    assert.deepEqual(reopened.read(2), page(2));
    assert.equal(reopened.read(3), null);
  });

  test('clear() empties it durably', () => {
    const file = new LoggedFile('revert', []);
    const store = new RevertStore(file, PAGE_SIZE);
    store.append([{ pgno: 2, data: page(2) }], 4);
    store.clear();
    assert.equal(file.size(), 0);
    assert.deepEqual(new RevertStore(file, PAGE_SIZE).pgnos(), []);
  });
});

function copyOf(file: FileStore): Uint8Array {
  const out = new Uint8Array(file.size());
  file.read(out, 0);
  return out;
}

describe('metadata version', () => {
  test('a record of this version loads; another version or a foreign value is refused, naming both', () => {
    checkMetadataVersion(newMetadata('c'), 'app.db');
    for (const record of [{ ...newMetadata('c'), version: 2 }, { clientId: 'c' }, null]) {
      assert.throws(
        () => checkMetadataVersion(record, 'app.db'),
        (e) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && /"app\.db"/.test(e.message) && /reads version 1/.test(e.message),
      );
    }
  });
});
