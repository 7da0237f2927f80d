/**
 * Opening a synced database, before any connection exists: its identity (metadata) on first use,
 * and the bootstrap that writes the server's database file when there is no local data.
 * Crash argument: the metadata says `bootstrapping` (durably) before the files are truncated, and
 * the finished record is saved only after every page is flushed: a crash in between restarts the
 * bootstrap on the next open. A browser that lost the finished record is recognised from the files
 * (a WAL exists only once a connection opened, so only after a finished bootstrap): the downloaded
 * file is kept as the base, and the next pull brings the whole remote database over it.
 */
import { v4 as uuidv4 } from 'uuid';
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import type { SyncConfig } from '../../contract/worker-api.js';
import { PAGE_SIZE } from '../connection.js';
import type { DatabaseFiles } from '../local-database.js';
import { type Tracer, msSince, nowSeconds } from './engine-context.js';
import { killPoint } from './kill-points.js';
import { type MetadataStore, type SyncMetadata, newMetadata } from './metadata.js';
import type { PullResponse, SyncRemote } from '../protocol/remote.js';

/** Pages gathered into one file write while bootstrapping (1 MiB). */
const BOOTSTRAP_WRITE_PAGES = 256;

export interface OpenedMetadata {
  readonly meta: SyncMetadata;
  /** Bytes the bootstrap moved (zero when there was none). */
  readonly sentBytes: number;
  readonly receivedBytes: number;
}

/**
 * A bootstrap's request sent before the open reached it (while SQLite's wasm still loads), with the
 * remote's byte counters as they were just before it, so the bootstrap counts its own bytes.
 */
export interface EarlyBootstrap {
  readonly remote: SyncRemote;
  readonly answer: Promise<PullResponse>;
  readonly sentBefore: number;
  readonly receivedBefore: number;
}

/**
 * Whether opening these files will bootstrap, as openSyncedFiles decides it: from the stored
 * record (null on first use) and the sizes of the database file and its log.
 */
export function bootstrapDue(meta: SyncMetadata | null | undefined, config: Pick<SyncConfig, 'url' | 'bootstrapIfEmpty'>, dbBytes: number, walBytes: number): boolean {
  const empty = dbBytes === 0 && walBytes === 0;
  if (!meta) return empty && needsBootstrap({ bootstrapping: false, revision: null }, config, true);
  if (meta.bootstrapping && walBytes > 0) return false;
  return needsBootstrap(meta, config, empty);
}

/** Sends a bootstrap's request: the whole database as of now. */
export function requestBootstrap(remote: SyncRemote, config: Pick<SyncConfig, 'timeouts'>): Promise<PullResponse> {
  // On the first connect the app is waiting: a server slow to answer means starting empty instead.
  const answer = remote.pullUpdates(null, 0, { answerWithin: { ms: config.timeouts.bootstrapWaitMs, limit: 'bootstrapWaitMs' } });
  answer.catch(() => undefined); // awaited by the bootstrap, unless something fails before it
  return answer;
}

/**
 * The open's early bootstrap request: sent once the stored record and the files are known, if
 * bootstrapDue() says the open will bootstrap; null otherwise, and when either could not be read
 * (the open reports that where it awaits them).
 */
export async function startEarlyBootstrap(
  config: SyncConfig,
  metadata: Promise<SyncMetadata | null | undefined>,
  files: Promise<DatabaseFiles>,
  remoteFor: (url: string) => SyncRemote,
): Promise<EarlyBootstrap | null> {
  const url = config.url;
  if (url === null) return null;
  try {
    const [meta, opened] = await Promise.all([metadata, files]);
    if (!bootstrapDue(meta, config, opened.db.size(), opened.wal.size())) return null;
    const remote = remoteFor(url);
    const sentBefore = remote.sentBytes;
    const receivedBefore = remote.receivedBytes;
    return { remote, answer: requestBootstrap(remote, config), sentBefore, receivedBefore };
  } catch {
    return null;
  }
}

/** Lets go of an answer nobody will read (its body is cancelled; its own failure is not reported). */
export function releaseBootstrapAnswer(answer: Promise<PullResponse>): void {
  answer.then((unread) => unread.cancel(), () => undefined).catch(() => undefined);
}

/**
 * Loads (or creates) the metadata record and brings the files to a state a connection can open:
 * bootstrapped from the server, or empty (no url, or offline on first start).
 */
export async function openSyncedFiles(args: {
  files: DatabaseFiles;
  metadata: MetadataStore;
  config: SyncConfig;
  remoteFor: (url: string) => SyncRemote;
  trace: Tracer;
  /** Hears the first bootstrap's progress: bytes of database pages received of the database's size. */
  bootstrapProgress?: ((receivedBytes: number, totalBytes: number) => Promise<void>) | undefined;
  /** The bootstrap's request, if the open already sent it (bootstrapDue said so). */
  early?: EarlyBootstrap | null | undefined;
}): Promise<OpenedMetadata> {
  let early = args.early ?? null;
  try {
    return await openOrBootstrap(args, () => {
      const taken = early;
      early = null;
      return taken;
    });
  } finally {
    // Not taken: this open decided otherwise after all (or failed first).
    if (early) releaseBootstrapAnswer(early.answer);
  }
}

async function openOrBootstrap(
  args: Parameters<typeof openSyncedFiles>[0],
  takeEarly: () => EarlyBootstrap | null,
): Promise<OpenedMetadata> {
  const { files, config, metadata } = args;
  let sentBytes = 0;
  let receivedBytes = 0;
  let meta = await metadata.load();
  if (!meta) {
    if (!isEmpty(files)) {
      throw new WalsyncError(
        'INVALID_ARGUMENT',
        'this database was created without sync; open it without "url", or give the synced database another path',
        { context: { path: files.name } },
      );
    }
    meta = newMetadata(`${config.clientName}-${uuidv4()}`);
    // A write of its own, before the bootstrap's: should the browser lose the bootstrap's record
    // (the last write before a power loss), this one still says the files are a synced database's.
    await metadata.save(meta);
  }
  if (meta.bootstrapping && files.wal.size() > 0) {
    // The bootstrap finished (the connection, hence any WAL, exists only after it), but the browser
    // lost the record saying so, with its revision. Restarting it would wipe the local writes: keep
    // the downloaded database file as the base; the next pull, from no revision, brings the whole
    // remote database over it and replays the local changes.
    meta = { ...meta, bootstrapping: false, revision: null, basePages: Math.floor(files.db.size() / PAGE_SIZE), watermark: { frame: 0, salt1: 0, salt2: 0 } };
    await metadata.save(meta);
  }
  if (!sameNames(meta.tablesIgnore ?? [], config.tablesIgnore)) {
    meta = { ...meta, tablesIgnore: [...config.tablesIgnore] };
    await metadata.save(meta);
  }
  if (needsBootstrap(meta, config, isEmpty(files))) {
    const url = config.url;
    if (url === null) {
      meta = resetToEmpty(files, meta);
      await metadata.save(meta);
    } else {
      try {
        const early = takeEarly();
        const remote = early?.remote ?? args.remoteFor(url);
        const before = early ? { sent: early.sentBefore, received: early.receivedBefore } : { sent: remote.sentBytes, received: remote.receivedBytes };
        const started = performance.now();
        let timing: BootstrapTiming | null = null;
        try {
          const done = await bootstrap({ files, metadata, config, meta, remote, progress: args.bootstrapProgress, answer: early?.answer ?? null });
          meta = done.meta;
          timing = done.timing;
        } finally {
          sentBytes += remote.sentBytes - before.sent;
          receivedBytes += remote.receivedBytes - before.received;
        }
        args.trace('info', 'bootstrap', { revision: meta.revision, pages: meta.basePages, receivedBytes, ms: msSince(started), ...timing });
      } catch (e) {
        // Offline on first start: begin as an empty local database; the first pull brings the
        // remote state and replays what was written meanwhile.
        if (!isWalsyncError(e, 'NETWORK_ERROR')) throw e;
        args.trace('warn', 'bootstrap.offline', { error: e.message });
        meta = resetToEmpty(files, meta);
        await metadata.save(meta);
      }
    }
  }
  return { meta, sentBytes, receivedBytes };
}

/** A bootstrap restarts if one was cut short, and starts on an empty never-synced database when the config asks for it. */
export function needsBootstrap(meta: Pick<SyncMetadata, 'bootstrapping' | 'revision'>, config: Pick<SyncConfig, 'url' | 'bootstrapIfEmpty'>, filesEmpty: boolean): boolean {
  return meta.bootstrapping || (meta.revision === null && config.url !== null && config.bootstrapIfEmpty && filesEmpty);
}

/** Where a bootstrap's time went (ms), for its trace event. */
interface BootstrapTiming {
  /** From the bootstrap's start to the server's answer (its header): small when the open sent the request early. */
  readonly answerMs: number;
  /** Whether the open sent the request before SQLite was ready (EarlyBootstrap). */
  readonly early: boolean;
  /** From the bootstrap's start: the durable bootstrap record and the files' truncation, while the request is out. */
  readonly recordMs: number;
  /** From the answer to the last page written and flushed. */
  readonly streamMs: number;
}

/** Writes the server's current database file; returns the finished metadata (saved). */
async function bootstrap(args: {
  files: DatabaseFiles;
  metadata: MetadataStore;
  config: SyncConfig;
  meta: SyncMetadata;
  remote: SyncRemote;
  progress: ((receivedBytes: number, totalBytes: number) => Promise<void>) | undefined;
  /** The request, if the open sent it already. */
  answer: Promise<PullResponse> | null;
}): Promise<{ meta: SyncMetadata; timing: BootstrapTiming }> {
  const { files, remote } = args;
  const requested = performance.now();
  const started = { ...args.meta, bootstrapping: true };
  // The request goes out first (if the open has not sent it already), so the server's time to its
  // first byte covers the durable record of the bootstrap (a strict IndexedDB write). Nothing local
  // changes before that record is saved.
  let answerMs = 0;
  const answer = args.answer ?? requestBootstrap(remote, args.config);
  void answer.then(() => (answerMs = msSince(requested)), () => undefined); // awaited below, unless a step before that fails first
  try {
    await args.metadata.save(started);
    files.db.truncate(0);
    // The db file is flushed with its pages below; the log and revert file must not come back after
    // a power loss with an older base's frames or pages in them (they are empty here but after a
    // crash or reset, so this costs nothing on a first bootstrap).
    for (const file of [files.wal, files.revert]) {
      if (file.size() === 0) continue;
      file.truncate(0);
      file.flush();
    }
  } catch (e) {
    releaseBootstrapAnswer(answer);
    throw e;
  }
  const recordMs = msSince(requested);
  const response = await answer;
  const answered = performance.now();
  // Progress for the app waiting on connect(): the header says how many pages come. A report every
  // BOOTSTRAP_WRITE_PAGES pages, not awaited (a round trip to the page each); the last one is, so
  // every report reaches the page before connect() resolves.
  const totalPages = response.dbSizePages;
  let receivedPages = 0;
  let reportedPages = -1;
  const report = (last = false): Promise<void> => {
    const pages = Math.min(receivedPages, totalPages); // a page sent twice is not more of the database
    if ((pages === reportedPages && !last) || !args.progress) return Promise.resolve();
    reportedPages = pages;
    return args.progress(pages * PAGE_SIZE, totalPages * PAGE_SIZE).catch(() => undefined);
  };
  void report();
  // Runs of consecutive pages go to the file in one write (servers send them mostly in order).
  const run = new Uint8Array(BOOTSTRAP_WRITE_PAGES * PAGE_SIZE);
  let runStart = 0;
  let runPages = 0;
  const flushRun = () => {
    if (runPages > 0) files.db.write(run.subarray(0, runPages * PAGE_SIZE), (runStart - 1) * PAGE_SIZE);
    runPages = 0;
  };
  for await (const page of response.pages) {
    if (page.data.length !== PAGE_SIZE) throw new WalsyncError('PROTOCOL_ERROR', `the server sent a ${page.data.length}-byte page`);
    if (runPages === BOOTSTRAP_WRITE_PAGES || (runPages > 0 && page.pgno !== runStart + runPages)) flushRun();
    if (runPages === 0) runStart = page.pgno;
    run.set(page.data, runPages * PAGE_SIZE);
    runPages++;
    receivedPages++;
    if (receivedPages - reportedPages >= BOOTSTRAP_WRITE_PAGES) void report();
  }
  flushRun();
  // Every page 1..dbSizePages was written (http-sync-remote.ts checks a full answer is whole), so the file
  // normally has its size already: an OPFS truncate costs tens of ms even when it changes nothing.
  if (files.db.size() !== response.dbSizePages * PAGE_SIZE) files.db.truncate(response.dbSizePages * PAGE_SIZE);
  files.db.flush();
  await report(true);
  killPoint('bootstrap:pages-written');
  const done: SyncMetadata = {
    ...started,
    bootstrapping: false,
    revision: response.revision,
    basePages: response.dbSizePages,
    watermark: { frame: 0, salt1: 0, salt2: 0 },
    lastPullUnixTime: nowSeconds(),
  };
  const streamMs = msSince(answered);
  await args.metadata.save(done);
  return { meta: done, timing: { answerMs, early: args.answer !== null, recordMs, streamMs } };
}

function resetToEmpty(files: DatabaseFiles, meta: SyncMetadata): SyncMetadata {
  files.db.truncate(0);
  files.wal.truncate(0);
  files.revert.truncate(0);
  files.db.flush();
  files.wal.flush();
  files.revert.flush();
  return { ...meta, bootstrapping: false, revision: null, basePages: 0, watermark: { frame: 0, salt1: 0, salt2: 0 } };
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

function isEmpty(files: DatabaseFiles): boolean {
  return files.db.size() === 0 && files.wal.size() === 0;
}
