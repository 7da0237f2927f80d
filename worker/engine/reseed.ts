/**
 * resetSync(): recovery from a reset or replaced server. The whole local database goes to the
 * server as statements, then the database becomes one whose first pull brings the server's state.
 * Phases: beginResetSync (network: refuse a server that still holds our pushes), prepareResetSync
 * (local), sendResetSyncChunk (network, per chunk), finishResetSync (local).
 * Crash argument: `reseedPending` is saved before the first chunk is sent, and cleared only with
 * the new position: a crash in between leaves push and pull refused and resetSync() to be redone
 * (sending every row again is idempotent: they are upserts). Only the last chunk records our full
 * position on the server, so a half-sent database never looks like a finished push.
 */
import { WalsyncError, isWalsyncError } from '../../contract/errors.js';
import { lastChangeId, rowStatements, schemaStatements } from '../cdc/full-state.js';
import { type EngineContext, nowSeconds } from './engine-context.js';
import { mergeUpserts } from './push-statements.js';
import type { HighWaterMark, PushStatement, SyncRemote } from '../protocol/remote.js';
import { holdsOurPushes } from './server-identity.js';
import { readSyncRow } from '../protocol/sync-table.js';

/** resetSync() sends the whole database in server transactions of at most this many statements. */
export const RESEED_CHUNK_STATEMENTS = 5000;

/** One resetSync(), from begin to finish. */
export interface ReseedProgress {
  readonly remote: SyncRemote;
  /** The whole database as statements, in server transactions (at least one, maybe empty). */
  readonly chunks: readonly (readonly PushStatement[])[];
  /** Chunks the server committed so far. */
  readonly sent: number;
  /** The position the last chunk records: every local change up to it is in the statements. */
  readonly mark: HighWaterMark;
}

/**
 * resetSync(), network phase: refuses a server that holds this client's pushes (it was not
 * reset: sending every row there would overwrite newer changes of other clients).
 */
export async function beginResetSync(ctx: EngineContext, remote: SyncRemote): Promise<void> {
  if (ctx.meta.reseedPending !== true && ctx.meta.pushedToServer === true) {
    const mark = await ctx.counted(remote, () => remote.readHighWater(ctx.clientId));
    if (holdsOurPushes(ctx.meta, mark)) {
      throw new WalsyncError('INVALID_ARGUMENT', "resetSync(): the server holds this client's pushes, so it was not reset; use sync()");
    }
  }
}

/**
 * resetSync(), local phase: records durably that a reseed is under way (push and pull are
 * refused until it ends), then reads the whole database as statements, and the position they
 * cover (every local change so far). Changes made after this are replayed and pushed as usual.
 */
export async function prepareResetSync(ctx: EngineContext, remote: SyncRemote): Promise<ReseedProgress> {
  const db = ctx.local.connection;
  const pullGen = readSyncRow(db, ctx.clientId)?.pullGen ?? 0;
  const lastChange = lastChangeId(db);
  const statements = [...schemaStatements(db), ...rowStatements(db, new Set(ctx.config.tablesIgnore))];
  await ctx.saveMeta({ ...ctx.meta, reseedPending: true });
  return { remote, chunks: splitIntoChunks(statements, RESEED_CHUNK_STATEMENTS), sent: 0, mark: { pullGen, changeId: lastChange } };
}

/** `items` in runs of at most `size`; one empty run for no items (the position still has to go). */
export function splitIntoChunks<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks.length > 0 ? chunks : [[]];
}

/**
 * resetSync(), network phase: sends the next chunk in one server transaction; only the last one
 * records our full position (a crash before it leaves the reseed pending, to be redone).
 * Returns the progress with this chunk counted.
 */
export async function sendResetSyncChunk(ctx: EngineContext, reseed: ReseedProgress): Promise<ReseedProgress> {
  const chunk = reseed.chunks[reseed.sent];
  if (!chunk) throw new WalsyncError('INTERNAL', 'sendResetSyncChunk() without a prepared reseed');
  const last = reseed.sent === reseed.chunks.length - 1;
  const mark = last ? reseed.mark : { pullGen: reseed.mark.pullGen, changeId: 0 };
  const merged = mergeUpserts(chunk);
  try {
    await ctx.counted(reseed.remote, () => reseed.remote.push(merged.statements, ctx.clientId, mark));
  } catch (e) {
    if (!isWalsyncError(e, 'PUSH_REJECTED')) throw e;
    const sql = merged.statements[Number(e.context.statementIndex)]?.sql;
    throw new WalsyncError('PUSH_REJECTED', `resetSync(): the server refused a statement of the local database: ${e.message}; nothing of it was applied, call resetSync() again once it is fixed`, {
      context: { ...e.context, sql },
      cause: e,
    });
  }
  ctx.trace('info', 'resetSync.chunk', { chunk: reseed.sent + 1, of: reseed.chunks.length, statements: chunk.length });
  return { ...reseed, sent: reseed.sent + 1 };
}

/**
 * resetSync(), local phase: the server now holds every local row and our position, so the
 * database becomes one whose first pull brings the server's state (as a deferred start does):
 * the pull replaces the old base and replays the changes made since prepareResetSync().
 */
export async function finishResetSync(ctx: EngineContext, reseed: ReseedProgress): Promise<void> {
  if (reseed.sent < reseed.chunks.length) throw new WalsyncError('INTERNAL', 'finishResetSync() before every chunk was sent');
  await ctx.saveMeta({
    ...ctx.meta,
    revision: null,
    basePages: 0,
    watermark: { frame: 0, salt1: 0, salt2: 0 },
    pushedToServer: true,
    lastPushedPullGen: reseed.mark.pullGen,
    lastPushedChangeId: reseed.mark.changeId,
    lastPushUnixTime: nowSeconds(),
    reseedPending: false,
  });
}
