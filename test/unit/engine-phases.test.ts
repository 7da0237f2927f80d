/**
 * The pure parts of the sync engine's phases: which pages tell a reset server apart (and when a
 * pull reads them), when a bootstrap runs, how a push chunk ends on a transaction boundary and
 * names a refused change, which changes a replay re-applies, how resetSync() chunks the database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '@sqlite.org/sqlite-wasm';
import { WalsyncError } from '../../contract/errors.js';
import { bootstrapDue, needsBootstrap, sameNames } from '../../worker/engine/bootstrap.js';
import type { CapturedChange } from '../../worker/cdc/change-capture.js';
import { CHANGE_BATCH, describeIds } from '../../worker/engine/engine-context.js';
import { newMetadata, type SyncMetadata } from '../../worker/engine/metadata.js';
import { changesToReplay } from '../../worker/engine/pull-recover.js';
import { nameRejectedChange, readWholeTransactions } from '../../worker/engine/push.js';
import { splitIntoChunks } from '../../worker/engine/reseed.js';
import { HistorySampler } from '../../worker/engine/pull.js';
import type { EngineContext } from '../../worker/engine/engine-context.js';
import type { SyncRemote } from '../../worker/protocol/remote.js';
import { HISTORY_SAMPLE_PAGES, historySample, holdsOurPushes, isCorruption, sameBasePage } from '../../worker/engine/server-identity.js';

function change(changeId: number, txnId: number, extra: Partial<CapturedChange> = {}): CapturedChange {
  return { changeId, changeIds: [changeId], txnId, tableName: 't', isSchemaChange: false, localOnly: false, ...extra };
}

/** A change log as `capture.read` serves it. */
function logOf(changes: CapturedChange[]): { read(db: Database, after: number, limit: number): CapturedChange[] } {
  return { read: (_db, after, limit) => changes.filter((c) => c.changeId > after).slice(0, limit) };
}

const noDb = null as unknown as Database;

test('historySample: the header page, the first few, and a few overwritten pages inside the base', () => {
  assert.deepEqual(historySample(1), [1]);
  assert.deepEqual(historySample(100), [1, 2, 3, 4]);
  assert.deepEqual(historySample(3, [2, 9]), [1, 2, 3]);
  const overwritten = [2, 5, 7, 50, 200, 60, 61, 62, 63];
  assert.deepEqual(historySample(100, overwritten), [1, 2, 3, 4, 5, 7, 50, 60]);
  assert.equal(historySample(100, overwritten).length, 2 * HISTORY_SAMPLE_PAGES);
});

test('HistorySampler: the sample read starts once the pages it takes have streamed, from the first page for a tiny base', async () => {
  /** A sampler over a base of `basePages` pages; `reads` logs each sample read's pages. */
  function sampler(basePages: number) {
    const reads: number[][] = [];
    const ctx = { meta: { ...newMetadata('c'), basePages }, counted: (_remote: unknown, op: () => unknown) => op() } as unknown as EngineContext;
    const remote = { readPagesAt: async (_revision: string, pgnos: number[]) => (reads.push(pgnos), new Map()) } as unknown as SyncRemote;
    return { reads, sampler: new HistorySampler(ctx, remote, '7') };
  }
  // A base of 2 pages takes no overwritten page: known before any arrives, read at the first one.
  const tiny = sampler(2);
  tiny.sampler.saw(300);
  assert.deepEqual(tiny.reads, [[1, 2]]);
  // A base of 6 takes pages 5 and 6 if overwritten: read once both have come (not before).
  const small = sampler(6);
  for (const pgno of [1, 9, 5]) small.sampler.saw(pgno);
  assert.deepEqual(small.reads, []);
  small.sampler.saw(6);
  assert.deepEqual(small.reads, [[1, 2, 3, 4, 5, 6]]);
  // A large base: after the first HISTORY_SAMPLE_PAGES overwritten pages past the fixed ones.
  const large = sampler(1000);
  for (const pgno of [2, 10, 2000, 11, 12]) large.sampler.saw(pgno);
  assert.deepEqual(large.reads, []);
  large.sampler.saw(13);
  large.sampler.saw(14);
  assert.deepEqual(large.reads, [[1, 2, 3, 4, 10, 11, 12, 13]]);
  // An answer with fewer: read at the end, with what came.
  const partial = sampler(1000);
  partial.sampler.saw(20);
  await partial.sampler.pages([20]);
  assert.deepEqual(partial.reads, [[1, 2, 3, 4, 20]]);
});

test('sameBasePage: the header page may differ in page count and schema cookie only', () => {
  const ours = new Uint8Array(4096).fill(7);
  const theirs = ours.slice();
  theirs[28] = 1; // page count
  theirs[41] = 1; // schema cookie
  assert.equal(sameBasePage(1, ours, theirs), true);
  assert.equal(sameBasePage(2, ours, theirs), false, 'other pages must match byte for byte');
  const other = ours.slice();
  other[100] = 0;
  assert.equal(sameBasePage(1, ours, other), false);
  assert.equal(sameBasePage(3, null, null), true);
  assert.equal(sameBasePage(3, ours, null), false);
  assert.equal(sameBasePage(3, null, ours), false);
});

test('holdsOurPushes: the server must hold our row at or above the last position we recorded', () => {
  const never = newMetadata('c');
  assert.equal(holdsOurPushes(never, null), true, 'a client that never pushed expects nothing');
  const pushed: SyncMetadata = { ...never, pushedToServer: true, lastPushedPullGen: 2, lastPushedChangeId: 10 };
  assert.equal(holdsOurPushes(pushed, null), false);
  assert.equal(holdsOurPushes(pushed, { pullGen: 2, changeId: 9 }), false);
  assert.equal(holdsOurPushes(pushed, { pullGen: 2, changeId: 10 }), true);
  assert.equal(holdsOurPushes(pushed, { pullGen: 3, changeId: 0 }), true);
  assert.equal(holdsOurPushes(pushed, { pullGen: 1, changeId: 99 }), false);
  assert.equal(holdsOurPushes({ ...pushed, lastPushedChangeId: 0 }, { pullGen: 0, changeId: 0 }), true, 'after a pull any row will do');
});

test('isCorruption: SQLITE_CORRUPT and its extended codes, or a malformed message', () => {
  assert.equal(isCorruption(new WalsyncError('SQLITE_ERROR', 'x', { sqliteCode: 11 })), true);
  assert.equal(isCorruption(new WalsyncError('SQLITE_ERROR', 'x', { sqliteCode: 11 | (3 << 8) })), true);
  assert.equal(isCorruption(new WalsyncError('SQLITE_ERROR', 'x', { sqliteCode: 1 })), false);
  assert.equal(isCorruption(new Error('database disk image is malformed')), true);
  assert.equal(isCorruption(new Error('no such table: t')), false);
});

test('needsBootstrap: restarts a cut-short one; starts one only on an empty never-synced database asked to', () => {
  const config = { url: 'http://x', bootstrapIfEmpty: true };
  assert.equal(needsBootstrap({ bootstrapping: true, revision: 'r' }, { url: null, bootstrapIfEmpty: false }, false), true);
  assert.equal(needsBootstrap({ bootstrapping: false, revision: null }, config, true), true);
  assert.equal(needsBootstrap({ bootstrapping: false, revision: null }, config, false), false);
  assert.equal(needsBootstrap({ bootstrapping: false, revision: 'r' }, config, true), false);
  assert.equal(needsBootstrap({ bootstrapping: false, revision: null }, { ...config, bootstrapIfEmpty: false }, true), false);
  assert.equal(needsBootstrap({ bootstrapping: false, revision: null }, { ...config, url: null }, true), false);
  assert.equal(sameNames(['a', 'b'], ['a', 'b']), true);
  assert.equal(sameNames(['a', 'b'], ['b', 'a']), false);
});

test('bootstrapDue: the open sends a bootstrap request early exactly when openSyncedFiles will bootstrap', () => {
  const config = { url: 'http://x', bootstrapIfEmpty: true };
  const fresh = newMetadata('c');
  // First use: only on empty files (others are a local database's: the open refuses them).
  assert.equal(bootstrapDue(undefined, config, 0, 0), true);
  assert.equal(bootstrapDue(undefined, config, 4096, 0), false);
  assert.equal(bootstrapDue(undefined, { ...config, bootstrapIfEmpty: false }, 0, 0), false);
  assert.equal(bootstrapDue(undefined, { ...config, url: null }, 0, 0), false);
  // A cut-short bootstrap restarts, unless a log proves it finished (its record was lost).
  assert.equal(bootstrapDue({ ...fresh, bootstrapping: true }, config, 8192, 0), true);
  assert.equal(bootstrapDue({ ...fresh, bootstrapping: true }, config, 8192, 4096), false);
  // A record that never synced bootstraps on empty files only; a synced one never.
  assert.equal(bootstrapDue(fresh, config, 0, 0), true);
  assert.equal(bootstrapDue(fresh, config, 0, 4096), false);
  assert.equal(bootstrapDue({ ...fresh, revision: '7' }, config, 0, 0), false);
});

test('readWholeTransactions: a chunk never ends inside a local transaction', () => {
  const log = [change(1, 1), change(2, 1), change(3, 2), change(4, 2), change(5, 2), change(6, 3)];
  assert.deepEqual(readWholeTransactions(logOf(log), noDb, 0, 3).map((c) => c.changeId), [1, 2, 3, 4, 5]);
  assert.deepEqual(readWholeTransactions(logOf(log), noDb, 0, 2).map((c) => c.changeId), [1, 2], 'the limit ends on a transaction boundary');
  assert.deepEqual(readWholeTransactions(logOf(log), noDb, 5, 3).map((c) => c.changeId), [6]);
  assert.deepEqual(readWholeTransactions(logOf(log), noDb, 6, 3), []);
  // One transaction longer than a read batch is still sent whole.
  const big = Array.from({ length: CHANGE_BATCH * 2 + 5 }, (_, i) => change(i + 1, 1)).concat([change(CHANGE_BATCH * 2 + 6, 2)]);
  assert.equal(readWholeTransactions(logOf(big), noDb, 0, 10).length, CHANGE_BATCH * 2 + 5);
});

test('nameRejectedChange: a PUSH_REJECTED names the change behind the refused statement', () => {
  const owners = [change(3, 1), change(7, 1, { changeIds: [5, 7, 9], tableName: 'users' })];
  const statements = [{ sql: 'A', args: [] }, { sql: 'B', args: [] }];
  const refused = new WalsyncError('PUSH_REJECTED', 'UNIQUE constraint failed', { context: { statementIndex: 1 } });
  const named = nameRejectedChange(refused, statements, owners);
  assert.ok(named instanceof WalsyncError);
  assert.match(named.message, /local change 7 \(with 5, 9\) on table users: UNIQUE constraint failed/);
  assert.deepEqual(named.context.changeIds, [5, 7, 9]);
  assert.equal(named.context.sql, 'B');
  assert.equal((nameRejectedChange(refused, statements, owners, 0) as WalsyncError).context.changeId, 3, 'an explicit index wins');
  const other = new WalsyncError('NETWORK_ERROR', 'down');
  assert.equal(nameRejectedChange(other, statements, owners), other);
  assert.equal(describeIds(change(4, 1)), '4');
});

test('changesToReplay: changes above the server floor, and every local-only one', () => {
  const read = [change(1, 1), change(2, 1, { localOnly: true }), change(3, 2), change(4, 2)];
  assert.deepEqual(changesToReplay(read, 3).map((c) => c.changeId), [2, 4]);
  assert.deepEqual(changesToReplay(read, 0).map((c) => c.changeId), [1, 2, 3, 4]);
});

test('splitIntoChunks: runs of at most the size, and one empty run for nothing (the position still goes)', () => {
  assert.deepEqual(splitIntoChunks([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(splitIntoChunks([], 2), [[]]);
});
