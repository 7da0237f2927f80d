/**
 * Running out of storage quota during a pull, against a real `tursodb --sync-server`: the pull
 * fails with QUOTA_EXCEEDED whether the download or the apply hits the limit, is undone, loses no
 * local change, and the same pull succeeds once there is room.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CDPSession } from 'playwright-core';
import { startFaultProxy } from '../support/fault-proxy.js';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

async function setQuota(cdp: CDPSession, quotaSize?: number): Promise<void> {
  const origin = new URL(env.baseUrl).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', quotaSize === undefined ? { origin } : { origin, quotaSize });
}

describe('a pull out of storage quota', () => {
  test('fails with QUOTA_EXCEEDED in the download and in the apply, is undone, and succeeds once there is room', async () => {
    const cdp = await env.session.context.newCDPSession(env.page);
    try {
      // Client b puts ~3 MB on the server; client a, synced before that, has a change of its own.
      await env.page.evaluate(async (url) => {
        const a = await window.walsync.connect({ path: 'pq-a.db', url, clientName: 'pq-a' });
        await a.exec('CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB)');
        await a.push();
        const b = await window.walsync.connect({ path: 'pq-b.db', url, clientName: 'pq-b' });
        await b.exec('INSERT INTO big(id, b) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT i, randomblob(10000) FROM n');
        await b.push();
        await b.close();
        await a.prepare('INSERT INTO big VALUES (?, ?)').run(1001, new Uint8Array([1]));
        await a.close();
      }, env.server.url);
      // What a pulls: about 3 MB of pages, written to the changes file, then appended to the log.
      const pulledBytes = 3_000_000;

      // A pull under a quota, then (with room again) a write on the same connection: it must still
      // be captured, to be pushed later.
      const attempt = async (quotaSize: number) => {
        await setQuota(cdp, quotaSize);
        const error = await env.page.evaluate(async (url) => {
          const a = await window.walsync.connect({ path: 'pq-a.db', url, clientName: 'pq-a' });
          (window as unknown as { pqA: typeof a }).pqA = a;
          return window.kit.errorOf(() => a.pull());
        }, env.server.url);
        await setQuota(cdp);
        const after = await env.page.evaluate(async () => {
          const a = (window as unknown as { pqA: Awaited<ReturnType<typeof window.walsync.connect>> }).pqA;
          await a.prepare('INSERT INTO big VALUES (?, ?)').run(1002 + Math.floor(Math.random() * 1e6), new Uint8Array([2]));
          const rows = await a.prepare('SELECT count(*) AS n FROM big').get();
          const check = await a.prepare('PRAGMA integrity_check').get();
          await a.close();
          return { rows, check };
        });
        return { error, ...after };
      };

      const usage = async () => env.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      // Room for less than the download.
      const download = await attempt((await usage()) + 512 * 1024);
      // Room for the download, not for the pages it then appends to the log.
      const apply = await attempt((await usage()) + Math.floor(pulledBytes * 1.5));

      for (const [phase, r] of [['download', download], ['apply', apply]] as const) {
        assert.equal(r.error.code, 'QUOTA_EXCEEDED', `${phase}: ${r.error.code} ${r.error.message}`);
        assert.match(r.error.message, /quota.*undone|quota.*not applied/, phase);
        assert.deepEqual(r.check, { integrity_check: 'ok' }, phase);
      }
      assert.equal(download.error.context.sql, 'pull download');
      assert.equal(apply.error.context.sql, 'pull apply');
      // The local rows only: the one from before, then one more after each failed pull.
      assert.deepEqual(download.rows, { n: 2 });
      assert.deepEqual(apply.rows, { n: 3 });

      const r = await env.page.evaluate(async (url) => {
        const a = await window.walsync.connect({ path: 'pq-a.db', url, clientName: 'pq-a' });
        const brought = await a.pull();
        await a.push();
        const rows = await a.prepare('SELECT count(*) AS n FROM big').get();
        const check = await a.prepare('PRAGMA integrity_check').get();
        const pending = (await a.stats()).cdcOperations;
        await a.close();
        const c = await window.walsync.connect({ path: 'pq-c.db', url, clientName: 'pq-c' });
        const onServer = await c.prepare('SELECT count(*) AS n FROM big WHERE id > 1000').get();
        await c.close();
        return { brought, rows, check, pending, onServer };
      }, env.server.url);
      assert.equal(r.brought, true);
      assert.deepEqual(r.rows, { n: 303 });
      assert.deepEqual(r.check, { integrity_check: 'ok' });
      assert.equal(r.pending, 0);
      assert.deepEqual(r.onServer, { n: 3 });
    } finally {
      await setQuota(cdp);
    }
  });

  test('a checkpoint out of space fails with QUOTA_EXCEEDED and loses nothing; an automatic one does not fail the committed write', async () => {
    const cdp = await env.session.context.newCDPSession(env.page);
    try {
      await env.page.evaluate(async (url) => {
        const s = await window.walsync.connect({ path: 'cq.db', url, clientName: 'cq', autoCheckpointBytes: 0 });
        await s.exec('CREATE TABLE cq(id INTEGER PRIMARY KEY, b BLOB)');
        await s.push();
        // ~2 MB in the log: a checkpoint must grow the database file by about that much.
        await s.exec('INSERT INTO cq(id, b) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i, randomblob(10000) FROM n');
        await s.close();
      }, env.server.url);
      const usage = await env.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      await setQuota(cdp, usage + 1024 * 1024);
      const r = await env.page.evaluate(async (url) => {
        const s = await window.walsync.connect({ path: 'cq.db', url, clientName: 'cq', autoCheckpointBytes: 64 * 1024 });
        (window as unknown as { cq: typeof s }).cq = s;
        // The log is past 64 KiB: the automatic checkpoint after this write runs out of space.
        const write = await window.kit.errorOf(() => s.prepare('INSERT INTO cq VALUES (?, ?)').run(1000, new Uint8Array([1])));
        const checkpoint = await window.kit.errorOf(() => s.checkpoint());
        const count = await s.prepare('SELECT count(*) AS n FROM cq').get();
        const check = await s.prepare('PRAGMA integrity_check').get();
        return { write, checkpoint, count, check };
      }, env.server.url);
      await setQuota(cdp);
      const after = await env.page.evaluate(async (url) => {
        const s = (window as unknown as { cq: Awaited<ReturnType<typeof window.walsync.connect>> }).cq;
        await s.checkpoint();
        const wal = (await s.stats()).mainWalSize;
        await s.sync();
        const check = await s.prepare('PRAGMA integrity_check').get();
        await s.close();
        const fresh = await window.walsync.connect({ path: 'cq-fresh.db', url, clientName: 'cq-fresh' });
        const onServer = await fresh.prepare('SELECT count(*) AS n FROM cq').get();
        await fresh.close();
        return { wal, check, onServer };
      }, env.server.url);
      assert.equal(r.write.code, 'none', `the write committed: ${r.write.message}`);
      assert.equal(r.checkpoint.code, 'QUOTA_EXCEEDED', r.checkpoint.message);
      assert.match(r.checkpoint.message, /nothing was lost/);
      assert.deepEqual(r.count, { n: 201 });
      assert.deepEqual(r.check, { integrity_check: 'ok' });
      assert.equal(after.wal, 0);
      assert.deepEqual(after.check, { integrity_check: 'ok' });
      assert.deepEqual(after.onServer, { n: 201 });
    } finally {
      await setQuota(cdp);
    }
  });

  test('a server streaming pages without end stops at the quota with QUOTA_EXCEEDED, and nothing changes', async () => {
    const cdp = await env.session.context.newCDPSession(env.page);
    const proxy = await startFaultProxy(env.server.url);
    try {
      await env.page.evaluate(
        async ({ url, proxied }) => {
          const a = await window.walsync.connect({ path: 'endless-a.db', url: proxied, clientName: 'endless-a' });
          await a.exec('CREATE TABLE endless(id INTEGER PRIMARY KEY, v TEXT)');
          await a.push();
          await a.prepare('INSERT INTO endless VALUES (?, ?)').run(1, 'local');
          await a.close();
          const b = await window.walsync.connect({ path: 'endless-b.db', url, clientName: 'endless-b' });
          await b.prepare('INSERT INTO endless VALUES (?, ?)').run(2, 'remote');
          await b.push();
          await b.close();
        },
        { url: env.server.url, proxied: proxy.url },
      );
      const usage = await env.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      proxy.inject({ path: '/pull-updates', fault: { kind: 'endless' } });
      await setQuota(cdp, usage + 2 * 1024 * 1024);
      const failed = await env.page.evaluate(async (proxied) => {
        const a = await window.walsync.connect({ path: 'endless-a.db', url: proxied, clientName: 'endless-a' });
        const error = await window.kit.errorOf(() => a.pull());
        const rows = await window.kit.dump(a, 'endless');
        await a.close();
        return { error, rows };
      }, proxy.url);
      await setQuota(cdp);
      const after = await env.page.evaluate(async (proxied) => {
        const a = await window.walsync.connect({ path: 'endless-a.db', url: proxied, clientName: 'endless-a' });
        await a.sync();
        const rows = await window.kit.dump(a, 'endless');
        const check = await a.prepare('PRAGMA integrity_check').get();
        await a.close();
        return { rows, check };
      }, proxy.url);
      assert.equal(failed.error.code, 'QUOTA_EXCEEDED', failed.error.message);
      assert.equal(failed.error.context.sql, 'pull download');
      assert.deepEqual(failed.rows, [[1, 'local']]);
      assert.deepEqual(after.rows, [
        [1, 'local'],
        [2, 'remote'],
      ]);
      assert.deepEqual(after.check, { integrity_check: 'ok' });
    } finally {
      await setQuota(cdp);
      await proxy.stop();
    }
  });
});
