/**
 * Crash safety of sync: the worker is stopped dead at each step of pull, push and checkpoint (an
 * armed kill point, as if the tab were killed there), the database is reopened, and then it must
 * hold every committed local change exactly once, pass integrity_check, and sync to the same state
 * as the other client. Each point is also played as a power loss that the OPFS files survived but
 * IndexedDB did not: the sync metadata is put back as it was before its last write. Real tursodb,
 * fresh database for this file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

interface CrashOutcome {
  killed: string;
  /** Whether a metadata write was there to lose (the power-loss variant). */
  lostMetadataWrite: boolean;
  afterReopen: unknown[][];
  integrity: unknown;
  final: { a: unknown[][]; b: unknown[][] };
  pendingAfterSync: number;
}

type Operation = 'pull' | 'pull-after-checkpoint' | 'pull-nothing-local' | 'push' | 'checkpoint';

/**
 * Client a creates the table and a remote row; client b bootstraps, writes local rows (one in an
 * explicit transaction), a writes another remote row; then b runs `operation` with the kill point
 * armed. After the crash b reopens, syncs, and a pulls. With `loseMetadataWrite` the crash is a
 * power loss that took IndexedDB's last write with it: the record is put back as before that write.
 * 'pull-nothing-local': b writes its rows only after the reopen, so the killed pull is one with
 * nothing to replay by a client the server knows nothing of (the pull that runs no replay transaction).
 */
async function crashDuring(operation: Operation, point: string, tag: string, loseMetadataWrite = false): Promise<CrashOutcome> {
  return env.page.evaluate(
    async ({ url, operation, point, tag, loseMetadataWrite }) => {
      const table = `crash_${tag}`;
      const a = await window.walsync.connect({ path: `${tag}-a.db`, url, clientName: 'a' });
      await a.exec(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY, v TEXT)`);
      await a.exec(`INSERT INTO ${table} VALUES (1, 'remote 1')`);
      await a.push();
      let b = await window.walsync.connect({ path: `${tag}-b.db`, url, clientName: 'b' });
      const writeLocalRows = async (db: typeof b) => {
        await db.exec(`INSERT INTO ${table} VALUES (10, 'local 10')`);
        await db.transaction(async (tx) => {
          await tx.exec(`INSERT INTO ${table} VALUES (11, 'local 11')`);
          await tx.exec(`UPDATE ${table} SET v = 'local edit' WHERE id = 1`);
        })();
      };
      if (operation !== 'pull-nothing-local') await writeLocalRows(b);
      if (operation === 'checkpoint') {
        // Give the checkpoint local pages over a synced base, so it has pre-images to save.
        await b.pull();
        await b.exec(`INSERT INTO ${table} VALUES (12, 'local 12')`);
      }
      if (operation === 'pull-after-checkpoint') {
        // The pull then rolls back over a base kept in the database file and the revert store.
        await b.checkpoint();
        await b.exec(`INSERT INTO ${table} VALUES (12, 'local 12')`);
      }
      await a.exec(`INSERT INTO ${table} VALUES (2, 'remote 2')`);
      await a.push();

      await window.kit.channel(b).call((api) => api.armKillPointForTesting(point));
      const run = operation.startsWith('pull') ? () => b.pull() : operation === 'push' ? () => b.push() : () => b.checkpoint();
      const killed = await window.kit.errorOf(run);
      const lastWrite = killed.context.metadataBeforeLastWriteJson;
      const lostMetadataWrite = loseMetadataWrite && typeof lastWrite === 'string';
      if (lostMetadataWrite) await window.kit.restoreMetadata(lastWrite as string);

      b = await window.walsync.connect({ path: `${tag}-b.db`, url, clientName: 'b' });
      if (operation === 'pull-nothing-local') await writeLocalRows(b);
      const afterReopen = await window.kit.dump(b, table);
      const integrity = await b.prepare('PRAGMA integrity_check').get();
      await b.sync();
      await a.sync();
      await b.pull();
      const final = { a: await window.kit.dump(a, table), b: await window.kit.dump(b, table) };
      const pendingAfterSync = (await b.stats()).cdcOperations;
      await a.close();
      await b.close();
      return { killed: killed.message, lostMetadataWrite, afterReopen, integrity, final, pendingAfterSync };
    },
    { url: env.server.url, operation, point, tag, loseMetadataWrite },
  );
}

function assertRecovered(r: CrashOutcome, point: string, withRow12 = false): void {
  assert.match(r.killed, new RegExp(`killed at ${point}`), 'the kill point was reached');
  assert.deepEqual(r.integrity, { integrity_check: 'ok' });
  const localIds = r.afterReopen.map((row) => row[0]);
  for (const id of [10, 11, ...(withRow12 ? [12] : [])]) assert.ok(localIds.includes(id), `local row ${id} survived the crash`);
  assert.equal(new Set(localIds).size, localIds.length, 'no row is duplicated');
  const expected = [
    [1, 'local edit'],
    [2, 'remote 2'],
    [10, 'local 10'],
    [11, 'local 11'],
    ...(withRow12 ? [[12, 'local 12']] : []),
  ];
  assert.deepEqual(r.final.b, expected, 'b ends with every change exactly once');
  assert.deepEqual(r.final.a, expected, 'the server has every change of b exactly once');
  assert.equal(r.pendingAfterSync, 0);
}

/**
 * b is killed while its first connect() bootstraps (pages written, final record not yet), reopens,
 * writes local rows and syncs; a must then see them, and b the remote rows.
 */
async function crashDuringBootstrap(tag: string, loseMetadataWrite: boolean): Promise<CrashOutcome> {
  return env.page.evaluate(
    async ({ url, tag, loseMetadataWrite }) => {
      const table = `crash_${tag}`;
      const a = await window.walsync.connect({ path: `${tag}-a.db`, url, clientName: 'a' });
      await a.exec(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY, v TEXT)`);
      await a.exec(`INSERT INTO ${table} VALUES (1, 'remote 1')`);
      await a.push();
      window.kit.armKillPointOnNextOpen('bootstrap:pages-written');
      const killed = await window.kit.errorOf(() => window.walsync.connect({ path: `${tag}-b.db`, url, clientName: 'b' }));
      const lastWrite = killed.context.metadataBeforeLastWriteJson;
      const lostMetadataWrite = loseMetadataWrite && typeof lastWrite === 'string';
      if (lostMetadataWrite) await window.kit.restoreMetadata(lastWrite as string);

      const b = await window.walsync.connect({ path: `${tag}-b.db`, url, clientName: 'b' });
      await b.exec(`INSERT INTO ${table} VALUES (10, 'local 10')`);
      await b.transaction(async (tx) => {
        await tx.exec(`INSERT INTO ${table} VALUES (11, 'local 11')`);
        await tx.exec(`UPDATE ${table} SET v = 'local edit' WHERE id = 1`);
      })();
      const afterReopen = await window.kit.dump(b, table);
      const integrity = await b.prepare('PRAGMA integrity_check').get();
      await a.exec(`INSERT INTO ${table} VALUES (2, 'remote 2')`);
      await a.push();
      await b.sync();
      await a.sync();
      await b.pull();
      const final = { a: await window.kit.dump(a, table), b: await window.kit.dump(b, table) };
      const pendingAfterSync = (await b.stats()).cdcOperations;
      await a.close();
      await b.close();
      return { killed: killed.message, lostMetadataWrite, afterReopen, integrity, final, pendingAfterSync };
    },
    { url: env.server.url, tag, loseMetadataWrite },
  );
}

const PULL_POINTS = ['pull:downloaded', 'pull:intent-saved', 'pull:applied', 'pull:replayed', 'pull:revert-cleared', 'pull:finished'];
const PUSH_POINTS = ['push:sent', 'push:before-metadata'];
const CHECKPOINT_POINTS = ['checkpoint:revert-saved', 'checkpoint:checkpointed'];

for (const loseMetadataWrite of [false, true]) {
  const how = loseMetadataWrite ? 'power loss that took the last metadata write' : 'worker killed';
  const suffix = loseMetadataWrite ? '_lost' : '';
  const run = async (operation: Operation, point: string, withRow12 = false) => {
    const r = await crashDuring(operation, point, `${operation}_${point}${suffix}`.replace(/\W/g, '_'), loseMetadataWrite);
    if (loseMetadataWrite) assert.ok(r.lostMetadataWrite, 'there was a metadata write to lose');
    assertRecovered(r, point, withRow12);
  };

  describe(`a ${how} during bootstrap`, () => {
    test('at bootstrap:pages-written: the reopened database bootstraps or keeps the pages, and syncs', async () => {
      const r = await crashDuringBootstrap(`bootstrap${suffix}`, loseMetadataWrite);
      if (loseMetadataWrite) assert.ok(r.lostMetadataWrite, 'there was a metadata write to lose');
      assertRecovered(r, 'bootstrap:pages-written');
    });
  });

  describe(`a ${how} during pull`, () => {
    for (const point of PULL_POINTS) {
      test(`at ${point}: reopen finds every local change once and sync converges`, async () => {
        await run('pull', point);
      });
    }
  });

  describe(`a ${how} during a pull over a checkpointed base`, () => {
    for (const point of PULL_POINTS) {
      test(`at ${point}: the base in the database file and revert store is not lost`, async () => {
        await run('pull-after-checkpoint', point, true);
      });
    }
  });

  describe(`a ${how} during a pull with nothing to replay, by a client that never pushed`, () => {
    for (const point of PULL_POINTS) {
      test(`at ${point}: the reopened database takes local writes and syncs them`, async () => {
        await run('pull-nothing-local', point);
      });
    }
  });

  describe(`a ${how} during push`, () => {
    for (const point of PUSH_POINTS) {
      test(`at ${point}: the retry neither loses nor duplicates a change`, async () => {
        await run('push', point);
      });
    }
  });

  describe(`a ${how} during checkpoint`, () => {
    for (const point of CHECKPOINT_POINTS) {
      test(`at ${point}: the synced base is intact and a later pull applies cleanly`, async () => {
        await run('checkpoint', point, true);
      });
    }
  });
}
