/**
 * Network faults against a real `tursodb --sync-server`, injected by a proxy in front of it
 * (test/support/fault-proxy.ts): unreachable, 401/403, 5xx, resets, truncated and garbled bodies,
 * wrong page sizes, an MVCC / replace-base stream, stalls. For each: the typed error code and a
 * message naming the problem; then the database, its pending changes and its sync metadata are
 * exactly as before; local reads and writes keep working; and once the fault is gone one sync()
 * leaves the server with exactly the expected rows (nothing lost, nothing applied twice).
 *
 * Truncation has two flavours with two codes:
 *   - the connection breaks mid-body (Content-Length not met) → NETWORK_ERROR (retryable);
 *   - the body ends cleanly but in the middle of a message (or a bootstrap misses pages) →
 *     PROTOCOL_ERROR: the server's answer itself is malformed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Database } from '../../src/index.js';
import { launchBrowser, startDevServer, type BrowserSession } from '../../scripts/browser.js';
import { startFaultProxy, type Fault, type FaultProxy, type FaultRule } from '../support/fault-proxy.js';
import { runOnServer, startSyncServer, type SyncServer } from '../../scripts/sync-server.js';

const PAGE = '/test/browser/pages/index.html';
let session: BrowserSession;
let stopDev: () => Promise<void>;
let server: SyncServer;
let proxy: FaultProxy;
let page: Page;

interface State {
  rows: unknown[][];
  tally: unknown[][];
  revision: string | null;
  cdcOperations: number;
  lastPullUnixTime: number | null;
  lastPushUnixTime: number | null;
  integrity: unknown;
}

interface ErrorInfo {
  code: string;
  message: string;
}

declare global {
  interface Window {
    fx: Record<string, Database>;
    fxState: (db: Database) => Promise<State>;
  }
}

before(async () => {
  server = await startSyncServer();
  proxy = await startFaultProxy(server.url);
  const dev = await startDevServer();
  stopDev = () => dev.server.close();
  session = await launchBrowser();
  page = await session.newPage(dev.url + PAGE);
  await page.evaluate(() => {
    window.fx = {};
    window.fxState = async (db) => {
      const stats = await db.stats();
      return {
        rows: await window.kit.dump(db, 'fx'),
        tally: await window.kit.dump(db, 'tally'),
        revision: stats.revision,
        cdcOperations: stats.cdcOperations,
        lastPullUnixTime: stats.lastPullUnixTime,
        lastPushUnixTime: stats.lastPushUnixTime,
        integrity: await db.prepare('PRAGMA integrity_check').get(),
      };
    };
  });
});

after(async () => {
  await session?.close();
  await stopDev?.();
  await proxy?.stop();
  await server?.stop();
});

/** Runs SQL directly on the server (not through the proxy) and returns plain rows. */
async function serverQuery(sql: string): Promise<unknown[][]> {
  return (await runOnServer(server.url, [{ sql }]))[0]!;
}

/** Arms `fault` (or offline mode) for the next matching request, runs `op` on db `name` in the page, returns its error. */
async function faulted(rule: FaultRule | 'offline', name: string, op: 'pull' | 'push' | 'sync'): Promise<ErrorInfo> {
  if (rule === 'offline') await proxy.setOffline(true);
  else proxy.inject(rule);
  try {
    return await page.evaluate(([n, o]) => window.kit.errorOf(() => window.fx[n]![o]()), [name, op] as const);
  } finally {
    assert.equal(proxy.pendingFaults(), 0, 'the fault was applied');
    await proxy.clear();
  }
}

const state = (name: string) => page.evaluate((n) => window.fxState(window.fx[n]!), name);

// ── pull and push of an existing database ───────────────────────────────────────────────────────

interface Expectation {
  code: string;
  message: RegExp;
}
interface FaultCase {
  name: string;
  /** Fault on the next /pull-updates, and what pull() must throw ('ok': the pull must succeed). */
  pull?: { rule: FaultRule | 'offline' } & (Expectation | { code: 'none' });
  /** Fault on the push; `batch` targets the push transaction (the server commits it first for forwarded faults). */
  push?: { fault: Fault | 'offline'; batch?: boolean } & (Expectation | { code: 'none' });
}

const PULL = '/pull-updates';
const PIPE = '/v2/pipeline';
const cases: FaultCase[] = [
  {
    name: 'unreachable server → NETWORK_ERROR',
    pull: { rule: 'offline', code: 'NETWORK_ERROR', message: /could not reach the sync server/ },
    push: { fault: 'offline', code: 'NETWORK_ERROR', message: /could not reach the sync server/ },
  },
  {
    name: 'HTTP 401 → AUTH_FAILED with the body text',
    pull: { rule: { path: PULL, fault: { kind: 'status', status: 401, body: 'token expired' } }, code: 'AUTH_FAILED', message: /HTTP 401.*token expired/ },
    push: { fault: { kind: 'status', status: 401, body: 'token expired' }, code: 'AUTH_FAILED', message: /HTTP 401.*token expired/ },
  },
  {
    name: 'HTTP 403 → AUTH_FAILED',
    pull: { rule: { path: PULL, fault: { kind: 'status', status: 403, body: 'forbidden' } }, code: 'AUTH_FAILED', message: /HTTP 403.*forbidden/ },
    push: { fault: { kind: 'status', status: 403, body: 'forbidden' }, batch: true, code: 'AUTH_FAILED', message: /HTTP 403/ },
  },
  {
    name: 'HTTP 500 → SERVER_ERROR with the body text',
    pull: { rule: { path: PULL, fault: { kind: 'status', status: 500, body: 'Internal Server Error: boom' } }, code: 'SERVER_ERROR', message: /HTTP 500.*boom/ },
    push: { fault: { kind: 'status', status: 500, body: 'Internal Server Error: boom' }, batch: true, code: 'SERVER_ERROR', message: /HTTP 500.*boom/ },
  },
  {
    name: 'HTTP 503 → SERVER_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'status', status: 503, body: 'overloaded' } }, code: 'SERVER_ERROR', message: /HTTP 503.*overloaded/ },
    push: { fault: { kind: 'status', status: 503, body: 'overloaded' }, code: 'SERVER_ERROR', message: /HTTP 503/ },
  },
  {
    name: 'connection reset before the server sees the request → NETWORK_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'reset', when: 'before-forward' } }, code: 'NETWORK_ERROR', message: /sync server/ },
    push: { fault: { kind: 'reset', when: 'before-forward' }, batch: true, code: 'NETWORK_ERROR', message: /sync server/ },
  },
  {
    name: 'response lost after the server handled it (push committed) → NETWORK_ERROR, the retry does not apply it twice',
    pull: { rule: { path: PULL, fault: { kind: 'reset', when: 'after-forward' } }, code: 'NETWORK_ERROR', message: /sync server/ },
    push: { fault: { kind: 'reset', when: 'after-forward' }, batch: true, code: 'NETWORK_ERROR', message: /sync server/ },
  },
  {
    name: 'connection reset after the headers → NETWORK_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'reset', when: 'after-headers' } }, code: 'NETWORK_ERROR', message: /sync server/ },
    push: { fault: { kind: 'reset', when: 'after-headers' }, batch: true, code: 'NETWORK_ERROR', message: /sync server/ },
  },
  {
    name: 'connection breaks mid-body (truncated, Content-Length not met) → NETWORK_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'truncate', bytes: 2000 } }, code: 'NETWORK_ERROR', message: /broke mid-response/ },
    push: { fault: { kind: 'truncate', bytes: 40 }, batch: true, code: 'NETWORK_ERROR', message: /broke mid-response/ },
  },
  {
    name: 'body ends cleanly in the middle of a message (truncated answer) → PROTOCOL_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'truncate', bytes: 2000, clean: true } }, code: 'PROTOCOL_ERROR', message: /truncated/ },
    push: { fault: { kind: 'truncate', bytes: 40, clean: true }, batch: true, code: 'PROTOCOL_ERROR', message: /not valid JSON/ },
  },
  {
    name: 'garbage body (an HTML page) → PROTOCOL_ERROR',
    pull: {
      rule: { path: PULL, fault: { kind: 'garbage', body: '<html><body>Sign in to the Wi-Fi</body></html>', contentType: 'text/html' } },
      code: 'PROTOCOL_ERROR',
      message: /\/pull-updates response is an HTML page \(content-type text\/html\)/,
    },
    push: {
      fault: { kind: 'garbage', body: '<html><body>Sign in to the Wi-Fi</body></html>', contentType: 'text/html' },
      code: 'PROTOCOL_ERROR',
      message: /\/v2\/pipeline response is not valid JSON/,
    },
  },
  {
    name: 'malformed protobuf / JSON of the wrong shape → PROTOCOL_ERROR',
    pull: {
      rule: { path: PULL, fault: { kind: 'garbage', body: Uint8Array.from([0x04, 0x0a, 0xff, 0xff, 0xff]) } },
      code: 'PROTOCOL_ERROR',
      message: /malformed \/pull-updates response/,
    },
    push: { fault: { kind: 'garbage', body: '{"results":[]}' }, batch: true, code: 'PROTOCOL_ERROR', message: /\/v2\/pipeline response has no result/ },
  },
  {
    name: 'an 8192-byte page → PROTOCOL_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'page-size', size: 8192 } }, code: 'PROTOCOL_ERROR', message: /8192-byte page.*4096/ },
  },
  {
    name: 'a 100-byte page → PROTOCOL_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'page-size', size: 100 } }, code: 'PROTOCOL_ERROR', message: /100-byte page/ },
  },
  {
    name: 'a server speaking the MVCC protocol (protocol = 2) → PROTOCOL_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'header', protocol: 2 } }, code: 'PROTOCOL_ERROR', message: /MVCC/ },
  },
  {
    name: 'an MVCC logical-log stream (stream_kind = 1) → PROTOCOL_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'header', streamKind: 1 } }, code: 'PROTOCOL_ERROR', message: /MVCC/ },
  },
  {
    name: 'a replace-base stream (apply_mode = 1) → PROTOCOL_ERROR',
    pull: { rule: { path: PULL, fault: { kind: 'header', applyMode: 1 } }, code: 'PROTOCOL_ERROR', message: /replace-base/ },
  },
  {
    name: 'a stalled answer (1.5 s) is only slow: pull and push succeed',
    pull: { rule: { path: PULL, fault: { kind: 'stall', ms: 1500 } }, code: 'none' },
    push: { fault: { kind: 'stall', ms: 1500 }, batch: true, code: 'none' },
  },
];

describe('faults on pull and push of an existing database', () => {
  /** Every id the server must end with, and how many increments client a made. */
  const expected: string[] = [];
  let increments = 0;

  before(async () => {
    await page.evaluate(
      async ([direct, proxied]) => {
        // w writes straight to the server (never faulted), so each pull of a has pages to bring.
        const w = await window.walsync.connect({ path: 'fx-w.db', url: direct, clientName: 'w' });
        await w.exec("CREATE TABLE fx(id TEXT PRIMARY KEY, v TEXT); CREATE TABLE tally(k TEXT PRIMARY KEY, n INTEGER); INSERT INTO tally VALUES ('a', 0)");
        await w.push();
        // a's updates of tally are pushed as increments: a push applied twice would count twice.
        const transform = (m: { changeType: string; tableName: string; before?: Record<string, unknown>; after?: Record<string, unknown> }) => {
          if (m.tableName !== 'tally' || m.changeType !== 'update') return null;
          return { operation: 'rewrite' as const, stmt: { sql: 'UPDATE tally SET n = n + ? WHERE k = ?', values: [Number(m.after!.n) - Number(m.before!.n), m.after!.k as string] } };
        };
        const a = await window.walsync.connect({ path: 'fx-a.db', url: proxied, clientName: 'a', transform });
        window.fx.w = w;
        window.fx.a = a;
      },
      [server.url, proxy.url] as const,
    );
  });

  after(async () => {
    await page.evaluate(async () => {
      await window.fx.a?.close();
      await window.fx.w?.close();
    });
  });

  cases.forEach((c, i) => {
    test(c.name, async () => {
      const key = `c${i}`;
      // A remote change for a to pull, and local changes of a waiting to be pushed.
      await page.evaluate(async (k) => {
        await window.fx.w!.prepare('INSERT INTO fx VALUES (?, ?)').run(`${k}-w`, 'from w');
        await window.fx.w!.push();
        await window.fx.a!.prepare('INSERT INTO fx VALUES (?, ?)').run(`${k}-a`, 'from a');
        await window.fx.a!.exec("UPDATE tally SET n = n + 1 WHERE k = 'a'");
      }, key);
      expected.push(`${key}-w`, `${key}-a`);
      increments++;

      if (c.pull) {
        const before = await state('a');
        const error = await faulted(c.pull.rule, 'a', 'pull');
        assert.equal(error.code, c.pull.code, `pull: ${error.message}`);
        if (c.pull.code !== 'none') {
          assert.match(error.message, (c.pull as Expectation).message);
          assert.deepEqual(await state('a'), before, 'a failed pull changes nothing');
        }
      }
      // The local database keeps working after (and between) failures.
      await page.evaluate(async (k) => {
        await window.fx.a!.prepare('INSERT INTO fx VALUES (?, ?)').run(`${k}-a2`, 'written after a failure');
        await window.fx.a!.exec("UPDATE tally SET n = n + 1 WHERE k = 'a'");
      }, key);
      expected.push(`${key}-a2`);
      increments++;

      if (c.push) {
        const before = await state('a');
        const rule: FaultRule | 'offline' =
          c.push.fault === 'offline' ? 'offline' : { path: PIPE, fault: c.push.fault, ...(c.push.batch ? { bodyIncludes: 'BEGIN IMMEDIATE' } : {}) };
        const error = await faulted(rule, 'a', 'push');
        assert.equal(error.code, c.push.code, `push: ${error.message}`);
        if (c.push.code !== 'none') {
          assert.match(error.message, (c.push as Expectation).message);
          assert.deepEqual(await state('a'), before, 'a failed push changes nothing locally (its changes are still pending)');
          // Reads and writes still work while the server is failing.
          const during = await page.evaluate(async (k) => {
            await window.fx.a!.prepare('INSERT INTO fx VALUES (?, ?)').run(`${k}-a3`, 'written after a failed push');
            return (await window.fx.a!.prepare('SELECT count(*) AS c FROM fx WHERE id = ?').get(`${k}-a3`))!.c;
          }, key);
          assert.equal(during, 1);
          expected.push(`${key}-a3`);
        }
      }

      // Fault gone: one sync brings everything together, exactly once.
      const synced = await page.evaluate(async () => {
        const error = await window.kit.errorOf(() => window.fx.a!.sync());
        return { error, state: await window.fxState(window.fx.a!) };
      });
      assert.equal(synced.error.code, 'none', synced.error.message);
      const serverIds = (await serverQuery('SELECT id FROM fx ORDER BY id')).map((r) => r[0]);
      assert.deepEqual(serverIds, [...expected].sort(), 'the server has every row exactly once');
      assert.deepEqual(await serverQuery("SELECT n FROM tally WHERE k = 'a'"), [[increments]], 'every increment applied exactly once');
      assert.deepEqual(
        synced.state.rows.map((r) => r[0]),
        serverIds,
        'a sees the same rows as the server',
      );
      assert.deepEqual(synced.state.tally, [['a', increments]]);
      assert.equal(synced.state.cdcOperations, 0);
      assert.deepEqual(synced.state.integrity, { integrity_check: 'ok' });
    });
  });

  test('a server that never answers → NETWORK_ERROR after the default 15 s of silence (timeouts.silenceMs), nothing changed; queued local reads then run', async () => {
    await page.evaluate(async () => {
      await window.fx.a!.prepare('INSERT INTO fx VALUES (?, ?)').run('silent-1', 'x');
    });
    expected.push('silent-1');
    const before = await state('a');
    proxy.inject({ path: PULL, fault: { kind: 'stall', ms: 120_000 } });
    const r = await page.evaluate(async () => {
      const a = window.fx.a!;
      const started = performance.now();
      const pull = window.kit.errorOf(() => a.pull()).then((error) => ({ error, ms: performance.now() - started }));
      await window.kit.sleep(100);
      // Statements queue behind the sync in flight: the timeout is what bounds their wait.
      const read = a.prepare("SELECT count(*) AS c FROM fx WHERE id = 'silent-1'").get().then((row) => ({ row, ms: performance.now() - started }));
      return { pull: await pull, read: await read };
    });
    assert.equal(proxy.pendingFaults(), 0);
    await proxy.clear();
    assert.equal(r.pull.error.code, 'NETWORK_ERROR');
    assert.match(r.pull.error.message, /no answer within 15 s \(timeouts\.silenceMs\)/);
    assert.deepEqual(r.read.row, { c: 1 });
    assert.deepEqual(await state('a'), before);
    const synced = await page.evaluate(() => window.kit.errorOf(() => window.fx.a!.sync()));
    assert.equal(synced.code, 'none', synced.message);
    assert.deepEqual((await serverQuery('SELECT id FROM fx ORDER BY id')).map((row) => row[0]), [...expected].sort());
  });

  test('after a lost push response the server holds the push position, and the retry sends nothing again', async () => {
    await page.evaluate(async () => {
      await window.fx.a!.prepare('INSERT INTO fx VALUES (?, ?)').run('lost-1', 'x');
      await window.fx.a!.exec("UPDATE tally SET n = n + 1 WHERE k = 'a'");
    });
    expected.push('lost-1');
    increments++;
    const pending = (await state('a')).cdcOperations;
    const error = await faulted({ path: PIPE, fault: { kind: 'reset', when: 'after-forward' }, bodyIncludes: 'BEGIN IMMEDIATE' }, 'a', 'push');
    assert.equal(error.code, 'NETWORK_ERROR');
    // The server did commit it (the answer was lost on the way back).
    assert.deepEqual(await serverQuery("SELECT id FROM fx WHERE id = 'lost-1'"), [['lost-1']]);
    assert.deepEqual(await serverQuery("SELECT n FROM tally WHERE k = 'a'"), [[increments]]);
    assert.equal((await state('a')).cdcOperations, pending, 'locally the changes still count as pending');
    const batchesBefore = proxy.requests.filter((r) => r.path === PIPE).length;
    const retry = await page.evaluate(() => window.kit.errorOf(() => window.fx.a!.push()));
    assert.equal(retry.code, 'none', retry.message);
    // Only the high-water read: the mark says everything is there, so no push transaction is sent.
    assert.equal(proxy.requests.filter((r) => r.path === PIPE).length - batchesBefore, 1);
    assert.deepEqual(await serverQuery("SELECT n FROM tally WHERE k = 'a'"), [[increments]]);
    assert.equal((await state('a')).cdcOperations, 0);
  });
});

// ── bootstrap on first connect ──────────────────────────────────────────────────────────────────

interface BootCase {
  name: string;
  fault: Fault | 'offline';
  /** 'offline': connect succeeds as an empty local database (offline-first start). Otherwise the error connect() throws. */
  outcome: 'offline' | Expectation;
}

const bootCases: BootCase[] = [
  { name: 'unreachable → opens offline, empty, and works locally', fault: 'offline', outcome: 'offline' },
  { name: 'reset after the headers → opens offline', fault: { kind: 'reset', when: 'after-headers' }, outcome: 'offline' },
  { name: 'connection breaks mid-body → opens offline', fault: { kind: 'truncate', bytes: 6000 }, outcome: 'offline' },
  { name: 'HTTP 401 → connect fails with AUTH_FAILED', fault: { kind: 'status', status: 401, body: 'bad token' }, outcome: { code: 'AUTH_FAILED', message: /HTTP 401.*bad token/ } },
  { name: 'HTTP 500 → connect fails with SERVER_ERROR', fault: { kind: 'status', status: 500, body: 'boom' }, outcome: { code: 'SERVER_ERROR', message: /HTTP 500.*boom/ } },
  {
    name: 'body ends cleanly mid-message → connect fails with PROTOCOL_ERROR',
    fault: { kind: 'truncate', bytes: 6000, clean: true },
    outcome: { code: 'PROTOCOL_ERROR', message: /truncated/ },
  },
  {
    name: 'body ends cleanly after 2 of the pages (a short bootstrap) → connect fails with PROTOCOL_ERROR',
    fault: { kind: 'truncate', messages: 3, clean: true },
    outcome: { code: 'PROTOCOL_ERROR', message: /bootstrap.*pages/ },
  },
  { name: 'garbage body → connect fails with PROTOCOL_ERROR', fault: { kind: 'garbage', body: Uint8Array.from([0x04, 0x0a, 0xff, 0xff, 0xff]) }, outcome: { code: 'PROTOCOL_ERROR', message: /malformed/ } },
  { name: 'a 100-byte page → connect fails with PROTOCOL_ERROR', fault: { kind: 'page-size', size: 100, page: 1 }, outcome: { code: 'PROTOCOL_ERROR', message: /100-byte page/ } },
  { name: 'an MVCC server (protocol = 2) → connect fails with PROTOCOL_ERROR', fault: { kind: 'header', protocol: 2 }, outcome: { code: 'PROTOCOL_ERROR', message: /MVCC/ } },
];

describe('faults during the bootstrap of the first connect', () => {
  before(async () => {
    await page.evaluate(async (direct) => {
      const s = await window.walsync.connect({ path: 'boot-seed.db', url: direct, clientName: 'seed' });
      await s.exec("CREATE TABLE IF NOT EXISTS boot(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO boot VALUES (1, 'one'), (2, 'two')");
      await s.push();
      await s.close();
    }, server.url);
  });

  bootCases.forEach((c, i) => {
    test(c.name, async () => {
      const path = `boot-${i}.db`;
      if (c.fault === 'offline') await proxy.setOffline(true);
      else proxy.inject({ path: PULL, fault: c.fault });
      const first = await page.evaluate(
        async ([p, url]) => {
          const error = await window.kit.errorOf(async () => {
            window.fx[p] = await window.walsync.connect({ path: p, url, clientName: 'boot' });
          });
          const db = window.fx[p];
          if (!db) return { error, tables: null, revision: null };
          const tables = await db.prepare("SELECT count(*) AS c FROM sqlite_schema WHERE name = 'boot'").get();
          return { error, tables: tables!.c, revision: (await db.stats()).revision };
        },
        [path, proxy.url] as const,
      );
      assert.equal(proxy.pendingFaults(), 0, 'the fault was applied');
      await proxy.clear();
      const serverRows = await serverQuery('SELECT * FROM boot ORDER BY id');

      if (c.outcome === 'offline') {
        assert.equal(first.error.code, 'none', first.error.message);
        assert.equal(first.tables, 0, 'nothing of the server yet');
        assert.equal(first.revision, null);
        // Offline-first: it works locally, and the first sync brings the server's data and sends its own.
        const r = await page.evaluate(async ([p, table]) => {
          const db = window.fx[p]!;
          await db.exec(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY); INSERT INTO ${table} VALUES (7)`);
          const error = await window.kit.errorOf(() => db.sync());
          const result = { error, boot: await window.kit.dump(db, 'boot'), own: await window.kit.dump(db, table), revision: (await db.stats()).revision };
          await db.close();
          return result;
        }, [path, `offline_${i}`] as const);
        assert.equal(r.error.code, 'none', r.error.message);
        assert.deepEqual(r.boot, serverRows);
        assert.deepEqual(r.own, [[7]]);
        assert.notEqual(r.revision, null);
        assert.deepEqual(await serverQuery(`SELECT * FROM offline_${i}`), [[7]]);
        return;
      }

      assert.equal(first.error.code, c.outcome.code, first.error.message);
      assert.match(first.error.message, c.outcome.message);
      // Fault gone: connecting again bootstraps normally.
      const again = await page.evaluate(
        async ([p, url]) => {
          const error = await window.kit.errorOf(async () => {
            window.fx[p] = await window.walsync.connect({ path: p, url, clientName: 'boot' });
          });
          const db = window.fx[p];
          if (!db) return { error, rows: null, revision: null, integrity: null };
          const result = {
            error,
            rows: await window.kit.dump(db, 'boot'),
            revision: (await db.stats()).revision,
            integrity: await db.prepare('PRAGMA integrity_check').get(),
          };
          await db.close();
          return result;
        },
        [path, proxy.url] as const,
      );
      assert.equal(again.error.code, 'none', again.error.message);
      assert.deepEqual(again.rows, serverRows);
      assert.notEqual(again.revision, null);
      assert.deepEqual(again.integrity, { integrity_check: 'ok' });
    });
  });
});
