/**
 * Several tabs of one origin on one database (issue 11): a leader tab owns it, the others use it
 * through the leader's worker. Real Chromium tabs of one persistent context, a real tursodb.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();
const PAGE = '/test/browser/pages/index.html';

async function openTabs(n: number, query = ''): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) pages.push(await env.session.newPage(env.baseUrl + PAGE + query));
  return pages;
}

async function connectIn(page: Page, path: string, url?: string): Promise<void> {
  await page.evaluate(
    async ({ path, url }) => {
      const w = window as unknown as { db: import('../../src/index.js').Database };
      w.db = await window.walsync.connect(url ? { path, url } : { path });
    },
    { path, url },
  );
}

for (const mode of ['SharedWorker', 'BroadcastChannel'] as const) {
  const query = mode === 'BroadcastChannel' ? '?relay' : '';
  describe(`several tabs (${mode})`, () => {
    test('three tabs write; each sees every write; one leader; watch fires for another tab\'s write', async () => {
      const path = `tabs-${mode}.db`;
      const tabs = await openTabs(3, query);
      try {
        for (const tab of tabs) await connectIn(tab, path);
        const leaders = await Promise.all(tabs.map((t) => t.evaluate(() => window.kit.channel((window as any).db).leading)));
        assert.deepEqual(leaders, [true, false, false]);
        assert.equal(await tabs[1]!.evaluate(() => window.kit.tabPath()), mode);
        await tabs[1]!.evaluate(() => (window as any).db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, tab INTEGER)'));
        // A watch in tab 2 follows writes of tab 0 and 1.
        await tabs[2]!.evaluate(() => {
          const w = window as any;
          w.seen = [];
          w.stop = w.db.watch('SELECT count(*) AS n FROM t', [], (rows: { n: number }[]) => w.seen.push(rows[0]!.n));
        });
        await Promise.all(
          tabs.map((tab, i) =>
            tab.evaluate(async (i) => {
              const db = (window as any).db;
              for (let k = 0; k < 20; k++) await db.prepare('INSERT INTO t(tab) VALUES (?)').run(i);
            }, i),
          ),
        );
        const counts = await Promise.all(tabs.map((t) => t.evaluate(() => (window as any).db.prepare('SELECT tab, count(*) AS n FROM t GROUP BY tab ORDER BY tab').raw().all())));
        for (const c of counts) assert.deepEqual(c, [[0, 20], [1, 20], [2, 20]]);
        const seen = await tabs[2]!.evaluate(async () => {
          const w = window as any;
          for (let i = 0; i < 200 && w.seen.at(-1) !== 60; i++) await window.kit.sleep(25);
          return w.seen.at(-1);
        });
        assert.equal(seen, 60, 'the watch saw the last write');
        // Errors keep their code and context across tabs.
        const error = await tabs[1]!.evaluate(() => window.kit.errorOf(() => (window as any).db.exec('INSERT INTO nope VALUES (1)')));
        assert.equal(error.code, 'SQLITE_ERROR');
        assert.match(error.message, /no such table: nope/);
      } finally {
        for (const tab of tabs) await tab.close();
      }
    });
  });
}

describe('a follower tab that goes away', () => {
  test('its open transaction is rolled back, other tabs wait for it meanwhile and go on after', async () => {
    const [leader, follower] = await openTabs(2);
    try {
      await connectIn(leader!, 'tx-close.db');
      await connectIn(follower!, 'tx-close.db');
      await leader!.evaluate(() => (window as any).db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, \'before\')'));
      await follower!.evaluate(async () => {
        const w = window as any;
        w.inside = false;
        void w.db.transaction(async (tx: any) => {
          await tx.prepare("INSERT INTO t VALUES (2, 'follower, never committed')").run();
          await tx.prepare("UPDATE t SET v = 'changed by the follower' WHERE id = 1").run();
          w.inside = true;
          await new Promise(() => undefined); // the tab closes before this ends
        })();
        for (let i = 0; i < 400 && !w.inside; i++) await window.kit.sleep(25);
      });
      const waited = await leader!.evaluate(async () => {
        const w = window as any;
        w.write = w.db.prepare("INSERT INTO t VALUES (3, 'leader')").run().then(() => 'done', (e: any) => `failed ${e.code}`);
        w.read = w.db.prepare('SELECT v FROM t WHERE id = 1').pluck().get();
        return Promise.race([w.write, window.kit.sleep(500).then(() => 'waiting')]);
      });
      assert.equal(waited, 'waiting', "the leader's write waits for the follower's transaction");
      await follower!.close();
      const r = await leader!.evaluate(async () => {
        const w = window as any;
        return { write: await w.write, read: await w.read, rows: await window.kit.dump(w.db, 't'), check: await w.db.pragma('integrity_check', { simple: true }) };
      });
      assert.equal(r.write, 'done');
      assert.equal(r.read, 'before', 'the read did not see the uncommitted update');
      assert.deepEqual(r.rows, [[1, 'before'], [3, 'leader']]);
      assert.equal(r.check, 'ok');
    } finally {
      await leader!.close();
    }
  });
});
