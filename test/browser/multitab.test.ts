/**
 * Several tabs of one origin on one database (issue 11): a leader tab owns it, the others use it
 * through the leader's worker. Real Chromium tabs of one persistent context, a real tursodb.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
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

describe('options of several tabs', () => {
  test("the first opener's options win: a conflicting open gets INVALID_ARGUMENT and changes nothing; :memory: stays per tab", async () => {
    const [first, second] = await openTabs(2);
    try {
      const url = env.server.url;
      await first!.evaluate(async (url) => {
        (window as any).db = await window.walsync.connect({ path: 'options.db', url, clientName: 'app' });
        (window as any).mem = await window.walsync.connect({ path: ':memory:' });
        await (window as any).mem.exec('CREATE TABLE only_here(x)');
      }, url);
      const r = await second!.evaluate(async (url) => {
        const other = await window.kit.errorOf(() => window.walsync.connect({ path: 'options.db', url, clientName: 'another-app' }));
        const durability = await window.kit.errorOf(() => window.walsync.connect({ path: 'options.db', url, clientName: 'app', durability: 'normal' }));
        const same = await window.walsync.connect({ path: 'options.db', url, clientName: 'app' });
        const leading = window.kit.channel(same).leading;
        await same.close();
        const mem = await window.walsync.connect({ path: ':memory:' });
        const memTables = await mem.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'only_here'").pluck().get();
        await mem.close();
        return { other, durability, leading, memTables };
      }, url);
      assert.equal(r.other.code, 'INVALID_ARGUMENT', JSON.stringify(r.other));
      assert.match(r.other.message, /clientName "another-app" \(it was opened with "app"\)/);
      assert.equal(r.durability.code, 'INVALID_ARGUMENT', JSON.stringify(r.durability));
      assert.equal(r.leading, false, 'the same options follow the first tab');
      assert.equal(r.memTables, 0, ':memory: databases are not shared');
    } finally {
      await first!.close();
      await second!.close();
    }
  });
});

describe('sync status in several tabs', () => {
  test("a follower shows the leader's sync status: its background loop and its pushes", async () => {
    const [leader, follower] = (await openTabs(2)) as [Page, Page];
    try {
      const path = `status-${Date.now()}.db`;
      await connectIn(leader, path, env.server.url);
      await connectIn(follower, path, env.server.url);
      assert.equal(await follower.evaluate(() => window.kit.channel((window as any).db).leading), false);
      await follower.evaluate(() => {
        const w = window as any;
        w.statuses = [];
        w.db.onSyncStatus((s: { loop: string; lastPushAt: number | null }) => w.statuses.push({ loop: s.loop, lastPushAt: s.lastPushAt }));
      });
      await leader.evaluate(async () => {
        const db = (window as any).db;
        await db.exec('CREATE TABLE s(id INTEGER PRIMARY KEY, v TEXT)');
        db.startSync({ intervalMs: 200, pushDelayMs: 0 });
        await db.prepare('INSERT INTO s(v) VALUES (?)').run('x');
      });
      const seen = await follower.evaluate(async () => {
        const w = window as any;
        for (let i = 0; i < 400 && !(w.db.syncStatus.loop === 'running' && w.db.syncStatus.lastPushAt !== null); i++) await window.kit.sleep(25);
        return { loop: w.db.syncStatus.loop, pushed: w.db.syncStatus.lastPushAt !== null, heard: w.statuses.length > 0 };
      });
      assert.deepEqual(seen, { loop: 'running', pushed: true, heard: true }, 'the follower mirrors the leader loop and its push');
      await leader.evaluate(() => (window as any).db.stopSync());
    } finally {
      await follower.close();
      await leader.close();
    }
  });
});

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

describe('a follower transaction when the leader goes away', () => {
  test('its next call rejects with LEADER_CHANGED (mayHaveBeenApplied: false), nothing of it stays, and the tab goes on as the new leader', async () => {
    const [leader, follower] = await openTabs(2);
    await connectIn(leader!, 'tx-leader-gone.db');
    await connectIn(follower!, 'tx-leader-gone.db');
    await leader!.evaluate(() => (window as any).db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)'));
    await follower!.evaluate(async () => {
      const w = window as any;
      w.inside = false;
      w.proceed = null;
      w.outcome = w.db
        .transaction(async (tx: any) => {
          await tx.prepare("INSERT INTO t VALUES (1, 'in the lost transaction')").run();
          w.inside = true;
          await new Promise((resolve) => (w.proceed = resolve));
          await tx.prepare("INSERT INTO t VALUES (2, 'after the leader went away')").run();
        })()
        .then(
          () => ({ code: 'none', may: null }),
          (e: any) => ({ code: e.code, may: e.context?.mayHaveBeenApplied }),
        );
      for (let i = 0; i < 400 && !w.inside; i++) await window.kit.sleep(25);
    });
    await leader!.close();
    const r = await follower!.evaluate(async () => {
      const w = window as any;
      for (let i = 0; i < 600 && !window.kit.channel(w.db).leading; i++) await window.kit.sleep(25);
      w.proceed();
      const outcome = await w.outcome;
      await w.db.prepare("INSERT INTO t VALUES (3, 'afterwards')").run();
      return { outcome, leading: window.kit.channel(w.db).leading, rows: await window.kit.dump(w.db, 't') };
    });
    await follower!.close();
    assert.deepEqual(r.outcome, { code: 'LEADER_CHANGED', may: false });
    assert.equal(r.leading, true, 'the follower took over');
    assert.deepEqual(r.rows, [[3, 'afterwards']]);
  });
});

// ── hand-over ────────────────────────────────────────────────────────────────────────────────────

/** Starts a write-and-sync loop in `page` (tab name `name`): records acknowledged tags, failures and hangs. */
async function startLoop(page: Page, path: string, url: string, name: string): Promise<void> {
  await page.evaluate(
    async ({ path, url, name }) => {
      const w = window as any;
      w.loop = { acked: [] as string[], failed: [] as { tag: string; code: string; may: unknown }[], syncErrors: [] as string[], hung: 0, stop: false, done: null };
      w.db = await window.walsync.connect({ path, url });
      const withHangCheck = <T,>(p: Promise<T>): Promise<T> =>
        Promise.race([
          p,
          new Promise<T>((_, reject) =>
            setTimeout(() => {
              w.loop.hung++;
              reject(new Error('hung'));
            }, 30_000),
          ),
        ]);
      w.loop.done = (async () => {
        for (let k = 0; !w.loop.stop; k++) {
          const tag = `${name}:${k}`;
          try {
            await withHangCheck(w.db.prepare('INSERT INTO h(tag) VALUES (?)').run(tag));
            w.loop.acked.push(tag);
          } catch (e: any) {
            w.loop.failed.push({ tag, code: e.code ?? String(e.message), may: e.context?.mayHaveBeenApplied });
          }
          if (k % 7 === 6) {
            try {
              await withHangCheck(w.db.sync());
            } catch (e: any) {
              w.loop.syncErrors.push(e.code ?? String(e.message));
            }
          }
          await window.kit.sleep(5);
        }
      })();
    },
    { path, url, name },
  );
}

/** Progress of the long tests, to a file named by WALSYNC_TRACE (nothing without it). */
function trace(line: string): void {
  if (process.env.WALSYNC_TRACE) appendFileSync(process.env.WALSYNC_TRACE, `${new Date().toISOString()} ${line}\n`);
}

/** A small seeded PRNG (mulberry32): the kills' moments are random but repeatable from the seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function leaderOf(pages: Page[]): Promise<Page | null> {
  for (const page of pages) {
    const leading = await page.evaluate(() => Boolean((window as any).db && window.kit.channel((window as any).db).leading)).catch(() => false);
    if (leading) return page;
  }
  return null;
}

for (const mode of ['SharedWorker', 'BroadcastChannel'] as const) {
  const query = mode === 'BroadcastChannel' ? '?relay' : '';
  const kills = Number(process.env.WALSYNC_KILLS ?? (mode === 'SharedWorker' ? 20 : 6));
  describe(`leader hand-over (${mode})`, () => {
    test(`the leader closed, crashed and reloaded ${kills} times while the others write and sync: every acknowledged write once, locally and on the server`, async () => {
      const seed = Number(process.env.WALSYNC_SEED ?? 1107);
      const random = seeded(seed + (mode === 'SharedWorker' ? 0 : 1));
      const path = `handover-${mode}.db`;
      const table = `h`;
      const url = env.server.url;
      const setup = await env.session.newPage(env.baseUrl + PAGE + query);
      await setup.evaluate(
        async ({ path, url, table }) => {
          const db = await window.walsync.connect({ path: `setup-${path}`, url });
          await db.exec(`CREATE TABLE IF NOT EXISTS ${table}(id INTEGER PRIMARY KEY AUTOINCREMENT, tag TEXT NOT NULL)`);
          await db.push();
          await db.close();
        },
        { path, url, table },
      );
      await setup.close();
      let named = 0;
      const pages: Page[] = [];
      const finished: { acked: string[]; failed: { tag: string; code: string; may: unknown }[]; syncErrors: string[]; hung: number }[] = [];
      const addTab = async (): Promise<void> => {
        const page = await env.session.newPage(env.baseUrl + PAGE + query);
        pages.push(page);
        await startLoop(page, path, url, `${mode}-tab${++named}`);
      };
      for (let i = 0; i < 3; i++) await addTab();
      const handOverMs: number[] = [];
      const actions: string[] = [];
      try {
        for (let kill = 0; kill < kills; kill++) {
          await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 500)));
          const leader = await leaderOf(pages);
          assert.ok(leader, 'some tab leads');
          const action = kill < 3 ? (['close', 'crash', 'reload'] as const)[kill]! : (['close', 'crash', 'reload'] as const)[Math.floor(random() * 3)]!;
          actions.push(action);
          trace(`kill ${kill}: ${action}`);
          const others = pages.filter((p) => p !== leader);
          let started = Date.now();
          if (action === 'close') {
            await leader.close();
            pages.splice(pages.indexOf(leader), 1);
          } else if (action === 'crash') {
            const cdp = await env.session.context.newCDPSession(leader);
            started = Date.now();
            const crashed = new Promise<void>((resolve) => leader.once('crash', () => resolve()));
            // Page.crash never answers (its renderer is gone): wait for Playwright's crash event instead.
            void cdp.send('Page.crash').catch(() => undefined);
            await Promise.race([crashed, new Promise((r) => setTimeout(r, 5000))]);
            pages.splice(pages.indexOf(leader), 1);
            await leader.close().catch(() => undefined);
          }
          const reloading = action === 'reload' ? leader.reload() : null;
          // Another tab leads within a moment: each other tab notes when it took over (the pages and
          // this process share the clock). Reported, not asserted: the machine is loaded.
          const tookOver = await Promise.any(
            others.map((p) =>
              p.evaluate(async () => {
                const w = window as any;
                w.waitStop = false;
                for (let i = 0; i < 3000 && !w.waitStop; i++) {
                  if (w.db && window.kit.channel(w.db).leading) return Date.now();
                  await window.kit.sleep(5);
                }
                throw new Error('no hand-over');
              }),
            ),
          ).catch(() => null);
          await Promise.all(others.map((p) => p.evaluate(() => ((window as any).waitStop = true)).catch(() => undefined)));
          assert.ok(tookOver !== null, 'another tab became the leader');
          handOverMs.push(tookOver - started);
          if (reloading) {
            await reloading;
            await leader.waitForFunction(() => window.walsyncReady === true);
          }
          trace(`new leader after ${Date.now() - started} ms`);
          if (action === 'reload') await startLoop(leader, path, url, `${mode}-tab${++named}`);
          else await addTab();
        }
        await new Promise((r) => setTimeout(r, 500));
        trace('stopping loops');
        for (const page of pages) {
          finished.push(
            await page.evaluate(async () => {
              const w = window as any;
              w.loop.stop = true;
              await w.loop.done;
              const { acked, failed, syncErrors, hung } = w.loop;
              return { acked, failed, syncErrors, hung };
            }),
          );
        }
        const acked = finished.flatMap((f) => f.acked);
        const local = await pages[0]!.evaluate(async (table) => {
          const db = (window as any).db;
          await db.sync();
          return {
            counts: await db.prepare(`SELECT tag, count(*) AS n FROM ${table} GROUP BY tag`).raw().all(),
            check: await db.pragma('integrity_check', { simple: true }),
          };
        }, table);
        const remote = await pages[0]!.evaluate(
          async ({ path, url, table }) => {
            const db = await window.walsync.connect({ path: `verify-${path}`, url });
            await db.pull();
            const counts = await db.prepare(`SELECT tag, count(*) AS n FROM ${table} GROUP BY tag`).raw().all();
            await db.close();
            return counts;
          },
          { path, url, table },
        );
        console.log(`[${mode}] seed ${seed}; actions ${actions.join(',')}; hand-over ms ${handOverMs.join(',')}; acked ${acked.length}; failures ${JSON.stringify(finished.flatMap((f) => f.failed).map((f) => `${f.code}/${f.may}`))}; sync errors ${JSON.stringify(finished.flatMap((f) => f.syncErrors))}`);
        assert.equal(finished.reduce((n, f) => n + f.hung, 0), 0, 'no call hung');
        assert.equal(local.check, 'ok');
        const localCount = new Map<string, number>(local.counts as unknown as [string, number][]);
        const remoteCount = new Map<string, number>(remote as unknown as [string, number][]);
        for (const [tag, n] of localCount) assert.equal(n, 1, `${tag} is there once locally`);
        for (const [tag, n] of remoteCount) assert.equal(n, 1, `${tag} is there once on the server`);
        for (const tag of acked) {
          assert.equal(localCount.get(tag), 1, `acknowledged ${tag} is there locally`);
          assert.equal(remoteCount.get(tag), 1, `acknowledged ${tag} is on the server`);
        }
        for (const f of finished.flatMap((x) => x.failed)) {
          assert.equal(f.code, 'LEADER_CHANGED', `a surviving tab's write failed only because its leader went away (${f.code})`);
          if (f.may === false) assert.equal(localCount.get(f.tag) ?? 0, 0, `${f.tag} said "not applied" and is not there`);
        }
        assert.ok(finished.every((f) => f.acked.length > 0), 'every surviving tab kept writing');
      } finally {
        for (const page of pages) await page.close().catch(() => undefined);
      }
    });
  });
}

// ── connect races ────────────────────────────────────────────────────────────────────────────────

for (const mode of ['SharedWorker', 'BroadcastChannel'] as const) {
  const query = mode === 'BroadcastChannel' ? '?relay' : '';
  const races = Number(process.env.WALSYNC_RACES ?? (mode === 'SharedWorker' ? 100 : 30));
  describe(`connect races (${mode})`, () => {
    test(`${races} races of two tabs connecting to a new database 0–30 ms apart: one owner each time, both work, nothing left locked`, async () => {
      const random = seeded(Number(process.env.WALSYNC_SEED ?? 1107) + 7);
      const [a, b] = await openTabs(2, query);
      const connect = (page: Page, path: string) =>
        page.evaluate(async (path) => {
          const w = window as any;
          w.race ??= {};
          try {
            const db = await window.walsync.connect({ path });
            w.race[path] = db;
            return { ok: true, leading: window.kit.channel(db).leading, code: '' };
          } catch (e: any) {
            return { ok: false, leading: false, code: `${e.code}: ${e.message}` };
          }
        }, path);
      const use = (page: Page, path: string, who: string) =>
        page.evaluate(
          async ({ path, who }) => {
            const db = (window as any).race[path];
            await db.exec('CREATE TABLE IF NOT EXISTS t(who TEXT)');
            await db.prepare('INSERT INTO t VALUES (?)').run(who);
          },
          { path, who },
        );
      const count = (page: Page, path: string) => page.evaluate((path) => (window as any).race[path].prepare('SELECT count(*) FROM t').pluck().get(), path);
      const close = (page: Page, path: string) => page.evaluate((path) => (window as any).race[path].close(), path);
      const heldLocks = (page: Page, path: string) =>
        page.evaluate(async (path) => {
          const state = await navigator.locks.query();
          return [...(state.held ?? []), ...(state.pending ?? [])].map((l) => l.name ?? '').filter((n) => n.includes(`opfs:${path}`));
        }, path);
      try {
        const batch = 10;
        for (let start = 0; start < races; start += batch) {
          await Promise.all(
            Array.from({ length: Math.min(batch, races - start) }, async (_, j) => {
              const i = start + j;
              const path = `race-${mode}-${i}.db`;
              const delay = Math.floor(random() * 31);
              const [first, second] = random() < 0.5 ? [a!, b!] : [b!, a!];
              const one = connect(first, path);
              await new Promise((r) => setTimeout(r, delay));
              const two = connect(second, path);
              const results = await Promise.all([one, two]);
              assert.ok(results.every((r) => r.ok), `race ${i}: both connected (${JSON.stringify(results)})`);
              assert.equal(results.filter((r) => r.leading).length, 1, `race ${i}: one owner`);
              await use(first, path, 'first');
              await use(second, path, 'second');
              assert.equal(await count(first, path), 2, `race ${i}: the first tab sees both writes`);
              assert.equal(await count(second, path), 2, `race ${i}: the second tab sees both writes`);
              await close(second, path);
              await close(first, path);
              for (let k = 0; k < 100 && (await heldLocks(a!, path)).length > 0; k++) await new Promise((r) => setTimeout(r, 20));
              assert.deepEqual(await heldLocks(a!, path), [], `race ${i}: nothing left locked`);
            }),
          );
        }
        // Reopened afterwards, a raced database is whole and free.
        const reopened = await a!.evaluate(async (path) => {
          const db = await window.walsync.connect({ path });
          const n = await db.prepare('SELECT count(*) FROM t').pluck().get();
          await db.close();
          return n;
        }, `race-${mode}-0.db`);
        assert.equal(reopened, 2);
      } finally {
        await a!.close();
        await b!.close();
      }
    });
  });
}
