/**
 * Sync against a real `tursodb --sync-server` (fresh database for this file), several clients in
 * one page: what pushes and pulls carry, conflict outcomes, refusals, persistence of pending
 * changes, concurrency, transform, DDL, odd names, tablesIgnore, checkpoint and stats.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSyncServer } from '../../scripts/sync-server.js';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

describe('push and pull', () => {
  test('a client that never pushed pulls without a replay transaction, and its later writes all reach the server', async () => {
    const r = await env.page.evaluate(async (url) => {
      const replays: (number | string | boolean | null)[] = [];
      const a = await window.walsync.connect({ path: 'np-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE np(id INTEGER PRIMARY KEY, v TEXT)');
      await a.push();
      const b = await window.walsync.connect({
        path: 'np-b.db',
        url,
        clientName: 'b',
        tracing: 'info',
        logger: (e) => void (e.step === 'pull.replay' && replays.push(e.fields.pullGen ?? null)),
      });
      // A change and its undo: the first pull replays them (to nothing) and moves B's generation.
      await b.exec("INSERT INTO np VALUES (10, 'gone'); DELETE FROM np WHERE id = 10");
      await a.exec("INSERT INTO np VALUES (1, 'a1')");
      await a.push();
      await b.pull();
      // Nothing local now, and the server has no position of B's: no transaction.
      await a.exec("INSERT INTO np VALUES (2, 'a2')");
      await a.push();
      await b.pull();
      await b.exec("INSERT INTO np VALUES (11, 'b1'); INSERT INTO np VALUES (12, 'b2')");
      await b.push();
      await a.exec("INSERT INTO np VALUES (3, 'a3')");
      await a.push();
      await b.pull();
      await b.exec("INSERT INTO np VALUES (13, 'b3')");
      await b.push();
      const c = await window.walsync.connect({ path: 'np-c.db', url, clientName: 'c' });
      const onServer = await window.kit.dump(c, 'np');
      const onB = await window.kit.dump(b, 'np');
      for (const db of [a, b, c]) await db.close();
      return { replays, onServer, onB };
    }, env.server.url);
    assert.deepEqual(r.replays, [1, null, 1], 'the second pull of B (nothing to replay, no position on the server) ran no transaction');
    const all = [[1, 'a1'], [2, 'a2'], [3, 'a3'], [11, 'b1'], [12, 'b2'], [13, 'b3']];
    assert.deepEqual(r.onServer, all);
    assert.deepEqual(r.onB, all);
  });

  test('rows pushed by one client are seen by a fresh client; unpushed rows are not', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'pp-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE pp(id INTEGER PRIMARY KEY, v TEXT)');
      await a.prepare('INSERT INTO pp VALUES (?, ?)').run(1, 'pushed');
      await a.push();
      await a.prepare('INSERT INTO pp VALUES (?, ?)').run(2, 'not pushed');
      const b = await window.walsync.connect({ path: 'pp-b.db', url, clientName: 'b' });
      const seen = await window.kit.dump(b, 'pp');
      const aRows = await window.kit.dump(a, 'pp');
      await a.close();
      await b.close();
      return { seen, aRows };
    }, env.server.url);
    assert.deepEqual(r.seen, [[1, 'pushed']]);
    assert.deepEqual(r.aRows, [[1, 'pushed'], [2, 'not pushed']]);
  });

  test('non-overlapping changes of two clients merge', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'merge-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE merge(id INTEGER PRIMARY KEY, who TEXT)');
      await a.push();
      const b = await window.walsync.connect({ path: 'merge-b.db', url, clientName: 'b' });
      await a.prepare('INSERT INTO merge VALUES (1, ?)').run('a');
      await b.prepare('INSERT INTO merge VALUES (2, ?)').run('b');
      await a.sync();
      await b.sync();
      await a.pull();
      const result = { a: await window.kit.dump(a, 'merge'), b: await window.kit.dump(b, 'merge') };
      await a.close();
      await b.close();
      return result;
    }, env.server.url);
    assert.deepEqual(r.a, [[1, 'a'], [2, 'b']]);
    assert.deepEqual(r.b, r.a);
  });

  test('the later push wins per row and per column; delete against update; same-key inserts', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'lww-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE lww(id INTEGER PRIMARY KEY, x TEXT, y TEXT)');
      await a.exec("INSERT INTO lww VALUES (1, 'x0', 'y0'), (2, 'x0', 'y0'), (3, 'keep', 'keep')");
      await a.push();
      const b = await window.walsync.connect({ path: 'lww-b.db', url, clientName: 'b' });
      // Row 1: different columns on each side, both survive. Row 2: same column, b pushes later.
      await a.exec("UPDATE lww SET x = 'xa' WHERE id = 1; UPDATE lww SET x = 'from a' WHERE id = 2");
      await b.exec("UPDATE lww SET y = 'yb' WHERE id = 1; UPDATE lww SET x = 'from b' WHERE id = 2");
      // Row 3: a deletes, b updates later → b's update of a missing row changes nothing.
      await a.exec('DELETE FROM lww WHERE id = 3');
      await b.exec("UPDATE lww SET x = 'updated' WHERE id = 3");
      // Row 4: both insert the same key; b pushes later and wins.
      await a.exec("INSERT INTO lww VALUES (4, 'a4', 'a4')");
      await b.exec("INSERT INTO lww VALUES (4, 'b4', 'b4')");
      await a.push();
      await b.push();
      await a.pull();
      await b.pull();
      const result = { a: await window.kit.dump(a, 'lww'), b: await window.kit.dump(b, 'lww') };
      await a.close();
      await b.close();
      return result;
    }, env.server.url);
    assert.deepEqual(r.a, [
      [1, 'xa', 'yb'],
      [2, 'from b', 'y0'],
      [4, 'b4', 'b4'],
    ]);
    assert.deepEqual(r.b, r.a);
  });

  test('a refused change rejects push with the server message and leaves the server unchanged', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'uq-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE u(id INTEGER PRIMARY KEY, y TEXT UNIQUE)');
      await a.exec("INSERT INTO u VALUES (1, 'taken')");
      await a.push();
      const b = await window.walsync.connect({ path: 'uq-b.db', url, clientName: 'b' });
      await a.exec("INSERT INTO u VALUES (2, 'dup')");
      await a.push();
      // b has not pulled: its row 3 takes 'dup' too, after a harmless row 4 in an earlier transaction.
      await b.exec("INSERT INTO u VALUES (4, 'fine')");
      await b.exec("INSERT INTO u VALUES (3, 'dup')");
      const error = await window.kit.errorOf(() => b.push());
      const fresh = await window.walsync.connect({ path: 'uq-c.db', url, clientName: 'c' });
      const server = await window.kit.dump(fresh, 'u');
      const pending = (await b.stats()).cdcOperations;
      for (const db of [a, b, fresh]) await db.close();
      return { error, server, pending };
    }, env.server.url);
    assert.equal(r.error.code, 'PUSH_REJECTED');
    assert.match(r.error.message, /UNIQUE constraint failed: u\.y/);
    assert.equal(r.error.context.tableName, 'u');
    // Row 4 and row 3 travel in one two-row statement; the refusal still names the exact change.
    assert.equal(r.error.context.changeId, 2);
    assert.match(String(r.error.context.sql), /VALUES \(\?,\?\) ON CONFLICT/);
    assert.deepEqual(r.server, [
      [1, 'taken'],
      [2, 'dup'],
    ]);
    assert.equal(r.pending, 2, 'nothing was dropped: both changes still wait to be pushed');
  });

  test('pending changes survive close, reopen and reload, then push', async () => {
    await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'pend-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE pend(id INTEGER PRIMARY KEY, v TEXT)');
      await a.push();
      await a.exec("INSERT INTO pend VALUES (1, 'before close')");
      await a.close();
      const again = await window.walsync.connect({ path: 'pend-a.db', url, clientName: 'a' });
      await again.exec("INSERT INTO pend VALUES (2, 'before reload')");
    }, env.server.url);
    await env.page.reload();
    await env.page.waitForFunction(() => window.walsyncReady === true);
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'pend-a.db', url, clientName: 'a' });
      const pendingBefore = (await a.stats()).cdcOperations;
      await a.push();
      const pendingAfter = (await a.stats()).cdcOperations;
      const b = await window.walsync.connect({ path: 'pend-b.db', url, clientName: 'b' });
      const seen = await window.kit.dump(b, 'pend');
      await a.close();
      await b.close();
      return { pendingBefore, pendingAfter, seen };
    }, env.server.url);
    assert.equal(r.pendingBefore, 2);
    assert.equal(r.pendingAfter, 0);
    assert.deepEqual(r.seen, [
      [1, 'before close'],
      [2, 'before reload'],
    ]);
  });

  test('offline, the database opens and serves local data; sync fails with NETWORK_ERROR and loses nothing', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'off-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE off(id INTEGER PRIMARY KEY, v TEXT)');
      await a.exec("INSERT INTO off VALUES (1, 'synced')");
      await a.push();
      await a.close();
      const dead = 'http://127.0.0.1:9'; // discard port: nothing listens
      const offline = await window.walsync.connect({ path: 'off-a.db', url: dead, clientName: 'a' });
      await offline.exec("INSERT INTO off VALUES (2, 'offline')");
      const pushError = await window.kit.errorOf(() => offline.push());
      const pullError = await window.kit.errorOf(() => offline.pull());
      const rows = await window.kit.dump(offline, 'off');
      await offline.close();
      const back = await window.walsync.connect({ path: 'off-a.db', url, clientName: 'a' });
      await back.sync();
      const fresh = await window.walsync.connect({ path: 'off-b.db', url, clientName: 'b' });
      const server = await window.kit.dump(fresh, 'off');
      await back.close();
      await fresh.close();
      return { pushError: pushError.code, pullError: pullError.code, rows, server };
    }, env.server.url);
    assert.equal(r.pushError, 'NETWORK_ERROR');
    assert.equal(r.pullError, 'NETWORK_ERROR');
    assert.deepEqual(r.rows, [
      [1, 'synced'],
      [2, 'offline'],
    ]);
    assert.deepEqual(r.server, r.rows);
  });

  test('deferred sync: a url function returning null keeps the database local until it returns a url', async () => {
    const r = await env.page.evaluate(async (url) => {
      let current: string | null = null;
      const db = await window.walsync.connect({ path: 'deferred.db', url: () => current, clientName: 'd' });
      await db.exec('CREATE TABLE IF NOT EXISTS deferred(id INTEGER PRIMARY KEY, v TEXT)');
      await db.exec("INSERT INTO deferred VALUES (1, 'written before sync')");
      const paused = await window.kit.errorOf(() => db.push());
      current = url;
      await db.sync();
      const fresh = await window.walsync.connect({ path: 'deferred-check.db', url, clientName: 'e' });
      const server = await window.kit.dump(fresh, 'deferred');
      await db.close();
      await fresh.close();
      return { paused: paused.code, server };
    }, env.server.url);
    assert.equal(r.paused, 'SYNC_PAUSED');
    assert.deepEqual(r.server, [[1, 'written before sync']]);
  });
  test('authToken functions are asked before every request, a fixed token goes with every request, and the fetch option makes the requests', async () => {
    const r = await env.page.evaluate(async (url) => {
      let issued = 0;
      const seen: { path: string; auth: string | null }[] = [];
      // tursodb takes no credentials (and its CORS answer does not allow an Authorization header),
      // so this fetch records the header, then forwards the request without it.
      const recordingFetch = async (input: string, init: RequestInit) => {
        const headers = new Headers(init.headers);
        seen.push({ path: new URL(input).pathname, auth: headers.get('authorization') });
        headers.delete('authorization');
        return fetch(input, { ...init, headers });
      };
      const db = await window.walsync.connect({
        path: 'auth-a.db',
        url,
        clientName: 'auth',
        authToken: async () => `token-${++issued}`,
        fetch: recordingFetch,
      });
      await db.exec('CREATE TABLE auth(id INTEGER PRIMARY KEY)');
      await db.exec('INSERT INTO auth VALUES (1)');
      await db.sync();
      const rows = await window.kit.dump(db, 'auth');
      await db.close();
      // A fixed token (the worker holds it; no round trip to the page) goes with every request too.
      const fixedSeen = seen.splice(seen.length);
      const fixed = await window.walsync.connect({
        path: 'auth-b.db',
        url,
        clientName: 'auth-fixed',
        authToken: 'fixed-token',
        fetch: async (input: string, init: RequestInit) => {
          const headers = new Headers(init.headers);
          fixedSeen.push({ path: new URL(input).pathname, auth: headers.get('authorization') });
          headers.delete('authorization');
          return fetch(input, { ...init, headers });
        },
      });
      await fixed.exec('INSERT INTO auth VALUES (2)');
      await fixed.sync();
      const fixedRows = await window.kit.dump(fixed, 'auth');
      await fixed.close();
      return { seen, issued, rows, fixedSeen, fixedRows };
    }, env.server.url);
    assert.deepEqual(r.rows, [[1]]);
    assert.deepEqual(r.fixedRows, [[1], [2]]);
    assert.ok(r.fixedSeen.length >= 4, `bootstrap, high-water read, push and pull (${r.fixedSeen.length})`);
    assert.deepEqual(new Set(r.fixedSeen.map((s) => s.auth)), new Set(['Bearer fixed-token']));
    assert.ok(r.seen.length >= 4, `bootstrap, high-water read, push and pull went through fetch (${r.seen.length})`);
    assert.deepEqual(
      r.seen.map((s) => s.auth),
      r.seen.map((_, i) => `Bearer token-${i + 1}`),
      'a fresh token for every request',
    );
    assert.ok(r.seen.some((s) => s.path === '/pull-updates') && r.seen.some((s) => s.path === '/v2/pipeline'));
  });
});

describe('a server that was reset', () => {
  // Behind: the new server has less history than our revision (an empty answer under another
  // revision). Ahead: more history (an answer with pages, of another database).
  for (const variant of ['behind', 'ahead'] as const) {
    test(`is refused with SERVER_RESET before anything changes (new server ${variant} of our revision)`, async () => {
      const first = await startSyncServer();
      let second: Awaited<ReturnType<typeof startSyncServer>> | undefined;
      try {
        await env.page.evaluate(
          async ({ url, path }) => {
            const db = await window.walsync.connect({ path, url, clientName: 'reset' });
            await db.exec("CREATE TABLE reset_t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO reset_t VALUES (1, 'kept')");
            await db.sync();
            await db.close();
          },
          { url: first.url, path: `reset-${variant}.db` },
        );
        await first.stop();
        // A fresh server on the same address.
        second = await startSyncServer({ port: first.port });
        if (variant === 'ahead') {
          await env.page.evaluate(async (url) => {
            const other = await window.walsync.connect({ path: 'reset-other.db', url, clientName: 'other' });
            for (let i = 0; i < 5; i++) {
              await other.exec(`CREATE TABLE elsewhere_${i}(id INTEGER PRIMARY KEY); INSERT INTO elsewhere_${i} VALUES (${i})`);
              await other.push();
            }
            await other.close();
          }, second.url);
        }
        const r = await env.page.evaluate(
          async ({ url, path }) => {
            const db = await window.walsync.connect({ path, url, clientName: 'reset' });
            const before = await db.stats();
            const error = await window.kit.errorOf(() => db.pull());
            const after = await db.stats();
            const rows = await window.kit.dump(db, 'reset_t');
            const tables = await db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'elsewhere%'").get();
            const check = await db.prepare('PRAGMA integrity_check').get();
            await db.close();
            return { error, revisionBefore: before.revision, revisionAfter: after.revision, rows, tables, check };
          },
          { url: second.url, path: `reset-${variant}.db` },
        );
        assert.equal(r.error.code, 'SERVER_RESET', JSON.stringify(r));
        assert.match(r.error.message, /reset or replaced/);
        assert.equal(r.revisionAfter, r.revisionBefore, 'the new revision was not adopted');
        assert.deepEqual(r.rows, [[1, 'kept']]);
        assert.deepEqual(r.tables, { n: 0 }, 'no page of the other database was installed');
        assert.deepEqual(r.check, { integrity_check: 'ok' });
      } finally {
        await second?.stop();
        await first.stop();
      }
    });
  }
});

describe('bootstrap and maintenance options', () => {
  test('bootstrapIfEmpty: false starts empty; the first pull brings the remote and keeps local rows', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'boot-a.db', url, clientName: 'boota' });
      await a.exec("CREATE TABLE boot(id TEXT PRIMARY KEY, v TEXT); INSERT INTO boot VALUES ('r', 'remote')");
      await a.push();
      const b = await window.walsync.connect({ path: 'boot-b.db', url, clientName: 'bootb', bootstrapIfEmpty: false });
      const tablesBefore = await b.prepare("SELECT name FROM sqlite_schema WHERE name = 'boot'").all();
      const revisionBefore = (await b.stats()).revision;
      await b.exec("CREATE TABLE IF NOT EXISTS boot(id TEXT PRIMARY KEY, v TEXT); INSERT INTO boot VALUES ('l', 'local')");
      const brought = await b.pull();
      const rows = await window.kit.dump(b, 'boot');
      await b.push();
      await a.pull();
      const onA = await window.kit.dump(a, 'boot');
      // This client's position on the server carries its id: <clientName>-<uuid v4>.
      const ids = await a.prepare("SELECT client_id FROM turso_sync_last_change_id WHERE client_id LIKE 'boot%' ORDER BY client_id").all();
      await a.close();
      await b.close();
      return { tablesBefore, revisionBefore, brought, rows, onA, ids: ids.map((row) => row.client_id) };
    }, env.server.url);
    assert.deepEqual(r.tablesBefore, []);
    assert.equal(r.revisionBefore, null);
    assert.equal(r.brought, true);
    assert.deepEqual(r.rows, [
      ['l', 'local'],
      ['r', 'remote'],
    ]);
    assert.deepEqual(r.onA, r.rows);
    assert.equal(r.ids.length, 2);
    assert.match(String(r.ids[0]), /^boota-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(String(r.ids[1]), /^bootb-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('autoCheckpointBytes keeps the log bounded while writing, and sync still converges', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'auto-a.db', url, clientName: 'auto', autoCheckpointBytes: 256 * 1024 });
      await a.exec('CREATE TABLE auto(id INTEGER PRIMARY KEY, v TEXT)');
      await a.push();
      await a.pull();
      let largestWal = 0;
      const insert = a.prepare("INSERT INTO auto(v) VALUES (printf('%.2000c', 'x'))");
      for (let i = 0; i < 400; i++) {
        await insert.run();
        if (i % 50 === 0) largestWal = Math.max(largestWal, (await a.stats()).mainWalSize);
      }
      const pending = (await a.stats()).cdcOperations;
      await a.sync();
      const b = await window.walsync.connect({ path: 'auto-b.db', url, clientName: 'auto-b' });
      const count = await b.prepare('SELECT count(*) AS n FROM auto').get();
      const check = await a.prepare('PRAGMA integrity_check').get();
      await a.close();
      await b.close();
      return { largestWal, pending, count, check };
    }, env.server.url);
    // 400 rows of 2 kB make about 1 MB of log without checkpoints.
    assert.ok(r.largestWal < 600 * 1024, `the log stayed bounded (${r.largestWal} bytes)`);
    assert.equal(r.pending, 400);
    assert.deepEqual(r.count, { n: 400 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
  });
});

describe('concurrency and convergence', () => {
  test('1000 local inserts while pull and push loop concurrently end consistent', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'loop-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE loop(id INTEGER PRIMARY KEY, v TEXT)');
      await a.push();
      let writing = true;
      const syncing = (async () => {
        let rounds = 0;
        while (writing || rounds < 1) {
          await a.push();
          await a.pull();
          rounds++;
        }
        return rounds;
      })();
      const insert = a.prepare('INSERT INTO loop(v) VALUES (?)');
      for (let i = 0; i < 1000; i++) await insert.run(`row ${i}`);
      writing = false;
      const rounds = await syncing;
      await a.sync();
      const b = await window.walsync.connect({ path: 'loop-b.db', url, clientName: 'b' });
      const counts = {
        local: (await a.prepare('SELECT count(*) AS c, count(DISTINCT v) AS d FROM loop').get()) as { c: number; d: number },
        server: (await b.prepare('SELECT count(*) AS c, count(DISTINCT v) AS d FROM loop').get()) as { c: number; d: number },
      };
      const check = await a.prepare('PRAGMA integrity_check').get();
      const pending = (await a.stats()).cdcOperations;
      await a.close();
      await b.close();
      return { rounds, counts, check, pending };
    }, env.server.url);
    assert.ok(r.rounds >= 1);
    assert.deepEqual(r.counts.local, { c: 1000, d: 1000 });
    assert.deepEqual(r.counts.server, { c: 1000, d: 1000 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    assert.equal(r.pending, 0);
  });

  test('queries and writes go on while a push or pull waits for the server', async () => {
    const r = await env.page.evaluate(async (url) => {
      let delayMs = 0;
      const slowFetch = async (input: string, init: RequestInit) => {
        await new Promise((done) => setTimeout(done, delayMs));
        return fetch(input, init);
      };
      const db = await window.walsync.connect({ path: 'slow-a.db', url, clientName: 'slow', fetch: slowFetch });
      await db.exec('CREATE TABLE slow(id INTEGER PRIMARY KEY, v TEXT)');
      delayMs = 1500;
      const timings: Record<string, number> = {};
      for (const op of ['push', 'pull'] as const) {
        const started = performance.now();
        const syncing = op === 'push' ? db.push() : db.pull();
        await new Promise((done) => setTimeout(done, 100));
        const queryStarted = performance.now();
        await db.prepare('INSERT INTO slow(v) VALUES (?)').run(`during ${op}`);
        await db.prepare('SELECT count(*) AS n FROM slow').get();
        timings[`${op}Query`] = performance.now() - queryStarted;
        await syncing;
        timings[op] = performance.now() - started;
      }
      delayMs = 0;
      await db.sync();
      const fresh = await window.walsync.connect({ path: 'slow-b.db', url, clientName: 'slow-b' });
      const server = await window.kit.dump(fresh, 'slow');
      await db.close();
      await fresh.close();
      return { timings, server };
    }, env.server.url);
    assert.ok(r.timings.push! >= 1500 && r.timings.pull! >= 1500, `the server answered slowly: ${JSON.stringify(r.timings)}`);
    assert.ok(r.timings.pushQuery! < 1000, `a write and a query did not wait for the push: ${r.timings.pushQuery} ms`);
    assert.ok(r.timings.pullQuery! < 1000, `a write and a query did not wait for the pull: ${r.timings.pullQuery} ms`);
    assert.deepEqual(r.server, [
      [1, 'during push'],
      [2, 'during pull'],
    ]);
  });

  test('8 clients upserting counters concurrently converge to identical tables', async () => {
    const r = await env.page.evaluate(async (url) => {
      const first = await window.walsync.connect({ path: 'ctr-0.db', url, clientName: 'c0' });
      await first.exec('CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER, writer TEXT)');
      await first.push();
      const clients = [first];
      for (let i = 1; i < 8; i++) clients.push(await window.walsync.connect({ path: `ctr-${i}.db`, url, clientName: `c${i}` }));
      await Promise.all(
        clients.map(async (db, i) => {
          for (let round = 0; round < 5; round++) {
            for (const name of ['x', 'y', 'z']) {
              await db
                .prepare('INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value, writer = excluded.writer')
                .run(name, round * 10 + i, `c${i}`);
            }
            await db.sync();
          }
        }),
      );
      // Quiesce: everyone pushes, then everyone pulls the final state.
      for (const db of clients) await db.push();
      for (const db of clients) await db.pull();
      const tables = [];
      for (const db of clients) tables.push(await window.kit.dump(db, 'counters'));
      for (const db of clients) await db.close();
      return tables;
    }, env.server.url);
    for (const t of r) assert.deepEqual(t, r[0]);
    assert.equal(r[0]!.length, 3);
  });

  test('a transform turning updates into increments makes concurrent increments add up', async () => {
    const r = await env.page.evaluate(async (url) => {
      const transform = (m: { changeType: string; tableName: string; before?: Record<string, unknown>; after?: Record<string, unknown> }) => {
        if (m.tableName !== 'tally' || m.changeType !== 'update') return null;
        const delta = Number(m.after!.n) - Number(m.before!.n);
        return { operation: 'rewrite' as const, stmt: { sql: 'UPDATE tally SET n = n + ? WHERE k = ?', values: [delta, m.after!.k as string] } };
      };
      const a = await window.walsync.connect({ path: 'tally-a.db', url, clientName: 'a', transform });
      await a.exec("CREATE TABLE tally(k TEXT PRIMARY KEY, n INTEGER); INSERT INTO tally VALUES ('clicks', 0)");
      await a.push();
      const b = await window.walsync.connect({ path: 'tally-b.db', url, clientName: 'b', transform });
      for (let i = 0; i < 3; i++) await a.exec("UPDATE tally SET n = n + 1 WHERE k = 'clicks'");
      for (let i = 0; i < 4; i++) await b.exec("UPDATE tally SET n = n + 1 WHERE k = 'clicks'");
      await a.push();
      await b.push();
      await a.pull();
      await b.pull();
      const result = { a: await window.kit.dump(a, 'tally'), b: await window.kit.dump(b, 'tally') };
      await a.close();
      await b.close();
      return result;
    }, env.server.url);
    assert.deepEqual(r.a, [['clicks', 7]]);
    assert.deepEqual(r.b, [['clicks', 7]]);
  });

  test('a transform rewrite of several statements is refused, not cut to its first statement', async () => {
    const r = await env.page.evaluate(async (url) => {
      const transform = (m: { tableName: string; changeType: string }) =>
        m.tableName === 'two_stmt' && m.changeType === 'insert'
          ? { operation: 'rewrite' as const, stmt: { sql: "INSERT INTO two_stmt VALUES (10, 'a'); INSERT INTO two_stmt VALUES (11, 'b')", values: [] } }
          : null;
      const a = await window.walsync.connect({ path: 'two-stmt-a.db', url, clientName: 'a', transform });
      await a.exec('CREATE TABLE two_stmt(id INTEGER PRIMARY KEY, v TEXT)');
      await a.push();
      await a.exec("INSERT INTO two_stmt VALUES (1, 'x')");
      const push = await window.kit.errorOf(() => a.push());
      const pending = (await a.stats()).cdcOperations;
      const check = await window.walsync.connect({ path: 'two-stmt-check.db', url, clientName: 'check' });
      const server = await window.kit.dump(check, 'two_stmt');
      await check.close();
      await a.close();
      return { push, pending, server };
    }, env.server.url);
    assert.equal(r.push.code, 'INVALID_ARGUMENT', JSON.stringify(r.push));
    assert.match(r.push.message, /exactly one statement/);
    assert.equal(r.pending, 1, 'the change stays queued');
    assert.deepEqual(r.server, [], 'nothing reached the server');
  });
});

describe('schema and names', () => {
  test('DDL made on one client reaches another, and later rows use the new columns', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'ddl-a.db', url, clientName: 'a' });
      const b = await window.walsync.connect({ path: 'ddl-b.db', url, clientName: 'b' });
      await a.exec('CREATE TABLE ddl(id INTEGER PRIMARY KEY, v TEXT)');
      await a.exec("INSERT INTO ddl VALUES (1, 'one')");
      await a.exec('ALTER TABLE ddl ADD COLUMN extra INTEGER DEFAULT 7');
      await a.exec('CREATE INDEX ddl_v ON ddl(v)');
      await a.exec("INSERT INTO ddl VALUES (2, 'two', 2)");
      await a.push();
      await b.pull();
      const rows = await window.kit.dump(b, 'ddl');
      const index = await b.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'ddl_v'").get();
      await b.exec('UPDATE ddl SET extra = 99 WHERE id = 1');
      await b.push();
      await a.pull();
      const back = await window.kit.dump(a, 'ddl');
      await a.close();
      await b.close();
      return { rows, index, back };
    }, env.server.url);
    assert.deepEqual(r.rows, [
      [1, 'one', 7],
      [2, 'two', 2],
    ]);
    assert.deepEqual(r.index, { name: 'ddl_v' });
    assert.deepEqual(r.back, [
      [1, 'one', 99],
      [2, 'two', 2],
    ]);
  });

  test('a table whose name has a double quote and a space syncs', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'odd-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE "my ""odd"" table"(id INTEGER PRIMARY KEY, "a column" TEXT)');
      await a.prepare('INSERT INTO "my ""odd"" table" VALUES (?, ?)').run(1, 'x');
      await a.push();
      await a.prepare('UPDATE "my ""odd"" table" SET "a column" = ? WHERE id = 1').run('y');
      await a.push();
      const b = await window.walsync.connect({ path: 'odd-b.db', url, clientName: 'b' });
      const rows = await window.kit.dump(b, 'my "odd" table');
      await a.close();
      await b.close();
      return rows;
    }, env.server.url);
    assert.deepEqual(r, [[1, 'y']]);
  });

  test('a trigger stays on the device that made it (not pushed) and survives pulls', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'trg-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE trg_items(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE trg_audit(id INTEGER PRIMARY KEY, item INTEGER)');
      await a.exec('CREATE TRIGGER trg_items_audit AFTER INSERT ON trg_items BEGIN INSERT INTO trg_audit(item) VALUES (NEW.id); END');
      await a.exec("INSERT INTO trg_items VALUES (1, 'one')");
      await a.push();
      const b = await window.walsync.connect({ path: 'trg-b.db', url, clientName: 'b' });
      const onB = await b.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger'").get();
      await b.exec("INSERT INTO trg_items VALUES (2, 'two')");
      await b.push();
      await a.pull();
      const triggerOnA = await a.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger'").all();
      await a.exec("INSERT INTO trg_items VALUES (3, 'three')");
      const audit = await window.kit.dump(a, 'trg_audit', 'item');
      await a.sync();
      await b.pull();
      const auditOnB = await window.kit.dump(b, 'trg_audit', 'item');
      await a.close();
      await b.close();
      return { onB, triggerOnA, audit, auditOnB };
    }, env.server.url);
    assert.deepEqual(r.onB, { n: 0 }, 'the trigger was not pushed');
    assert.deepEqual(r.triggerOnA, [{ name: 'trg_items_audit' }], 'the pull kept the local trigger');
    // Rows 1 and 3 were inserted on a (its trigger wrote their audit rows); row 2 came from b.
    assert.deepEqual(r.audit.map((row) => row[1]), [1, 3]);
    assert.deepEqual(r.auditOnB.map((row) => row[1]), [1, 3], 'the audit rows the trigger wrote are ordinary synced rows');
  });

  test('PRAGMA user_version (an app\'s migration mark) stays local and survives pulls', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'uv-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE uv(id INTEGER PRIMARY KEY)');
      await a.exec('PRAGMA user_version = 7');
      const pending = (await a.stats()).cdcOperations;
      await a.push();
      const b = await window.walsync.connect({ path: 'uv-b.db', url, clientName: 'b' });
      const onB = await b.prepare('PRAGMA user_version').get();
      await b.exec('INSERT INTO uv VALUES (1)');
      await b.push();
      await a.pull();
      const onA = await a.prepare('PRAGMA user_version').get();
      await a.close();
      await b.close();
      return { pending, onB, onA };
    }, env.server.url);
    assert.equal(r.pending, 1, 'only the CREATE waits to be pushed');
    assert.deepEqual(r.onB, { user_version: 0 });
    assert.deepEqual(r.onA, { user_version: 7 });
  });

  test('tablesIgnore keeps a table local, and its rows survive pulls', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'ign-a.db', url, clientName: 'a', tablesIgnore: ['scratch'] });
      await a.exec('CREATE TABLE kept(id INTEGER PRIMARY KEY); CREATE TABLE scratch(id INTEGER PRIMARY KEY, note TEXT)');
      await a.exec("INSERT INTO kept VALUES (1); INSERT INTO scratch VALUES (1, 'local only')");
      const pendingBeforePush = (await a.stats()).cdcOperations;
      await a.push();
      const pendingAfterPush = (await a.stats()).cdcOperations;
      const b = await window.walsync.connect({ path: 'ign-b.db', url, clientName: 'b' });
      const kept = await window.kit.dump(b, 'kept');
      const scratch = await window.kit.errorOf(() => b.prepare('SELECT count(*) AS c FROM scratch').get()).then(async (e) =>
        e.code === 'none' ? (await b.prepare('SELECT count(*) AS c FROM scratch').get())!.c : e.message,
      );
      // A pull rolls the database back to the server's state and replays local changes: the
      // ignored table's rows are local changes too and must come back.
      await b.exec('INSERT INTO kept VALUES (2)');
      await b.push();
      await a.exec("UPDATE scratch SET note = 'edited locally' WHERE id = 1; INSERT INTO scratch VALUES (2, 'second')");
      await a.pull();
      await a.pull();
      const aScratch = await window.kit.dump(a, 'scratch');
      const aKept = await window.kit.dump(a, 'kept');
      const pendingAfterPull = (await a.stats()).cdcOperations;
      await a.close();
      await b.close();
      return { kept, scratch, aScratch, aKept, pendingBeforePush, pendingAfterPush, pendingAfterPull };
    }, env.server.url);
    assert.deepEqual(r.kept, [[1]]);
    // The table's definition syncs (schema changes are always pushed), its rows do not.
    assert.equal(r.scratch, 0);
    assert.deepEqual(r.aScratch, [
      [1, 'edited locally'],
      [2, 'second'],
    ]);
    assert.deepEqual(r.aKept, [[1], [2]]);
    assert.equal(r.pendingBeforePush, 3, 'two CREATEs and the kept row; rows of the ignored table never count as pending');
    assert.equal(r.pendingAfterPush, 0);
    assert.equal(r.pendingAfterPull, 0);
  });
});

describe('maintenance and counters', () => {
  test('checkpoint empties the main WAL, keeps the revert store small, and a later pull still works', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'ck-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE ck(id INTEGER PRIMARY KEY, v TEXT)');
      await a.exec("INSERT INTO ck SELECT value, printf('%.200c', 'v') FROM (WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 2000) SELECT value FROM n)");
      await a.push();
      await a.pull();
      await a.exec("UPDATE ck SET v = 'local' WHERE id = 1");
      const before = await a.stats();
      await a.checkpoint();
      const afterCk = await a.stats();
      const b = await window.walsync.connect({ path: 'ck-b.db', url, clientName: 'b' });
      await b.exec("UPDATE ck SET v = 'remote' WHERE id = 2000");
      await b.push();
      await a.pull();
      const rows = await a.prepare('SELECT id, v FROM ck WHERE id IN (1, 2000) ORDER BY id').all();
      const check = await a.prepare('PRAGMA integrity_check').get();
      await a.close();
      await b.close();
      return { before, afterCk, rows, check };
    }, env.server.url);
    assert.ok(r.before.mainWalSize > 0);
    assert.equal(r.afterCk.mainWalSize, 0);
    assert.ok(r.afterCk.revertWalSize > 0 && r.afterCk.revertWalSize < 64 * 1024, `revert store ${r.afterCk.revertWalSize} bytes`);
    assert.deepEqual(r.rows, [
      { id: 1, v: 'local' },
      { id: 2000, v: 'remote' },
    ]);
    assert.deepEqual(r.check, { integrity_check: 'ok' });
  });

  test('stats counts pending changes, drops to 0 after push; revision changes after a pull with changes', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'st-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE st(id INTEGER PRIMARY KEY)');
      await a.exec('INSERT INTO st VALUES (1); INSERT INTO st VALUES (2)');
      const pending = (await a.stats()).cdcOperations;
      await a.push();
      const afterPush = await a.stats();
      const b = await window.walsync.connect({ path: 'st-b.db', url, clientName: 'b' });
      const bootStats = await b.stats();
      const revBefore = bootStats.revision;
      const nothing = await b.pull();
      await a.exec('INSERT INTO st VALUES (3)');
      await a.push();
      const something = await b.pull();
      const after = await b.stats();
      await a.close();
      await b.close();
      return { pending, afterPush, revBefore, bootReceived: bootStats.networkReceivedBytes, nothing, something, after };
    }, env.server.url);
    assert.equal(r.pending, 3, 'one CREATE and two INSERTs');
    assert.equal(r.afterPush.cdcOperations, 0);
    assert.ok(r.afterPush.lastPushUnixTime! > 0);
    assert.ok(r.afterPush.networkSentBytes > 0 && r.afterPush.networkReceivedBytes > 0);
    assert.ok(r.bootReceived >= 4096, `the bootstrap's bytes are counted (${r.bootReceived})`);
    assert.equal(r.nothing, false);
    assert.equal(r.something, true);
    assert.notEqual(r.after.revision, r.revBefore);
    assert.ok(r.after.lastPullUnixTime! > 0);
  });
});
