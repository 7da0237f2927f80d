/**
 * Crash safety of sync: the worker is stopped dead at each step of pull, push and checkpoint (an
 * armed kill point, as if the tab were killed there), the database is reopened, and then it must
 * hold every committed local change exactly once, pass integrity_check, and sync to the same state
 * as the other client. Real tursodb, fresh database for this file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

interface CrashOutcome {
  killed: string;
  afterReopen: unknown[][];
  integrity: unknown;
  final: { a: unknown[][]; b: unknown[][] };
  pendingAfterSync: number;
}

/**
 * Client a creates the table and a remote row; client b bootstraps, writes local rows (one in an
 * explicit transaction), a writes another remote row; then b runs `operation` with the kill point
 * armed. After the crash b reopens, syncs, and a pulls.
 */
async function crashDuring(operation: 'pull' | 'push' | 'checkpoint', point: string, tag: string): Promise<CrashOutcome> {
  return env.page.evaluate(
    async ({ url, operation, point, tag }) => {
      const table = `crash_${tag}`;
      const a = await window.walsync.connect({ path: `${tag}-a.db`, url, clientName: 'a' });
      await a.exec(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY, v TEXT)`);
      await a.exec(`INSERT INTO ${table} VALUES (1, 'remote 1')`);
      await a.push();
      let b = await window.walsync.connect({ path: `${tag}-b.db`, url, clientName: 'b' });
      await b.exec(`INSERT INTO ${table} VALUES (10, 'local 10')`);
      await b.transaction(async (tx) => {
        await tx.exec(`INSERT INTO ${table} VALUES (11, 'local 11')`);
        await tx.exec(`UPDATE ${table} SET v = 'local edit' WHERE id = 1`);
      })();
      if (operation === 'checkpoint') {
        // Give the checkpoint local pages over a synced base, so it has pre-images to save.
        await b.pull();
        await b.exec(`INSERT INTO ${table} VALUES (12, 'local 12')`);
      }
      await a.exec(`INSERT INTO ${table} VALUES (2, 'remote 2')`);
      await a.push();

      await b.channel.call((api) => api.armKillPointForTesting(point));
      const run = operation === 'pull' ? () => b.pull() : operation === 'push' ? () => b.push() : () => b.checkpoint();
      const killed = await window.kit.errorOf(run);

      b = await window.walsync.connect({ path: `${tag}-b.db`, url, clientName: 'b' });
      const afterReopen = await window.kit.dump(b, table);
      const integrity = await b.prepare('PRAGMA integrity_check').get();
      await b.sync();
      await a.sync();
      await b.pull();
      const final = { a: await window.kit.dump(a, table), b: await window.kit.dump(b, table) };
      const pendingAfterSync = (await b.stats()).cdcOperations;
      await a.close();
      await b.close();
      return { killed: killed.message, afterReopen, integrity, final, pendingAfterSync };
    },
    { url: env.server.url, operation, point, tag },
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

describe('a worker killed during pull', () => {
  for (const point of ['pull:downloaded', 'pull:intent-saved', 'pull:applied', 'pull:replayed', 'pull:revert-cleared']) {
    test(`at ${point}: reopen finds every local change once and sync converges`, async () => {
      assertRecovered(await crashDuring('pull', point, point.replace(/\W/g, '_')), point);
    });
  }
});

describe('a worker killed during push', () => {
  for (const point of ['push:sent', 'push:before-metadata']) {
    test(`at ${point}: the retry neither loses nor duplicates a change`, async () => {
      assertRecovered(await crashDuring('push', point, point.replace(/\W/g, '_')), point);
    });
  }
});

describe('a worker killed during checkpoint', () => {
  for (const point of ['checkpoint:revert-saved', 'checkpoint:checkpointed']) {
    test(`at ${point}: the synced base is intact and a later pull applies cleanly`, async () => {
      assertRecovered(await crashDuring('checkpoint', point, point.replace(/\W/g, '_')), point, true);
    });
  }
});
