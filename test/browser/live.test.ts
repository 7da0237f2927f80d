/**
 * Live database against a real `tursodb --sync-server`: table change notices, live queries
 * (watch), sync status and the background sync loop.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSyncServer } from '../../scripts/sync-server.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

/** Runs statements on the server directly (one Hrana batch), not through a client. */
async function serverExec(url: string, statements: string[]): Promise<void> {
  const response = await fetch(`${url}/v2/pipeline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      baton: null,
      requests: statements.map((sql) => ({ type: 'execute', stmt: { sql, args: [], named_args: [], want_rows: false } })),
    }),
  });
  const body = (await response.json()) as { results: { type: string; error?: unknown }[] };
  const failed = body.results.find((result) => result.type !== 'ok');
  if (!response.ok || failed) throw new Error(`server statements failed: ${response.status} ${JSON.stringify(failed?.error)}`);
}

describe('table change notices and watch', () => {
  test('one notice per transaction and per batch, at COMMIT, none for a rollback; DDL and WITHOUT ROWID tables count', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'notice.db' });
      const notices: string[][] = [];
      const stop = db.onTablesChanged((tables, source) => notices.push([source, ...[...tables].sort()]));
      await db.exec('CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; CREATE TABLE c(x)');
      const afterDdl = notices.length;
      notices.length = 0;
      let insideTx = -1;
      await db.transaction(async (tx) => {
        await tx.exec("INSERT INTO a(v) VALUES ('1')");
        await tx.exec("INSERT INTO a(v) VALUES ('2')");
        await tx.exec("INSERT INTO b VALUES ('k', 'v')");
        await window.kit.sleep(50);
        insideTx = notices.length;
      })();
      const afterCommit = notices.slice();
      notices.length = 0;
      await db
        .transaction(async (tx) => {
          await tx.exec("INSERT INTO c VALUES ('rolled back')");
          throw new Error('no');
        })()
        .catch(() => undefined);
      await db.batch(["INSERT INTO a(v) VALUES ('x')", "INSERT INTO a(v) VALUES ('y')", "UPDATE b SET v = 'w'"]);
      await db.prepare('SELECT * FROM a').all();
      await db.exec("UPDATE a SET v = v WHERE id = -1");
      const afterBatch = notices.slice();
      stop();
      await db.exec("INSERT INTO a(v) VALUES ('after stop')");
      const afterStop = notices.length;
      await db.close();
      return { afterDdl, insideTx, afterCommit, afterBatch, afterStop };
    });
    assert.ok(r.afterDdl >= 1, 'a schema change is a change');
    assert.equal(r.insideTx, 0, 'nothing before COMMIT');
    assert.deepEqual(r.afterCommit, [['local', 'a', 'b']]);
    assert.deepEqual(r.afterBatch, [['local', 'a', 'b']], 'one notice for the batch, none for the rollback, reads or no-op writes');
    assert.equal(r.afterStop, 1);
  });

  test('a watch delivers at once, once per transaction, not when a write leaves its result alone; the iterable form', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'watch.db' });
      await db.exec('CREATE TABLE w(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE other(x)');
      const seen: unknown[] = [];
      const until = async (n: number) => {
        for (let i = 0; i < 400 && seen.length < n; i++) await window.kit.sleep(25);
      };
      const stop = db.watch('SELECT id, v FROM w WHERE id < ? ORDER BY id', [10], (rows) => seen.push(rows));
      await until(1);
      await db.transaction(async (tx) => {
        for (let i = 1; i <= 3; i++) await tx.prepare('INSERT INTO w VALUES (?, ?)').run(i, `v${i}`);
      })();
      await until(2);
      await db.exec("INSERT INTO w VALUES (100, 'outside the filter'); INSERT INTO other VALUES (1)");
      await db.exec("UPDATE w SET v = v WHERE id = 1");
      await db.exec("UPDATE w SET v = 'changed' WHERE id = 2");
      await until(3);
      await window.kit.sleep(200);
      stop();
      await db.exec("DELETE FROM w");
      await window.kit.sleep(200);

      const iterated: unknown[] = [];
      const iterate = (async () => {
        for await (const rows of db.watch('SELECT count(*) AS n FROM w')) {
          iterated.push(rows);
          if (iterated.length === 1) await db.exec("INSERT INTO w VALUES (1, 'again')");
          if (iterated.length === 2) break;
        }
      })();
      await iterate;
      await db.close();
      return { seen, iterated };
    });
    assert.deepEqual(r.seen, [
      [],
      [
        { id: 1, v: 'v1' },
        { id: 2, v: 'v2' },
        { id: 3, v: 'v3' },
      ],
      [
        { id: 1, v: 'v1' },
        { id: 2, v: 'changed' },
        { id: 3, v: 'v3' },
      ],
    ]);
    assert.deepEqual(r.iterated, [[{ n: 0 }], [{ n: 1 }]]);
  });

  test('a watch follows a view redefined over another table (what a query reads is learnt again after a schema change)', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'watch-view.db' });
      await db.exec('CREATE TABLE va(x); CREATE TABLE vb(x); CREATE VIEW v AS SELECT x FROM va');
      const seen: unknown[] = [];
      const until = async (n: number) => {
        for (let i = 0; i < 400 && seen.length < n; i++) await window.kit.sleep(25);
      };
      const stop = db.watch('SELECT x FROM v ORDER BY x', [], (rows) => seen.push(rows.map((row) => row.x)));
      await until(1);
      await db.exec('INSERT INTO va VALUES (1)');
      await until(2);
      await db.exec('DROP VIEW v; CREATE VIEW v AS SELECT x FROM vb');
      await until(3);
      await db.exec('INSERT INTO vb VALUES (2)');
      await until(4);
      stop();
      await db.close();
      return seen;
    });
    assert.deepEqual(r, [[], [1], [], [2]]);
  });

  test('a watch waits for an open transaction to end instead of joining it', async () => {
    const r = await env.page.evaluate(async () => {
      const db = await window.walsync.connect({ path: 'watch-tx.db' });
      await db.exec('CREATE TABLE t(x)');
      const seen: unknown[] = [];
      let seenInside = -1;
      await db.transaction(async (tx) => {
        await tx.exec('INSERT INTO t VALUES (1)');
        db.watch('SELECT count(*) AS n FROM t', [], (rows) => seen.push(rows));
        await window.kit.sleep(300);
        seenInside = seen.length;
        await tx.exec('INSERT INTO t VALUES (2)');
      })();
      for (let i = 0; i < 400 && seen.length < 1; i++) await window.kit.sleep(25);
      await window.kit.sleep(100);
      await db.close();
      return { seen, seenInside };
    });
    assert.equal(r.seenInside, 0);
    assert.deepEqual(r.seen, [[{ n: 2 }]]);
  });

  test('a watch re-runs after a pull brings another client’s change; bad queries reach onError', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'watch-pull-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)');
      await a.push();
      const b = await window.walsync.connect({ path: 'watch-pull-b.db', url, clientName: 'b' });
      const seen: unknown[] = [];
      const sources: string[] = [];
      a.onTablesChanged((_t, source) => sources.push(source));
      a.watch('SELECT name FROM items ORDER BY id', [], (rows) => seen.push(rows));
      for (let i = 0; i < 400 && seen.length < 1; i++) await window.kit.sleep(25);
      await b.prepare('INSERT INTO items VALUES (?, ?)').run(1, 'from b');
      await b.push();
      const changed = await a.pull();
      for (let i = 0; i < 400 && seen.length < 2; i++) await window.kit.sleep(25);
      const errors: string[] = [];
      a.watch('SELECT * FROM missing', [], () => undefined, { onError: (e) => errors.push(e.code + ': ' + e.message) });
      const writing = await window.kit.errorOf(async () => a.watch('DELETE FROM items', [])[Symbol.asyncIterator]().next());
      for (let i = 0; i < 400 && errors.length < 1; i++) await window.kit.sleep(25);
      await a.close();
      await b.close();
      return { seen, changed, sources, errors, writing };
    }, env.server.url);
    assert.equal(r.changed, true);
    assert.deepEqual(r.seen, [[], [{ name: 'from b' }]]);
    assert.ok(r.sources.includes('pull'), r.sources.join());
    assert.match(r.errors[0] ?? '', /^SQLITE_ERROR: no such table: missing/);
    assert.equal(r.writing.code, 'INVALID_ARGUMENT');
  });
});

describe('sync status', () => {
  test('a sync reports uploading then downloading, each ended, with times, pending count and revision', async () => {
    const r = await env.page.evaluate(async (url) => {
      const db = await window.walsync.connect({ path: 'status-sync.db', url, clientName: 'status' });
      await db.exec('CREATE TABLE s(id INTEGER PRIMARY KEY)');
      const events: string[] = [];
      const snapshots: unknown[] = [];
      const stop = db.onSyncStatus((st) => {
        snapshots.push(st);
        if (st.uploading && events.at(-1) !== 'up') events.push('up');
        if (!st.uploading && events.at(-1) === 'up') events.push('up done');
        if (st.downloading && events.at(-1) !== 'down') events.push('down');
        if (!st.downloading && events.at(-1) === 'down') events.push('down done');
      });
      await db.exec('INSERT INTO s VALUES (1); INSERT INTO s VALUES (2)');
      for (let i = 0; i < 400 && db.syncStatus.pendingChanges < 3; i++) await window.kit.sleep(25);
      const pendingBefore = db.syncStatus.pendingChanges;
      await db.sync();
      for (let i = 0; i < 400 && db.syncStatus.pendingChanges !== 0; i++) await window.kit.sleep(25);
      const after = db.syncStatus;
      stop();
      const frozen = Object.isFrozen(after);
      await db.close();
      return {
        events,
        pendingBefore,
        after: { ...after, lastError: after.lastError?.code ?? null },
        frozen,
        sameWhileUnchanged: snapshots.length > 0,
      };
    }, env.server.url);
    assert.deepEqual(r.events, ['up', 'up done', 'down', 'down done']);
    assert.ok(r.pendingBefore >= 3, `pending ${r.pendingBefore}`);
    assert.equal(r.after.pendingChanges, 0);
    assert.equal(r.after.connection, 'connected');
    assert.equal(r.after.uploading, false);
    assert.equal(r.after.downloading, false);
    assert.equal(r.after.lastError, null);
    assert.equal(typeof r.after.lastPushAt, 'number');
    assert.equal(typeof r.after.lastPullAt, 'number');
    assert.equal(typeof r.after.revision, 'string');
    assert.equal(r.after.bootstrapped, true);
    assert.ok(r.frozen);
  });

  test('a failed pull reports its typed error and offline; a paused url reports paused', async () => {
    const r = await env.page.evaluate(async (url) => {
      let current: string | null = url;
      const db = await window.walsync.connect({ path: 'status-fail.db', url: () => current, clientName: 'status' });
      await db.pull();
      current = 'http://127.0.0.1:9'; // nothing listens there
      const failed = await window.kit.errorOf(() => db.pull());
      const afterFailure = { connection: db.syncStatus.connection, error: db.syncStatus.lastError?.code, downloading: db.syncStatus.downloading };
      current = null;
      await window.kit.errorOf(() => db.push());
      const paused = db.syncStatus.connection;
      await db.close();
      return { failed: failed.code, afterFailure, paused };
    }, env.server.url);
    assert.equal(r.failed, 'NETWORK_ERROR');
    assert.deepEqual(r.afterFailure, { connection: 'offline', error: 'NETWORK_ERROR', downloading: false });
    assert.equal(r.paused, 'paused');
  });
  test('closing a database removes the online/offline listeners its status added to the window', async () => {
    const r = await env.page.evaluate(async (url) => {
      // Counts the window's online/offline listeners added and removed meanwhile.
      const live = { online: 0, offline: 0 };
      const add = window.addEventListener;
      const remove = window.removeEventListener;
      window.addEventListener = function (this: Window, type: string, ...rest: unknown[]) {
        if (type === 'online' || type === 'offline') live[type]++;
        return (add as (...a: unknown[]) => void).call(this, type, ...rest);
      } as typeof window.addEventListener;
      window.removeEventListener = function (this: Window, type: string, ...rest: unknown[]) {
        if (type === 'online' || type === 'offline') live[type]--;
        return (remove as (...a: unknown[]) => void).call(this, type, ...rest);
      } as typeof window.removeEventListener;
      const whileOpen: number[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const db = await window.walsync.connect({ path: `status-leak-${i}.db`, url, clientName: 'leak' });
          await db.pull();
          const stop = db.onSyncStatus(() => undefined);
          whileOpen.push(live.online);
          stop();
          await db.close();
          void db.syncStatus; // read after close: must not add listeners again
        }
      } finally {
        window.addEventListener = add;
        window.removeEventListener = remove;
      }
      return { whileOpen, after: { ...live } };
    }, env.server.url);
    assert.deepEqual(r.whileOpen, [1, 1, 1], 'one online listener per open database');
    assert.deepEqual(r.after, { online: 0, offline: 0 }, 'none left once every database is closed');
  });
});

describe('progress', () => {
  test('a push reports changes sent of total, a bootstrapping pull the bytes received, both through the status', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'progress-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE prog(id INTEGER PRIMARY KEY, body TEXT)');
      await a.transaction(async (tx) => {
        const insert = tx.prepare('INSERT INTO prog VALUES (?, ?)');
        for (let i = 0; i < 3000; i++) await insert.run(i, 'x'.repeat(100));
      })();
      const uploads: { sent: number; total: number }[] = [];
      a.onSyncStatus((st) => st.upload && uploads.push({ sent: st.upload.sentChanges, total: st.upload.totalChanges }));
      await a.push();
      const b = await window.walsync.connect({ path: 'progress-b.db', url, clientName: 'b', bootstrapIfEmpty: false });
      const downloads: number[] = [];
      b.onSyncStatus((st) => st.download && downloads.push(st.download.receivedBytes));
      await b.pull();
      const rows = await b.prepare('SELECT count(*) AS n FROM prog').get();
      const after = { upload: a.syncStatus.upload, download: b.syncStatus.download };
      await a.close();
      await b.close();
      return { uploads, downloads, rows, after };
    }, env.server.url);
    assert.deepEqual(r.rows, { n: 3000 });
    assert.ok(r.uploads.length >= 2, JSON.stringify(r.uploads));
    const last = r.uploads.at(-1)!;
    assert.ok(last.total >= 3001 && last.sent === last.total, JSON.stringify(last));
    assert.equal(r.uploads[0]!.total, last.total);
    for (let i = 1; i < r.uploads.length; i++) assert.ok(r.uploads[i]!.sent >= r.uploads[i - 1]!.sent);
    assert.ok(r.downloads.length >= 1 && r.downloads.at(-1)! > 300_000, JSON.stringify(r.downloads));
    for (let i = 1; i < r.downloads.length; i++) assert.ok(r.downloads[i]! > r.downloads[i - 1]!);
    assert.deepEqual(r.after, { upload: null, download: null }, 'progress is cleared when the sync ends');
  });
  test('connect({ onSyncStatus }) shows the first bootstrap downloading, up to the database size, before connect() resolves', async () => {
    // A server of its own: the other tests' bootstraps stay small.
    const big = await startSyncServer();
    try {
      await serverExec(big.url, [
        'CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT)',
        // ~4 MB: about 1000 pages, several progress reports (one per 256 pages).
        "INSERT INTO big SELECT x, hex(randomblob(500)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000) SELECT x FROM c)",
      ]);
      const r = await env.page.evaluate(async (url) => {
        const seen: { downloading: boolean; received: number | null; total: number | null; bootstrapped: boolean; connection: string }[] = [];
        const db = await window.walsync.connect({
          path: 'boot-progress.db',
          url,
          clientName: 'boot',
          onSyncStatus: (st) =>
            seen.push({
              downloading: st.downloading,
              received: st.download?.receivedBytes ?? null,
              total: st.download?.totalBytes ?? null,
              bootstrapped: st.bootstrapped,
              connection: st.connection,
            }),
        });
        const atResolve = seen.length;
        for (let i = 0; i < 400 && !db.syncStatus.bootstrapped; i++) await window.kit.sleep(25);
        const rows = await db.prepare('SELECT count(*) AS n FROM big').get();
        // A second connect of the same database downloads nothing.
        const again: boolean[] = [];
        await db.close();
        const reopened = await window.walsync.connect({ path: 'boot-progress.db', url, clientName: 'boot', onSyncStatus: (st) => again.push(st.downloading) });
        await reopened.close();
        return { seen, atResolve, rows, again };
      }, big.url);
      assert.deepEqual(r.rows, { n: 4000 });
      const downloads = r.seen.filter((s) => s.downloading);
      assert.ok(downloads.length >= 4, `several progress reports: ${JSON.stringify(downloads)}`);
      assert.equal(r.atResolve, downloads.length + 1, 'every download report came before connect() resolved, then the status as it is');
      assert.deepEqual(r.seen.slice(0, downloads.length), downloads, 'downloads first');
      const total = downloads[0]!.total!;
      assert.ok(total >= 4_000_000, `total ${total}`);
      assert.equal(total % 4096, 0);
      assert.equal(downloads[0]!.received, 0);
      for (let i = 1; i < downloads.length; i++) {
        assert.ok(downloads[i]!.received! > downloads[i - 1]!.received!, 'bytes received only grow');
        assert.equal(downloads[i]!.total, total, 'the total stays the same');
      }
      assert.equal(downloads.at(-1)!.received, total, 'progress reaches the total');
      assert.ok(downloads.every((s) => s.connection === 'connected'));
      const afterwards = r.seen.slice(downloads.length);
      assert.deepEqual(afterwards[0], { downloading: false, received: null, total: null, bootstrapped: afterwards[0]!.bootstrapped, connection: 'connected' });
      assert.equal(afterwards.at(-1)!.bootstrapped, true);
      assert.ok(!r.again.includes(true), 'no download on a later connect');
    } finally {
      await big.stop();
    }
  });
});

describe('background sync', () => {
  test('pushes a local commit and pulls another client’s change, eventually', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'loop-a.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE loop_t(id INTEGER PRIMARY KEY, who TEXT)');
      await a.push();
      const b = await window.walsync.connect({ path: 'loop-b.db', url, clientName: 'b' });
      a.startSync({ intervalMs: 200 });
      b.startSync({ intervalMs: 200 });
      const seenByB: unknown[] = [];
      b.watch('SELECT id, who FROM loop_t ORDER BY id', [], (rows) => seenByB.push(rows));
      const seenByA: unknown[] = [];
      a.watch('SELECT id, who FROM loop_t ORDER BY id', [], (rows) => seenByA.push(rows));
      await a.prepare('INSERT INTO loop_t VALUES (?, ?)').run(1, 'a');
      await b.prepare('INSERT INTO loop_t VALUES (?, ?)').run(2, 'b');
      const both = JSON.stringify([{ id: 1, who: 'a' }, { id: 2, who: 'b' }]);
      for (let i = 0; i < 1200; i++) {
        if (JSON.stringify(seenByA.at(-1)) === both && JSON.stringify(seenByB.at(-1)) === both) break;
        await window.kit.sleep(25);
      }
      const result = { a: seenByA.at(-1), b: seenByB.at(-1), loopA: a.syncStatus.loop, pendingA: a.syncStatus.pendingChanges };
      await a.close();
      await b.close();
      return { ...result, afterClose: a.syncStatus.loop };
    }, env.server.url);
    assert.deepEqual(r.a, [{ id: 1, who: 'a' }, { id: 2, who: 'b' }]);
    assert.deepEqual(r.b, r.a);
    assert.equal(r.loopA, 'running');
    assert.equal(r.afterClose, 'off', 'close() stops the loop');
  });

  test('pushes a commit on its own, without waiting for the next pull round', async () => {
    const r = await env.page.evaluate(async (url) => {
      const a = await window.walsync.connect({ path: 'loop-push.db', url, clientName: 'a' });
      await a.exec('CREATE TABLE loop_push(id INTEGER PRIMARY KEY)');
      // Pulls every 10 minutes: only the commit can bring a push before then.
      a.startSync({ intervalMs: 600_000, pushDelayMs: 50 });
      for (let i = 0; i < 1200 && (a.syncStatus.lastPullAt === null || a.syncStatus.pendingChanges !== 0); i++) await window.kit.sleep(25);
      const pullsBefore = a.syncStatus.lastPullAt;
      const pushesBefore = a.syncStatus.lastPushAt;
      await a.prepare('INSERT INTO loop_push VALUES (?)').run(1);
      const committed = Date.now();
      for (let i = 0; i < 1200 && a.syncStatus.lastPushAt === pushesBefore; i++) await window.kit.sleep(10);
      const pushedAfterMs = (a.syncStatus.lastPushAt ?? 0) - committed;
      const afterPush = { pushed: a.syncStatus.lastPushAt !== pushesBefore, pulledAgain: a.syncStatus.lastPullAt !== pullsBefore };
      await a.close();
      // The server has it: a fresh client bootstraps the row.
      const b = await window.walsync.connect({ path: 'loop-push-check.db', url, clientName: 'b' });
      const rows = await window.kit.dump(b, 'loop_push');
      await b.close();
      return { afterPush, pushedAfterMs, rows };
    }, env.server.url);
    assert.deepEqual(r.afterPush, { pushed: true, pulledAgain: false }, 'the commit brought a push, and no pull round came with it');
    assert.deepEqual(r.rows, [[1]]);
    // Informative only (timing is the benchmark's job): how long after the commit the push ended.
    console.log(`  # the loop's push ended ${r.pushedAfterMs} ms after the commit`);
  });

  test('backs off on 5xx and connection resets and recovers once the server answers again', async () => {
    const proxy = await startFaultProxy(env.server.url);
    try {
      proxy.inject({ path: '/pull-updates', fault: { kind: 'status', status: 503, body: 'down for a moment' }, times: 3 });
      proxy.inject({ path: '/pull-updates', fault: { kind: 'reset', when: 'before-forward' }, times: 2 });
      const r = await env.page.evaluate(async (url) => {
        const db = await window.walsync.connect({ path: 'loop-5xx.db', url, clientName: 'backoff', bootstrapIfEmpty: false });
        const loops: string[] = [];
        const errors: string[] = [];
        db.onSyncStatus((st) => {
          if (loops.at(-1) !== st.loop) loops.push(st.loop);
          if (st.lastError && errors.at(-1) !== st.lastError.code) errors.push(st.lastError.code);
        });
        db.startSync({ intervalMs: 200, retryInitialMs: 50, retryMaxMs: 400 });
        for (let i = 0; i < 1200 && !(db.syncStatus.lastPullAt !== null && db.syncStatus.loop === 'running'); i++) await window.kit.sleep(25);
        const final = { loop: db.syncStatus.loop, lastError: db.syncStatus.lastError, bootstrapped: db.syncStatus.bootstrapped, connection: db.syncStatus.connection };
        await db.close();
        return { loops, errors, final };
      }, proxy.url);
      assert.equal(proxy.pendingFaults(), 0, 'every fault was met');
      assert.deepEqual(r.errors, ['SERVER_ERROR', 'NETWORK_ERROR']);
      assert.ok(r.loops.includes('retrying'), r.loops.join());
      assert.deepEqual(r.final, { loop: 'running', lastError: null, bootstrapped: true, connection: 'connected' });
      assert.equal(proxy.requests.filter((q) => q.path === '/pull-updates').length, 6, 'five failures, then the pull that worked');
    } finally {
      await proxy.stop();
    }
  });

  test('stops on AUTH_FAILED after asking the token function again, saying why', async () => {
    const proxy = await startFaultProxy(env.server.url);
    try {
      proxy.inject({ path: '/pull-updates', fault: { kind: 'status', status: 401, body: 'bad token' }, times: 50 });
      const r = await env.page.evaluate(async (url) => {
        let asked = 0;
        const db = await window.walsync.connect({
          path: 'loop-auth.db',
          url,
          clientName: 'auth',
          bootstrapIfEmpty: false,
          authToken: () => {
            asked++;
            return null as unknown as string;
          },
        });
        asked = 0;
        db.startSync({ intervalMs: 100, retryInitialMs: 20, retryMaxMs: 50 });
        for (let i = 0; i < 1200 && db.syncStatus.loop !== 'stopped'; i++) await window.kit.sleep(25);
        const status = { loop: db.syncStatus.loop, error: db.syncStatus.lastError?.code };
        const askedWhenStopped = asked;
        await window.kit.sleep(500);
        const askedLater = asked;
        await db.close();
        return { status, askedWhenStopped, askedLater };
      }, proxy.url);
      assert.deepEqual(r.status, { loop: 'stopped', error: 'AUTH_FAILED' });
      const pulls = proxy.requests.filter((q) => q.path === '/pull-updates');
      assert.equal(pulls.length, 2, 'the first try and one retry (with the token asked again)');
      assert.ok(r.askedWhenStopped >= 2);
      assert.equal(r.askedLater, r.askedWhenStopped, 'a stopped loop tries no more');
    } finally {
      await proxy.stop();
    }
  });

  test('stops on SERVER_RESET, saying why', async () => {
    const second = await startSyncServer();
    try {
      const r = await env.page.evaluate(
        async ({ first, second }) => {
          let current = first;
          const db = await window.walsync.connect({ path: 'loop-reset.db', url: () => current, clientName: 'reset' });
          await db.exec("CREATE TABLE loop_reset(id INTEGER PRIMARY KEY); INSERT INTO loop_reset VALUES (1)");
          await db.sync();
          current = second; // a fresh server: the database we synced with is gone
          db.startSync({ intervalMs: 100, retryInitialMs: 20 });
          for (let i = 0; i < 1200 && db.syncStatus.loop !== 'stopped'; i++) await window.kit.sleep(25);
          const status = { loop: db.syncStatus.loop, error: db.syncStatus.lastError?.code };
          const rows = await window.kit.dump(db, 'loop_reset');
          await db.close();
          return { status, rows };
        },
        { first: env.server.url, second: second.url },
      );
      assert.deepEqual(r.status, { loop: 'stopped', error: 'SERVER_RESET' });
      assert.deepEqual(r.rows, [[1]]);
    } finally {
      await second.stop();
    }
  });

  test('pauses while the browser is offline and syncs as soon as it is back online, with the status in order', async () => {
    const r = await env.page.evaluate(async (url) => {
      const db = await window.walsync.connect({ path: 'loop-offline.db', url, clientName: 'offline' });
      await db.exec('CREATE TABLE off_t(id INTEGER PRIMARY KEY)');
      const connections: string[] = [];
      db.onSyncStatus((st) => {
        if (connections.at(-1) !== st.connection) connections.push(st.connection);
      });
      // Long interval: only the `online` event can bring the next sync soon.
      db.startSync({ intervalMs: 600_000, pushDelayMs: 0 });
      // The first round (push, then pull) must be over before going offline.
      for (let i = 0; i < 1200 && db.syncStatus.lastPullAt === null; i++) await window.kit.sleep(25);
      window.dispatchEvent(new Event('offline'));
      await db.exec('INSERT INTO off_t VALUES (1)');
      await window.kit.sleep(500);
      const whileOffline = { pending: db.syncStatus.pendingChanges, connection: db.syncStatus.connection };
      window.dispatchEvent(new Event('online'));
      for (let i = 0; i < 1200 && db.syncStatus.pendingChanges !== 0; i++) await window.kit.sleep(25);
      const after = { pending: db.syncStatus.pendingChanges, connection: db.syncStatus.connection };
      await db.close();
      return { whileOffline, after, connections };
    }, env.server.url);
    assert.deepEqual(r.whileOffline, { pending: 1, connection: 'offline' });
    assert.deepEqual(r.after, { pending: 0, connection: 'connected' });
    const tail = r.connections.slice(r.connections.indexOf('offline'));
    assert.deepEqual(tail, ['offline', 'unknown', 'connected']);
  });
});
