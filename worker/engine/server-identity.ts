/**
 * Is the server still the database we synced with? A reset or replaced server answers a pull
 * with another database's pages, and applying them over ours would corrupt it; a push to it would
 * put only our newest changes on a database that lacks the rest. Every check here runs before
 * anything local changes (it only reads), so a refusal leaves the database as it was: SERVER_RESET,
 * and resetSync() is the way on.
 * Two signs: our position row (`turso_sync_last_change_id`), there for good once a push of ours
 * committed; and, for a client that never pushed, a sample of the server's pages as of our
 * revision, which must be our base's.
 */
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import { SQLITE_CORRUPT } from '../../contract/sqlite-codes.js';
import type { EngineContext } from './engine-context.js';
import type { SyncMetadata } from './metadata.js';
import type { HighWaterMark, SyncRemote } from '../protocol/remote.js';

/** Pages read from the server as of one revision (a page it does not have then is absent). */
export interface ServerPages {
  readonly pgnos: readonly number[];
  readonly pages: ReadonlyMap<number, Uint8Array>;
  /** The server does not know the revision at all: its history never reached ours. */
  readonly unknownRevision?: boolean;
}

/** Pages of our base compared with the server's as of our revision: the first few, and a few a pull overwrites. */
export const HISTORY_SAMPLE_PAGES = 4;

/** Header bytes every pull rewrites locally: the page count (28..32) and the schema cookie (40..44). */
function isRewrittenHeaderByte(i: number): boolean {
  return (i >= 40 && i < 44) || (i >= 28 && i < 32);
}

/**
 * Which of our base's pages to compare with the server's: the header page, the first few, and a
 * few of `overwritten` (those a pull is about to replace), all within the base.
 */
export function historySample(basePages: number, overwritten: readonly number[] = []): number[] {
  const sample = new Set<number>([1]);
  for (let p = 2; p <= Math.min(basePages, HISTORY_SAMPLE_PAGES); p++) sample.add(p);
  const extra = overwritten.filter((p) => p > HISTORY_SAMPLE_PAGES && p <= basePages).slice(0, HISTORY_SAMPLE_PAGES);
  for (const p of extra) sample.add(p);
  return [...sample];
}

/**
 * How many overwritten pages historySample() takes from a base of `basePages` pages, at most: it
 * takes them only past the fixed first few, so a base no larger than those has none to take.
 */
export function historySampleExtras(basePages: number): number {
  return Math.min(HISTORY_SAMPLE_PAGES, Math.max(0, basePages - HISTORY_SAMPLE_PAGES));
}

/** Whether page `pgno` of our base equals the server's (null: the page does not exist there). */
export function sameBasePage(pgno: number, ours: Uint8Array | null, theirs: Uint8Array | null): boolean {
  if (ours === null || theirs === null) return ours === theirs;
  return ours.every((byte, i) => (pgno === 1 && isRewrittenHeaderByte(i)) || byte === theirs[i]);
}

/**
 * Whether the server's position for this client (its row of `turso_sync_last_change_id`) fits the
 * pushes this client made: once a push committed, the row is there for good, and never below the
 * last position we recorded (after a pull we record 0 of the next generation: any row will do).
 */
export function holdsOurPushes(meta: SyncMetadata, mark: HighWaterMark | null): boolean {
  if (meta.pushedToServer !== true) return true;
  if (!mark) return false;
  if (meta.lastPushedChangeId === 0) return true;
  return mark.pullGen > meta.lastPushedPullGen || (mark.pullGen === meta.lastPushedPullGen && mark.changeId >= meta.lastPushedChangeId);
}

/**
 * The server's versions, as of `revision` (ours), of a sample of our base's pages (historySample).
 */
export function readServerPages(ctx: EngineContext, remote: SyncRemote, revision: string, overwritten: readonly number[] = []): Promise<ServerPages> {
  const pgnos = historySample(ctx.meta.basePages, overwritten);
  return ctx.counted(remote, async () => {
    try {
      return { pgnos, pages: await remote.readPagesAt(revision, pgnos) };
    } catch (e) {
      // tursodb answers a revision past the end of its log with HTTP 500 "unexpected WAL frame
      // buffer size": it never had our revision (it was reset and is behind us).
      if (isWalsyncError(e, 'SERVER_ERROR') && /WAL frame/i.test(e.message)) return { pgnos, pages: new Map(), unknownRevision: true };
      throw e;
    }
  });
}

/**
 * Checks that the server's pages equal our synced base's (on the header page but for the schema
 * cookie and the page count, which every pull rewrites locally): otherwise the server holds
 * another database than the one we synced.
 */
export function assertSameDatabase(ctx: EngineContext, server: ServerPages, revision: string): void {
  const base = ctx.syncedBase();
  if (server.unknownRevision) throw serverResetError(revision, ctx.meta.revision);
  for (const pgno of server.pgnos) {
    if (!sameBasePage(pgno, base.page(pgno), server.pages.get(pgno) ?? null)) throw serverResetError(revision, ctx.meta.revision);
  }
}

export function serverResetError(revision: string, syncedRevision: string | null, cause?: unknown): WalsyncError {
  return new WalsyncError(
    'SERVER_RESET',
    `the sync server no longer has the database this copy was synced with (revision ${revision} after ${syncedRevision ?? 'none'} is another database): it was reset or replaced. Nothing was changed here; call resetSync() to start over from the server's data and push every local row to it, or point the database back at the right server`,
    { context: { revision, syncedRevision }, cause },
  );
}

/** The push-side sign of a reset server: it lacks the position our earlier pushes left there. */
export function serverLostPushesError(mark: HighWaterMark | null, meta: SyncMetadata): WalsyncError {
  const position = mark ? `${mark.pullGen}/${mark.changeId}` : 'none';
  return new WalsyncError(
    'SERVER_RESET',
    `the sync server does not hold this client's earlier pushes (its position for us: ${position}, ours: ${meta.lastPushedPullGen}/${meta.lastPushedChangeId}): it was reset or replaced. Nothing was sent; call resetSync() to start over from the server's data and push every local row to it, or point the database back at the right server`,
    { context: { serverPosition: position, pushedPosition: `${meta.lastPushedPullGen}/${meta.lastPushedChangeId}` } },
  );
}

/** A pulled state SQLite finds malformed is another database's pages over ours. */
export function isCorruption(e: unknown): boolean {
  if (isWalsyncError(e) && e.sqliteCode !== undefined) return (e.sqliteCode & 0xff) === SQLITE_CORRUPT;
  return /SQLITE_CORRUPT|malformed/i.test(e instanceof Error ? e.message : String(e));
}
