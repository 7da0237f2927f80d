/**
 * Nothing may hang: transactions whose function calls the database directly, servers that never
 * answer or trickle bytes (through the fault proxy in front of a real tursodb), a worker killed
 * behind the library's back, a database another tab holds, and url/authToken functions that throw.
 * Every call either settles or fails with a typed error, and a page helper turns a call that does
 * not settle within a generous bound into the result 'hung' (so the old code fails instead of
 * blocking the test run).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser, startDevServer, type BrowserSession } from '../../scripts/browser.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { openWorkerKeepingPage } from '../support/worker-keeping-page.js';
import { startSyncServer, type SyncServer } from '../../scripts/sync-server.js';

const PAGE = '/test/browser/pages/index.html';
let session: BrowserSession;
let baseUrl: string;
let stopDev: () => Promise<void>;
let server: SyncServer;
let proxy: FaultProxy;
let page: Page;

type Settled = { ok: true; value: unknown } | { ok: false; code: string; message: string; context: Record<string, unknown>; cause: string | null } | 'hung';

declare global {
  interface Window {
    /** Awaits `p` for at most `ms` (default 20 s): its value, its error, or 'hung'. */
    settle: (p: Promise<unknown>, ms?: number) => Promise<Settled>;
    hx: Record<string, unknown>;
  }
}

/** Installs window.settle in a page. */
async function installSettle(p: Page): Promise<void> {
  await p.evaluate(() => {
    window.hx = {};
    window.settle = (promise, ms = 20_000) =>
      new Promise<Settled>((resolve) => {
        const timer = setTimeout(() => resolve('hung'), ms);
        promise.then(
          (value) => {
            clearTimeout(timer);
            resolve({ ok: true, value });
          },
          (e: { code?: string; message?: string; context?: Record<string, unknown>; cause?: { message?: string } }) => {
            clearTimeout(timer);
            resolve({ ok: false, code: e?.code ?? 'none', message: e?.message ?? String(e), context: e?.context ?? {}, cause: e?.cause?.message ?? null });
          },
        );
      });
  });
}

before(async () => {
  server = await startSyncServer();
  proxy = await startFaultProxy(server.url);
  const dev = await startDevServer();
  baseUrl = dev.url;
  stopDev = () => dev.server.close();
  session = await launchBrowser();
  page = await session.newPage(baseUrl + PAGE);
  await installSettle(page);
});

after(async () => {
  await session?.close();
  await stopDev?.();
  await proxy?.stop();
  await server?.stop();
});

function failed(s: Settled): { code: string; message: string; context: Record<string, unknown>; cause: string | null } {
  assert.notEqual(s, 'hung', 'the call settled');
  assert.equal((s as { ok: boolean }).ok, false, `the call failed: ${JSON.stringify(s)}`);
  return s as { ok: false; code: string; message: string; context: Record<string, unknown>; cause: string | null };
}

function succeeded(s: Settled): unknown {
  assert.notEqual(s, 'hung', 'the call settled');
  assert.ok(s !== 'hung' && s.ok, `the call succeeded: ${JSON.stringify(s)}`);
  return s.value;
}

// ── transactions ─────────────────────────────────────────────────────────────────────────────────

describe('transaction(fn) whose function calls the database itself', () => {
  test("sync-wasm's README example (statements prepared on db, run inside fn) commits, and the database works after", async () => {
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'tx-join.db' });
      await db.exec('CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)');
      const insert = db.prepare('INSERT INTO users(id, name) VALUES (?, ?)');
      const insertMany = db.transaction(async (users: { id: number; name: string }[]) => {
        for (const u of users) await insert.run(u.id, u.name);
      });
      const many = await window.settle(insertMany([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]));
      // db.exec inside fn, and a read through db sees the transaction's own write.
      const direct = await window.settle(
        db.transaction(async () => {
          await db.exec("INSERT INTO users VALUES (3, 'c')");
          return (await db.prepare('SELECT count(*) AS c FROM users').get())!.c;
        })(),
      );
      // A function that throws: everything it ran through db is rolled back.
      const thrown = await window.settle(
        db.transaction(async () => {
          await db.exec("INSERT INTO users VALUES (4, 'd')");
          throw new Error('boom');
        })(),
      );
      // The tx handle still works, beside db.
      const mixed = await window.settle(
        db.transaction(async (tx) => {
          await tx.prepare('INSERT INTO users VALUES (?, ?)').run(5, 'e');
          await db.prepare('INSERT INTO users VALUES (?, ?)').run(6, 'f');
        })(),
      );
      const rows = await window.settle(db.prepare('SELECT id FROM users ORDER BY id').all());
      const autocommit = await window.settle(window.kit.channel(db).call((api) => api.isAutocommit()));
      await window.settle(db.close());
      return { many, direct, thrown, mixed, rows, autocommit };
    });
    succeeded(r.many);
    assert.equal(succeeded(r.direct), 3);
    assert.equal(failed(r.thrown).message, 'boom');
    succeeded(r.mixed);
    assert.deepEqual(succeeded(r.rows), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 5 }, { id: 6 }]);
    assert.equal(succeeded(r.autocommit), true);
  });

  test('another handle of the same path waits for the transaction; calls that cannot run inside one fail at once', async () => {
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'tx-other.db' });
      const other = await window.walsync.connect({ path: 'tx-other.db' });
      await db.exec('CREATE TABLE t(x)');
      const order: string[] = [];
      let inside: Record<string, Settled> = {};
      const done = db.transaction(async () => {
        await db.exec('INSERT INTO t VALUES (1)');
        order.push('tx-insert-1');
        // Issued by other code while the transaction is open: waits until it ends.
        void other.prepare('SELECT count(*) AS c FROM t').get().then((row) => order.push(`other-read:${row!.c}`));
        await new Promise((resolve) => setTimeout(resolve, 50));
        await db.exec('INSERT INTO t VALUES (2)');
        order.push('tx-insert-2');
        inside = {
          checkpoint: await window.settle(db.checkpoint(), 5000),
          push: await window.settle(db.push(), 5000),
          pull: await window.settle(db.pull(), 5000),
          sync: await window.settle(db.sync(), 5000),
          nested: await window.settle(db.transaction(async () => 1)(), 5000),
          close: await window.settle(db.close(), 5000),
        };
      })();
      const outcome = await window.settle(done);
      await window.settle(other.prepare('SELECT 1').get());
      const rows = await window.settle(db.prepare('SELECT x FROM t ORDER BY x').all());
      await window.settle(db.close());
      await window.settle(other.close());
      return { outcome, order, inside, rows };
    });
    succeeded(r.outcome);
    assert.deepEqual(r.order, ['tx-insert-1', 'tx-insert-2', 'other-read:2']);
    for (const [name, s] of Object.entries(r.inside)) {
      const e = failed(s);
      assert.equal(e.code, 'INVALID_ARGUMENT', `${name}: ${e.message}`);
      assert.match(e.message, /inside a transaction/, name);
    }
    assert.deepEqual(succeeded(r.rows), [{ x: 1 }, { x: 2 }]);
  });

  test('a function that runs COMMIT itself: transaction() says the transaction was already ended by the function', async () => {
    const r = await page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'tx-commit.db' });
      await db.exec('CREATE TABLE t(x)');
      const outcome = await window.settle(
        db.transaction(async (tx) => {
          await tx.exec('INSERT INTO t VALUES (1)');
          await tx.exec('COMMIT');
          await tx.exec('INSERT INTO t VALUES (2)');
        })(),
      );
      const rows = await db.prepare('SELECT x FROM t ORDER BY x').all();
      await db.close();
      return { outcome, rows };
    });
    const e = failed(r.outcome);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, /already ended by the function \(it ran COMMIT/);
    assert.deepEqual(r.rows, [{ x: 1 }, { x: 2 }], 'both rows were committed (the message says so)');
  });
});

// ── network limits ───────────────────────────────────────────────────────────────────────────────

describe('a server that never answers or trickles', () => {
  const PULL = '/pull-updates';

  before(async () => {
    await page.evaluate(async (direct) => {
      const s = await window.walsync.connect({ path: 'net-seed.db', url: direct, clientName: 'seed' });
      await s.exec("CREATE TABLE IF NOT EXISTS net(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO net VALUES (1, 'one')");
      await s.push();
      await s.close();
    }, server.url);
  });

  test('first connect against a silent server opens the empty local database after timeouts.bootstrapWaitMs; the first sync bootstraps', async () => {
    proxy.inject({ path: PULL, fault: { kind: 'stall', ms: 120_000 } });
    const r = await page.evaluate(async (url) => {
      const opened = await window.settle(window.walsync.connect({ path: 'net-silent-boot.db', url, clientName: 'b', timeouts: { bootstrapWaitMs: 500 } }));
      if (opened === 'hung' || !opened.ok) return { opened, tables: null, sync: null, rows: null };
      const db = opened.value as Awaited<ReturnType<typeof window.walsync.connect>>;
      const tables = await db.prepare("SELECT count(*) AS c FROM sqlite_schema WHERE name = 'net'").get();
      const sync = await window.settle(db.sync());
      const rows = await window.kit.dump(db, 'net');
      await db.close();
      return { opened: { ok: true } as Settled, tables, sync, rows };
    }, proxy.url);
    assert.equal(proxy.pendingFaults(), 0);
    await proxy.clear();
    succeeded(r.opened);
    assert.deepEqual(r.tables, { c: 0 }, 'opened empty');
    succeeded(r.sync!);
    assert.deepEqual(r.rows, [[1, 'one']]);
  });

  test('a pull against a silent server fails with NETWORK_ERROR naming timeouts.silenceMs, and changes nothing', async () => {
    const r = await page.evaluate(async (url) => {
      const db = await window.walsync.connect({ path: 'net-silent.db', url, clientName: 's', timeouts: { silenceMs: 800 } });
      await db.prepare('INSERT INTO net VALUES (?, ?)').run(10, 'local');
      window.hx.silent = db;
      return (await db.stats()).cdcOperations;
    }, proxy.url);
    proxy.inject({ path: PULL, fault: { kind: 'stall', ms: 120_000 } });
    const pull = await page.evaluate(async () => {
      const db = window.hx.silent as Awaited<ReturnType<typeof window.walsync.connect>>;
      const pull = await window.settle(db.pull());
      return { pull, rows: await window.kit.dump(db, 'net'), pending: (await db.stats()).cdcOperations };
    });
    assert.equal(proxy.pendingFaults(), 0);
    await proxy.clear();
    const e = failed(pull.pull);
    assert.equal(e.code, 'NETWORK_ERROR');
    assert.match(e.message, /no answer within 0\.8 s \(timeouts\.silenceMs\)/);
    assert.equal(e.context.limit, 'silenceMs');
    assert.deepEqual(pull.rows, [[1, 'one'], [10, 'local']]);
    assert.equal(pull.pending, r);
    const synced = await page.evaluate(async () => {
      const db = window.hx.silent as Awaited<ReturnType<typeof window.walsync.connect>>;
      const s = await window.settle(db.sync());
      await db.close();
      return s;
    });
    succeeded(synced);
  });

  test('a trickling pull fails at timeouts.requestMs (NETWORK_ERROR), a push queued behind it then runs, nothing changed by the pull', async () => {
    await page.evaluate(async (url) => {
      const db = await window.walsync.connect({ path: 'net-trickle.db', url, clientName: 't', timeouts: { silenceMs: 1500, requestMs: 3000 } });
      await db.prepare('INSERT INTO net VALUES (?, ?)').run(20, 'to push');
      window.hx.trickle = db;
    }, proxy.url);
    // A remote change, so the pull has pages to trickle.
    await page.evaluate(async (direct) => {
      const w = await window.walsync.connect({ path: 'net-w.db', url: direct, clientName: 'w' });
      await w.exec("INSERT INTO net VALUES (2, 'remote')");
      await w.push();
      await w.close();
    }, server.url);
    proxy.inject({ path: PULL, fault: { kind: 'trickle', intervalMs: 200 } });
    const r = await page.evaluate(async () => {
      const db = window.hx.trickle as Awaited<ReturnType<typeof window.walsync.connect>>;
      const before = await db.stats();
      const rowsBefore = await window.kit.dump(db, 'net');
      const pull = window.settle(db.pull(), 30_000);
      await window.kit.sleep(100);
      const push = window.settle(db.push(), 30_000);
      return { pull: await pull, push: await push, before: before.revision, after: (await db.stats()).revision, rowsBefore, rows: await window.kit.dump(db, 'net') };
    });
    assert.equal(proxy.pendingFaults(), 0);
    await proxy.clear();
    const e = failed(r.pull);
    assert.equal(e.code, 'NETWORK_ERROR');
    assert.equal(e.context.limit, 'requestMs');
    assert.match(e.message, /took longer than 3 s \(timeouts\.requestMs\)/);
    succeeded(r.push);
    assert.equal(r.after, r.before, 'the failed pull changed nothing');
    assert.deepEqual(r.rows, r.rowsBefore);
    assert.deepEqual(r.rows.filter((row) => row[0] === 2 || row[0] === 20), [[20, 'to push']]);
    const synced = await page.evaluate(async () => {
      const db = window.hx.trickle as Awaited<ReturnType<typeof window.walsync.connect>>;
      const s = await window.settle(db.sync());
      const rows = await window.kit.dump(db, 'net');
      await db.close();
      return { s, rows };
    });
    succeeded(synced.s);
    assert.deepEqual(synced.rows.filter((row) => row[0] === 2 || row[0] === 20), [[2, 'remote'], [20, 'to push']]);
  });

  test('a first connect against a trickling server opens the empty local database once timeouts.requestMs passes', async () => {
    proxy.inject({ path: PULL, fault: { kind: 'trickle', intervalMs: 200 } });
    const r = await page.evaluate(async (url) => {
      const opened = await window.settle(
        window.walsync.connect({ path: 'net-trickle-boot.db', url, clientName: 'tb', timeouts: { silenceMs: 1500, requestMs: 2500 } }),
        30_000,
      );
      if (opened === 'hung' || !opened.ok) return { opened, revision: 'n/a' };
      const db = opened.value as Awaited<ReturnType<typeof window.walsync.connect>>;
      const revision = (await db.stats()).revision;
      await db.close();
      return { opened: { ok: true } as Settled, revision };
    }, proxy.url);
    assert.equal(proxy.pendingFaults(), 0);
    await proxy.clear();
    succeeded(r.opened);
    assert.equal(r.revision, null, 'started empty; the first pull will bootstrap');
  });

  test('timeouts are validated', async () => {
    const r = await page.evaluate(async () => {
      const bad = [{ silenceMs: 0 }, { requestMs: -1 }, { bootstrapWaitMs: 1.5 }, { silenceMs: '1000' }, { other: 1 }, 5];
      const out: string[] = [];
      for (const timeouts of bad) {
        const e = await window.kit.errorOf(() => window.walsync.connect({ path: 'never.db', url: 'http://127.0.0.1:9', timeouts } as never));
        out.push(`${e.code}: ${e.message}`);
      }
      return out;
    });
    for (const line of r) assert.match(line, /^INVALID_ARGUMENT: connect\(\): "timeouts/);
  });
});

// ── a worker that dies behind the library's back ────────────────────────────────────────────────

describe('a worker killed outside the library', () => {
  test('in-flight and later calls reject with DATABASE_CLOSED, and the next connect() starts a fresh worker', async () => {
    const p = await openWorkerKeepingPage(session, baseUrl + PAGE);
    await installSettle(p);
    const r = await p.evaluate(async () => {
      const workers = window.startedWorkers!;
      const db = await window.walsync.connect({ path: 'killed.db' });
      await db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
      // A slow query in flight, and another call queued behind it.
      const slow = window.settle(db.prepare('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000000) SELECT count(*) AS c FROM n').get());
      const queued = window.settle(db.prepare('SELECT count(*) AS c FROM t').get());
      await window.kit.sleep(300);
      workers[0]!.terminate();
      const inFlight = await slow;
      const behind = await queued;
      const later = await window.settle(db.exec('INSERT INTO t VALUES (2)'));
      const closed = db.closed;
      const again = await window.settle(window.walsync.connect({ path: 'killed.db' }));
      let rows: Settled = 'hung';
      if (again !== 'hung' && again.ok) {
        const fresh = again.value as typeof db;
        rows = await window.settle(fresh.prepare('SELECT x FROM t').all());
        await window.settle(fresh.close());
      }
      return { inFlight, behind, later, closed, again: again === 'hung' ? 'hung' : again.ok, rows, workers: workers.length };
    });
    assert.equal(failed(r.inFlight).code, 'DATABASE_CLOSED');
    assert.equal(failed(r.behind).code, 'DATABASE_CLOSED');
    assert.equal(failed(r.later).code, 'DATABASE_CLOSED');
    assert.equal(r.closed, true);
    assert.equal(r.again, true, 'a new connect() works');
    assert.deepEqual(succeeded(r.rows), [{ x: 1 }]);
    assert.equal(r.workers, 2, 'on a fresh worker');
    await p.close();
  });
});

// ── another tab ──────────────────────────────────────────────────────────────────────────────────

describe('a database another tab has open', () => {
  test('a second tab opens it too (as a follower of the first), about as fast as a free database', async () => {
    await page.evaluate(async () => {
      window.hx.held = await window.walsync.connect({ path: 'held.db' });
      await (window.hx.held as { exec(sql: string): Promise<void> }).exec('CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1)');
    });
    const second = await session.newPage(baseUrl + PAGE);
    await installSettle(second);
    const r = await second.evaluate(async () => {
      let started = performance.now();
      const free = await window.settle(window.walsync.connect({ path: 'free-in-tab-2.db' }));
      const freeMs = performance.now() - started;
      started = performance.now();
      const shared = await window.settle(
        window.walsync.connect({ path: 'held.db' }).then(async (db) => {
          const n = await db.prepare('SELECT count(*) FROM t').pluck().get();
          await db.close();
          return n;
        }),
      );
      return { free: free !== 'hung' && free.ok, freeMs, shared, sharedMs: performance.now() - started };
    });
    await second.close();
    await page.evaluate(async () => {
      await (window.hx.held as { close(): Promise<void> }).close();
    });
    assert.equal(r.free, true);
    assert.deepEqual(r.shared, { ok: true, value: 1 }, JSON.stringify(r.shared));
    assert.ok(r.sharedMs < r.freeMs + 2500, `the second tab's open took ${Math.round(r.sharedMs)} ms (a free open took ${Math.round(r.freeMs)} ms)`);
  });
});

// ── url and authToken functions that throw ───────────────────────────────────────────────────────

describe('url and authToken functions', () => {
  test('a throwing url function → INVALID_ARGUMENT with the cause; an empty url names the function, not connect()', async () => {
    const r = await page.evaluate(async (url) => {
      const atConnect = await window.settle(
        window.walsync.connect({
          path: 'fn-url-connect.db',
          url: () => {
            throw new Error('no tenant yet');
          },
        }),
      );
      let current: () => string | null = () => url;
      const db = await window.walsync.connect({ path: 'fn-url.db', url: () => current(), clientName: 'u' });
      current = () => {
        throw new Error('lookup failed');
      };
      const throwing = await window.settle(db.push());
      current = () => '';
      const empty = await window.settle(db.push());
      current = () => 'ftp://x';
      const wrong = await window.settle(db.pull());
      await db.close();
      return { atConnect, throwing, empty, wrong };
    }, server.url);
    const atConnect = failed(r.atConnect);
    assert.equal(atConnect.code, 'INVALID_ARGUMENT');
    assert.match(atConnect.message, /the "url" function threw: no tenant yet/);
    assert.equal(atConnect.cause, 'no tenant yet');
    const throwing = failed(r.throwing);
    assert.equal(throwing.code, 'INVALID_ARGUMENT');
    assert.match(throwing.message, /^push\(\): the "url" function threw: lookup failed/);
    assert.equal(throwing.cause, 'lookup failed');
    const empty = failed(r.empty);
    assert.equal(empty.code, 'INVALID_ARGUMENT');
    assert.match(empty.message, /^push\(\): the "url" function returned an empty string/);
    const wrong = failed(r.wrong);
    assert.equal(wrong.code, 'INVALID_ARGUMENT');
    assert.match(wrong.message, /^pull\(\): the "url" function returned a url that is not http\(s\):\/\/, libsql:\/\/ or turso:\/\//);
  });

  test('a throwing authToken function → AUTH_FAILED with the cause, at connect and at push', async () => {
    const r = await page.evaluate(async (url) => {
      let fail = true;
      const authToken = () => {
        if (fail) throw new Error('token service down');
        return null;
      };
      const atConnect = await window.settle(window.walsync.connect({ path: 'fn-auth-connect.db', url, clientName: 'a', authToken }));
      fail = false;
      const db = await window.walsync.connect({ path: 'fn-auth.db', url, clientName: 'a', authToken });
      await db.exec('CREATE TABLE IF NOT EXISTS fnauth(x)');
      fail = true;
      const push = await window.settle(db.push());
      await db.close();
      return { atConnect, push };
    }, server.url);
    for (const [name, s] of Object.entries(r)) {
      const e = failed(s);
      assert.equal(e.code, 'AUTH_FAILED', `${name}: ${e.message}`);
      assert.match(e.message, /the "authToken" function threw: token service down/, name);
      assert.equal(e.cause, 'token service down', name);
    }
  });
});
