/**
 * Statement calls over both transports: the SharedArrayBuffer channel (test pages are cross-origin
 * isolated, so it is the default there) and the postMessage protocol (forced with `?calls=port`,
 * what a page without COOP/COEP gets). Every test runs once per transport so neither can rot:
 * results, values, errors, transactions, batches, answers and requests too large for the shared
 * buffer, a worker killed mid-call, and the worker's event loop kept alive (a pull's network phase,
 * a control call) while the page calls without pause.
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

type Settled = { ok: true; value: unknown } | { ok: false; code: string; message: string } | 'hung';

declare global {
  interface Window {
    /** Awaits `p` for at most `ms` (default 20 s): its value, its error, or 'hung'. */
    settleCall: (p: Promise<unknown>, ms?: number) => Promise<Settled>;
  }
}

before(async () => {
  server = await startSyncServer();
  proxy = await startFaultProxy(server.url);
  const dev = await startDevServer();
  baseUrl = dev.url;
  stopDev = () => dev.server.close();
  session = await launchBrowser();
});

after(async () => {
  await session?.close();
  await stopDev?.();
  await proxy?.stop();
  await server?.stop();
});

async function installSettle(p: Page): Promise<void> {
  await p.evaluate(() => {
    window.settleCall = (promise, ms = 20_000) =>
      new Promise<Settled>((resolve) => {
        const timer = setTimeout(() => resolve('hung'), ms);
        promise.then(
          (value) => {
            clearTimeout(timer);
            resolve({ ok: true, value });
          },
          (e: { code?: string; message?: string }) => {
            clearTimeout(timer);
            resolve({ ok: false, code: e?.code ?? 'none', message: e?.message ?? String(e) });
          },
        );
      });
  });
}

for (const transport of ['shared', 'port'] as const) {
  const pagePath = transport === 'port' ? `${PAGE}?calls=port` : PAGE;
  const openPage = async (): Promise<Page> => {
    const p = await session.newPage(baseUrl + pagePath);
    await installSettle(p);
    return p;
  };
  const path = (name: string): string => `calls-${transport}-${name}.db`;

  describe(`statement calls over ${transport === 'shared' ? 'shared memory' : 'postMessage'}`, () => {
    test('the page uses the transport under test', async () => {
      const page = await openPage();
      const r = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: ':memory:' });
        const used = window.kit.statementTransport(db);
        await db.close();
        return { used, isolated: crossOriginIsolated };
      });
      assert.equal(r.isolated, true, 'test pages are cross-origin isolated');
      assert.equal(r.used, transport);
      await page.close();
    });

    test('run, get, all, exec, columns, pragma, iterate, raw and pluck give the same results', async () => {
      const page = await openPage();
      const r = await page.evaluate(async (p) => {
        const db = await window.walsync.connect({ path: p });
        await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n REAL); CREATE TABLE big(x INTEGER)');
        const ins = await db.prepare('INSERT INTO t(v, n) VALUES (?, ?), (?, ?)').run('a', 1.5, 'b', null);
        const upd = await db.prepare('UPDATE t SET v = upper(v)').run();
        const named = await db.prepare('SELECT v FROM t WHERE id = :id').get({ id: 2 });
        const arr = await db.prepare('SELECT v FROM t WHERE id = ?').get([1]);
        const none = await db.prepare('SELECT v FROM t WHERE id = ?').get(99);
        const all = await db.prepare('SELECT id, v, n FROM t ORDER BY id').all();
        const raw = await db.prepare('SELECT id, v FROM t ORDER BY id').raw().all();
        const pluck = await db.prepare('SELECT v FROM t ORDER BY id').pluck().all();
        const iterated: unknown[] = [];
        for await (const row of db.prepare('SELECT id FROM t ORDER BY id').iterate()) iterated.push(row);
        await db.prepare('INSERT INTO big VALUES (?)').run(2n ** 62n);
        const big = await db.prepare('SELECT x FROM big').get();
        const columns = await db.prepare('SELECT id, v AS value, 1 + 1 AS two FROM t').columns();
        const pragma = await db.pragma('user_version', { simple: true });
        const bool = await db.prepare('SELECT ? AS yes, ? AS no').get(true, false);
        await db.close();
        return {
          ins,
          upd: upd.changes,
          named,
          arr,
          none: none === undefined,
          all,
          raw,
          pluck,
          iterated,
          big: typeof big?.x === 'bigint' ? String(big.x) : 'not a bigint',
          columns,
          pragma,
          bool,
        };
      }, path('api'));
      assert.deepEqual(r.ins, { changes: 2, lastInsertRowid: 2 });
      assert.equal(r.upd, 2);
      assert.deepEqual(r.named, { v: 'B' });
      assert.deepEqual(r.arr, { v: 'A' });
      assert.equal(r.none, true);
      assert.deepEqual(r.all, [
        { id: 1, v: 'A', n: 1.5 },
        { id: 2, v: 'B', n: null },
      ]);
      assert.deepEqual(r.raw, [
        [1, 'A'],
        [2, 'B'],
      ]);
      assert.deepEqual(r.pluck, ['A', 'B']);
      assert.deepEqual(r.iterated, [{ id: 1 }, { id: 2 }]);
      assert.equal(r.big, String(2n ** 62n));
      assert.deepEqual(r.columns, [
        { name: 'id', column: 'id', table: 't', database: 'main', type: 'INTEGER' },
        { name: 'value', column: 'v', table: 't', database: 'main', type: 'TEXT' },
        { name: 'two', column: null, table: null, database: null, type: null },
      ]);
      assert.equal(r.pragma, 0);
      assert.deepEqual(r.bool, { yes: 1, no: 0 });
      await page.close();
    });

    test('values round-trip exactly, as arguments and as results', async () => {
      const page = await openPage();
      const r = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: ':memory:' });
        await db.exec('CREATE TABLE v(k INTEGER PRIMARY KEY, x)');
        const inputs: unknown[] = [
          null,
          0,
          -1,
          2 ** 31,
          -(2 ** 31) - 1,
          Number.MAX_SAFE_INTEGER,
          2 ** 53 + 2,
          -0,
          1.5,
          1e300,
          Number.POSITIVE_INFINITY,
          2n ** 62n,
          -(2n ** 63n),
          '',
          'plain',
          '\uFEFFleading BOM',
          'é ü 中文 🎉',
          'x'.repeat(100) + 'é',
          new Uint8Array([]),
          new Uint8Array([0, 1, 255]),
          new Int16Array([1, -1]),
          new Uint8Array([7, 8]).buffer,
        ];
        const insert = db.prepare('INSERT INTO v(k, x) VALUES (?, ?)');
        for (let i = 0; i < inputs.length; i++) await insert.run(i, inputs[i] as never);
        const rows = await db.prepare('SELECT x, typeof(x) AS t FROM v ORDER BY k').all();
        const echoed = await db.prepare('SELECT ?1 AS a, ?2 AS b, ?3 AS c').get(-0, 'é'.repeat(70), new Uint8Array([9]));
        const named = await db.prepare('SELECT :a AS a, @b AS b, $c AS c').get({ a: 2n ** 62n, b: 'ü', c: null });
        await db.close();
        const describe = (x: unknown): string =>
          x instanceof Uint8Array ? `blob:${[...x].join(',')}` : typeof x === 'bigint' ? `bigint:${x}` : typeof x === 'number' ? `number:${Object.is(x, -0) ? '-0' : x}` : `${typeof x}:${x}`;
        return {
          rows: rows.map((row) => `${row.t} ${describe(row.x)}`),
          echoed: [describe(echoed!.a), describe(echoed!.b), describe(echoed!.c)],
          named: [describe(named!.a), describe(named!.b), describe(named!.c)],
        };
      });
      assert.deepEqual(r.rows, [
        'null object:null',
        'integer number:0',
        'integer number:-1',
        'integer number:2147483648',
        'integer number:-2147483649',
        'integer number:9007199254740991',
        'real number:9007199254740994',
        'real number:-0',
        'real number:1.5',
        'real number:1e+300',
        'real number:Infinity',
        `integer bigint:${2n ** 62n}`,
        `integer bigint:${-(2n ** 63n)}`,
        'text string:',
        'text string:plain',
        'text string:\uFEFFleading BOM',
        'text string:é ü 中文 🎉',
        `text string:${'x'.repeat(100)}é`,
        'blob blob:',
        'blob blob:0,1,255',
        'blob blob:1,0,255,255',
        'blob blob:7,8',
      ]);
      assert.deepEqual(r.echoed, ['number:-0', `string:${'é'.repeat(70)}`, 'blob:9']);
      assert.deepEqual(r.named, [`bigint:${2n ** 62n}`, 'string:ü', 'object:null']);
      await page.close();
    });

    test('errors arrive as WalsyncError with their code, SQLite code and context, and bad values name the parameter', async () => {
      const page = await openPage();
      const r = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: ':memory:' });
        await db.exec('CREATE TABLE u(x UNIQUE)');
        await db.prepare('INSERT INTO u VALUES (?)').run(1);
        const describe = (e: unknown) => {
          const err = e as { code?: string; rawCode?: string; sqliteCode?: number; message?: string; context?: Record<string, unknown> };
          return { isWalsync: e instanceof window.walsync.WalsyncError, code: err.code, rawCode: err.rawCode, sqliteCode: err.sqliteCode, message: err.message, context: err.context };
        };
        const failure = async (f: () => Promise<unknown>) => {
          try {
            await f();
            return null;
          } catch (e) {
            return describe(e);
          }
        };
        const unique = await failure(() => db.prepare('INSERT INTO u VALUES (?)').run(1));
        const syntax = await failure(() => db.prepare('SELEC 1').all());
        const undefinedNamed = await failure(() => db.prepare('SELECT :a AS a').get({ a: undefined } as never));
        const tooBig = await failure(() => db.prepare('SELECT :a AS a').get({ a: 2n ** 64n } as never));
        const count = await db.prepare('SELECT count(*) AS c FROM u').get();
        await db.close();
        return { unique, syntax, undefinedNamed, tooBig, count };
      });
      assert.equal(r.unique?.isWalsync, true);
      assert.equal(r.unique?.code, 'SQLITE_ERROR');
      assert.equal(r.unique?.rawCode, 'SQLITE_CONSTRAINT_UNIQUE');
      assert.equal(r.unique?.sqliteCode, 2067);
      assert.equal(r.unique?.message, 'UNIQUE constraint failed: u.x');
      assert.equal(r.unique?.context?.sql, 'INSERT INTO u VALUES (?)');
      assert.equal(r.syntax?.isWalsync, true);
      assert.equal(r.syntax?.code, 'SQLITE_ERROR');
      assert.match(r.syntax?.message ?? '', /syntax error/);
      assert.equal(r.undefinedNamed?.code, 'INVALID_ARGUMENT');
      assert.equal(r.undefinedNamed?.context?.parameter, ':a');
      assert.equal(r.tooBig?.code, 'INVALID_ARGUMENT');
      assert.equal(r.tooBig?.context?.parameter, ':a');
      assert.deepEqual(r.count, { c: 1 });
      await page.close();
    });

    test('transactions commit, roll back, and keep calls issued together in order', async () => {
      const page = await openPage();
      const r = await page.evaluate(async (p) => {
        const db = await window.walsync.connect({ path: p });
        await db.exec('CREATE TABLE t(x UNIQUE)');
        const insert = db.prepare('INSERT INTO t VALUES (?)');
        // Issued without awaiting each: they must run in the order issued.
        const together = await db.transaction(async (tx) => {
          const stmt = tx.prepare('INSERT INTO t VALUES (?)');
          const runs = await Promise.all([1, 2, 3, 4, 5].map((i) => stmt.run(i)));
          const seen = await tx.prepare('SELECT group_concat(x) AS xs FROM t').get();
          await tx.batch([{ sql: 'INSERT INTO t VALUES (?)', args: [6] }]);
          return { rowids: runs.map((x) => x.lastInsertRowid), seen };
        })();
        let error = '';
        try {
          await db.transaction(async () => {
            await insert.run(100);
            await insert.run(1);
          })();
        } catch (e) {
          error = (e as { code: string }).code;
        }
        const rows = await db.prepare('SELECT x FROM t ORDER BY x').pluck().all();
        await db.close();
        return { together, error, rows };
      }, path('tx'));
      assert.deepEqual(r.together, { rowids: [1, 2, 3, 4, 5], seen: { xs: '1,2,3,4,5' } });
      assert.equal(r.error, 'SQLITE_ERROR');
      assert.deepEqual(r.rows, [1, 2, 3, 4, 5, 6]);
      await page.close();
    });

    test('batch() returns every result, and with a mode is all-or-nothing', async () => {
      const page = await openPage();
      const r = await page.evaluate(async (p) => {
        const db = await window.walsync.connect({ path: p });
        await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
        const results = await db.batch([{ sql: 'INSERT INTO t(v) VALUES (?)', args: ['a'] }, { sql: 'INSERT INTO t(v) VALUES (:v)', args: { v: 'b' } }, 'SELECT v FROM t ORDER BY id'], 'immediate');
        let atomic = { code: '', index: -1 };
        try {
          await db.batch([{ sql: 'INSERT INTO t(v) VALUES (?)', args: ['c'] }, { sql: 'INSERT INTO t(v) VALUES (?)', args: ['a'] }], 'deferred');
        } catch (e) {
          atomic = { code: (e as { code: string }).code, index: (e as { context: { batchIndex: number } }).context.batchIndex };
        }
        const after = await db.prepare('SELECT v FROM t ORDER BY id').pluck().all();
        await db.close();
        return { results: results.map((x) => ({ rows: x.rows, rowsAffected: x.rowsAffected, lastInsertRowid: x.lastInsertRowid })), atomic, after };
      }, path('batch'));
      assert.deepEqual(r.results, [
        { rows: [], rowsAffected: 1, lastInsertRowid: 1 },
        { rows: [], rowsAffected: 1, lastInsertRowid: 2 },
        { rows: [{ v: 'a' }, { v: 'b' }], rowsAffected: 0, lastInsertRowid: 2 },
      ]);
      assert.deepEqual(r.atomic, { code: 'SQLITE_ERROR', index: 1 });
      assert.deepEqual(r.after, ['a', 'b']);
      await page.close();
    });

    test('answers and requests larger than the shared buffer arrive whole, and calls after them work', async () => {
      const page = await openPage();
      const r = await page.evaluate(async () => {
        const db = await window.walsync.connect({ path: ':memory:' });
        await db.exec('CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT, data BLOB)');
        // A 1 MB blob argument (request too large) and 2,000 rows of 1 KB text (answer too large).
        const blob = new Uint8Array(1 << 20).map((_, i) => i % 251);
        await db.prepare('INSERT INTO big(body, data) VALUES (?, ?)').run('blob', blob);
        await db.batch(Array.from({ length: 2000 }, (_, i) => ({ sql: 'INSERT INTO big(body) VALUES (?)', args: [`${i}:`.padEnd(1000, 'é')] })));
        const rows = await db.prepare('SELECT id, body FROM big WHERE data IS NULL ORDER BY id').all<{ id: number; body: string }>();
        const back = await db.prepare('SELECT data FROM big WHERE body = ?').get<{ data: Uint8Array }>('blob');
        const small = await db.prepare('SELECT count(*) AS c FROM big').get();
        await db.close();
        let same = back!.data.length === blob.length;
        for (let i = 0; same && i < blob.length; i++) same = back!.data[i] === blob[i];
        return {
          count: rows.length,
          ok: rows.every((row, i) => row.id === i + 2 && row.body === `${i}:`.padEnd(1000, 'é')),
          same,
          small,
        };
      });
      assert.deepEqual(r, { count: 2000, ok: true, same: true, small: { c: 2001 } });
      await page.close();
    });

    test('a worker killed mid-call: the call in flight and later ones reject with DATABASE_CLOSED, nothing hangs', async () => {
      const p = await openWorkerKeepingPage(session, baseUrl + pagePath);
      await installSettle(p);
      const r = await p.evaluate(async (dbPath) => {
        const workers = window.startedWorkers!;
        const db = await window.walsync.connect({ path: dbPath });
        await db.exec('CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1)');
        const slow = window.settleCall(db.prepare('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000000) SELECT count(*) AS c FROM n').get());
        const queued = window.settleCall(db.prepare('SELECT count(*) AS c FROM t').get());
        await window.kit.sleep(300);
        workers[workers.length - 1]!.terminate();
        const inFlight = await slow;
        const behind = await queued;
        const later = await window.settleCall(db.prepare('SELECT 1').get());
        return { inFlight, behind, later };
      }, path('killed'));
      for (const s of [r.inFlight, r.behind, r.later]) {
        assert.notEqual(s, 'hung');
        assert.equal((s as { ok: boolean }).ok, false);
        assert.equal((s as { code: string }).code, 'DATABASE_CLOSED');
      }
      await p.close();
    });

    test("the worker's event loop keeps running while the page calls without pause: a pull's network phase and a control call complete", async () => {
      const page = await openPage();
      const db = path('busy');
      const table = `remote_${transport}`;
      await page.evaluate(async ([p, url]) => {
        const d = await window.walsync.connect({ path: p!, url: url!, clientName: 'busy' });
        await d.exec('CREATE TABLE IF NOT EXISTS local(x)');
        await d.close();
      }, [db, proxy.url] as const);
      // A remote change after this client's bootstrap, so the pull downloads something.
      await page.evaluate(async ([direct, t]) => {
        const w = await window.walsync.connect({ path: `calls-writer-${t}.db`, url: direct!, clientName: 'w' });
        await w.exec(`CREATE TABLE ${t}(id INTEGER PRIMARY KEY, v TEXT)`);
        await w.prepare(`INSERT INTO ${t}(v) VALUES (?)`).run('from the server');
        await w.push();
        await w.close();
      }, [server.url, table] as const);
      // The proxy holds the pull's answer back: a long network phase.
      proxy.inject({ path: '/pull-updates', fault: { kind: 'stall', ms: 1500 } });
      const r = await page.evaluate(async ([p, url, t]) => {
        const d = await window.walsync.connect({ path: p!, url: url!, clientName: 'busy' });
        const stmt = d.prepare('SELECT count(*) AS c FROM local');
        let pullDone = false;
        let statsDone = false;
        // 15 s for a pull the proxy holds 1.5 s: a worker that gives its event loop too few turns
        // (its fetch once took 25 s here) fails, not only one that never does.
        const pull = window.settleCall(d.pull(), 15_000).then((s) => ((pullDone = true), s));
        const stats = window.settleCall(d.stats(), 15_000).then((s) => ((statsDone = true), s));
        let calls = 0;
        let callsWhilePulling = 0;
        const started = performance.now();
        // Back to back, never awaiting anything but the calls, until both are done (or 15 s pass).
        while ((!pullDone || !statsDone) && performance.now() - started < 15_000) {
          await stmt.get();
          calls++;
          if (!pullDone) callsWhilePulling++;
        }
        const result = { pull: await pull, stats: (await stats) !== 'hung', calls, callsWhilePulling, rows: await d.prepare(`SELECT v FROM ${t}`).pluck().all() };
        await d.close();
        return result;
      }, [db, proxy.url, table] as const);
      await proxy.clear();
      assert.notEqual(r.pull, 'hung');
      assert.equal((r.pull as { ok: boolean }).ok, true, JSON.stringify(r.pull));
      assert.equal(r.stats, true);
      assert.ok(r.callsWhilePulling > 0, 'statement calls ran while the pull was in its network phase');
      assert.deepEqual(r.rows, ['from the server']);
      await page.close();
    });
  });
}
