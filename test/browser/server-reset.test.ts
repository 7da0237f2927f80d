/**
 * A synced database and the servers it meets, against real `tursodb --sync-server`s: opened without
 * a url it still records its changes; a server that was reset or replaced (behind or ahead of our
 * revision, with or without our tables, after a push or a push and a pull) is refused with
 * SERVER_RESET on pull and on push, before anything changes on either side; resetSync() recovers
 * with no local row lost; deleteDatabase() removes a closed database and refuses an open one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSyncServer, type SyncServer } from '../../scripts/sync-server.js';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

describe('a synced database opened without a url', () => {
  test('keeps recording its changes, and the next connect with a url pushes them', async () => {
    const r = await env.page.evaluate(async (url) => {
      const path = 'nourl.db';
      const first = await window.walsync.connect({ path, url, clientName: 'nourl' });
      await first.exec("CREATE TABLE nourl(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO nourl VALUES (1, 'synced')");
      await first.sync();
      await first.close();

      const local = await window.walsync.connect({ path });
      await local.exec("INSERT INTO nourl VALUES (2, 'written without url')");
      const pendingLocal = (await local.stats()).cdcOperations;
      const pushError = await window.kit.errorOf(() => local.push());
      const pullError = await window.kit.errorOf(() => local.pull());
      await local.close();

      const again = await window.walsync.connect({ path, url, clientName: 'nourl' });
      const pending = (await again.stats()).cdcOperations;
      await again.sync();
      const rows = await window.kit.dump(again, 'nourl');
      await again.close();
      const fresh = await window.walsync.connect({ path: 'nourl-check.db', url, clientName: 'check' });
      const server = await window.kit.dump(fresh, 'nourl');
      await fresh.close();
      return { pendingLocal, pushError: pushError.code, pullError: pullError.code, pending, rows, server };
    }, env.server.url);
    assert.equal(r.pendingLocal, 1, 'the change made without url is recorded');
    assert.equal(r.pushError, 'SYNC_NOT_CONFIGURED');
    assert.equal(r.pullError, 'SYNC_NOT_CONFIGURED');
    assert.equal(r.pending, 1, 'still pending once reopened with a url');
    assert.deepEqual(r.rows, [[1, 'synced'], [2, 'written without url']]);
    assert.deepEqual(r.server, r.rows, 'the row reached the server');
  });
});

describe('a synced database opened without a url, with tablesIgnore', () => {
  test('keeps the ignored tables local: their changes are recorded as local-only, never pushed', async () => {
    const r = await env.page.evaluate(async (url) => {
      const path = 'nourl-ignore.db';
      const options = { path, url, clientName: 'nourl-ignore', tablesIgnore: ['drafts'] };
      const first = await window.walsync.connect(options);
      await first.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE drafts(id INTEGER PRIMARY KEY, v TEXT)');
      await first.sync();
      await first.close();
      const local = await window.walsync.connect({ path });
      await local.exec("INSERT INTO notes VALUES (1, 'shared'); INSERT INTO drafts VALUES (1, 'private')");
      const pendingLocal = (await local.stats()).cdcOperations;
      await local.close();
      const again = await window.walsync.connect(options);
      await again.sync();
      const drafts = await window.kit.dump(again, 'drafts');
      await again.close();
      const fresh = await window.walsync.connect({ path: 'nourl-ignore-check.db', url, clientName: 'check' });
      const server = { notes: await window.kit.dump(fresh, 'notes'), drafts: await window.kit.dump(fresh, 'drafts') };
      await fresh.close();
      return { pendingLocal, drafts, server };
    }, env.server.url);
    assert.equal(r.pendingLocal, 1, 'only the notes row waits to be pushed');
    assert.deepEqual(r.drafts, [[1, 'private']], 'the ignored row survived the pull');
    assert.deepEqual(r.server, { notes: [[1, 'shared']], drafts: [] });
  });
});

type Order = 'pull-first' | 'push-first';
type Variant = 'behind' | 'ahead';
type Tables = 'same tables' | 'other tables';
/** What our client did on the old server: pushed its row; pushed and pulled; or only pulled (its row still pending). */
type History = 'pushed' | 'pushed and pulled' | 'only pulled';

interface Case {
  order: Order;
  variant: Variant;
  tables: Tables;
  history: History;
}

const cases: Case[] = [];
for (const order of ['pull-first', 'push-first'] as const) {
  for (const variant of ['behind', 'ahead'] as const) {
    for (const tables of ['same tables', 'other tables'] as const) {
      for (const history of ['pushed', 'pushed and pulled', 'only pulled'] as const) cases.push({ order, variant, tables, history });
    }
  }
}

/** Pushes on the old server before our client bootstraps, so that its revision is not "0". */
const SEED_PUSHES = 6;

describe('a server that was reset or replaced', () => {
  cases.forEach((c, n) => {
    const name = `${c.order}, new server ${c.variant}, ${c.tables}, our client ${c.history}: SERVER_RESET, nothing lost; resetSync() recovers`;
    test(name, async () => {
      let oldServer: SyncServer | undefined;
      let newServer: SyncServer | undefined;
      try {
        oldServer = await startSyncServer();
        newServer = await startSyncServer();
        const path = `replaced-${n}.db`;
        // The client's url is a function, so one page can move it from the old server to the new one.
        const setup = await env.page.evaluate(
          async ({ oldUrl, path, history, seedPushes }) => {
            const seed = await window.walsync.connect({ path: `${path}-seed`, url: oldUrl, clientName: 'seed' });
            await seed.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
            for (let i = 0; i < seedPushes; i++) {
              await seed.exec(`INSERT INTO t VALUES (${10 + i}, 'seed ${i}')`);
              await seed.push();
            }
            (window as unknown as { serverUrl: string }).serverUrl = oldUrl;
            const db = await window.walsync.connect({
              path,
              url: () => (window as unknown as { serverUrl: string }).serverUrl,
              clientName: 'mine',
            });
            // Something for our client's pull to bring.
            await seed.exec("INSERT INTO t VALUES (20, 'seed after our start')");
            await seed.push();
            await seed.close();
            await db.exec("INSERT INTO t VALUES (1, 'mine')");
            if (history === 'pushed') await db.push();
            else if (history === 'pushed and pulled') await db.sync();
            else await db.pull();
            const stats = await db.stats();
            await db.close();
            return { revision: stats.revision, pending: stats.cdcOperations };
          },
          { oldUrl: oldServer.url, path, history: c.history, seedPushes: SEED_PUSHES },
        );
        assert.equal(setup.pending, c.history === 'only pulled' ? 1 : 0);

        // The new server: another client's writes, fewer (behind) or more (ahead) than the old had.
        const newRevision = await env.page.evaluate(
          async ({ newUrl, path, tables, pushes }) => {
            const other = await window.walsync.connect({ path: `${path}-other`, url: newUrl, clientName: 'other' });
            const table = tables === 'same tables' ? 't' : 'elsewhere';
            await other.exec(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY, v TEXT)`);
            for (let i = 0; i < pushes; i++) {
              await other.exec(`INSERT INTO ${table} VALUES (${100 + i}, 'other ${i}')`);
              await other.push();
            }
            await other.pull();
            const revision = (await other.stats()).revision;
            await other.close();
            return revision;
          },
          { newUrl: newServer.url, path, tables: c.tables, pushes: c.variant === 'behind' ? 1 : 30 },
        );
        const ours = Number(setup.revision);
        const theirs = Number(newRevision);
        if (c.variant === 'behind') assert.ok(theirs < ours, `precondition: new server (${theirs}) behind our revision (${ours})`);
        else assert.ok(theirs > ours, `precondition: new server (${theirs}) ahead of our revision (${ours})`);

        const r = await env.page.evaluate(
          async ({ newUrl, path, order }) => {
            (window as unknown as { serverUrl: string }).serverUrl = newUrl;
            const db = await window.walsync.connect({
              path,
              url: () => (window as unknown as { serverUrl: string }).serverUrl,
              clientName: 'mine',
            });
            const before = await window.kit.dump(db, 't');
            const errors: string[] = [];
            const record = async (f: () => Promise<unknown>) => errors.push((await window.kit.errorOf(f)).code);
            if (order === 'pull-first') {
              await record(() => db.pull());
              await record(() => db.push());
            } else {
              await record(() => db.sync());
            }
            // Once refused, every later sync is refused too (the server did not become ours).
            await record(() => db.sync());
            const after = await window.kit.dump(db, 't');
            const check = await db.prepare('PRAGMA integrity_check').get();
            const foreign = await db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'elsewhere'").get();
            await db.exec("INSERT INTO t VALUES (2, 'after the refusal')");
            const fresh = await window.walsync.connect({ path: `${path}-check`, url: newUrl, clientName: 'check' });
            const serverHasT = await fresh.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'").get();
            const serverMine = serverHasT?.n ? await fresh.prepare("SELECT * FROM t WHERE v IN ('mine', 'after the refusal')").all() : [];
            await fresh.close();

            const recovery = await window.kit.errorOf(() => db.resetSync());
            const pendingAfterRecovery = (await db.stats()).cdcOperations;
            const local = await window.kit.dump(db, 't');
            const localOther = await window.kit.dump(db, 'elsewhere').catch(() => null);
            const recoveredCheck = await db.prepare('PRAGMA integrity_check').get();
            const syncAfter = await window.kit.errorOf(() => db.sync());
            await db.close();
            const verify = await window.walsync.connect({ path: `${path}-verify`, url: newUrl, clientName: 'verify' });
            const server = await window.kit.dump(verify, 't');
            const serverOther = await window.kit.dump(verify, 'elsewhere').catch(() => null);
            await verify.close();
            return {
              before, errors, after, check, foreign, serverMine,
              recovery, pendingAfterRecovery, local, localOther, recoveredCheck, syncAfter, server, serverOther,
            };
          },
          { newUrl: newServer.url, path, order: c.order },
        );
        const detail = JSON.stringify(r);
        assert.ok(r.errors.includes('SERVER_RESET'), `refused with SERVER_RESET: ${detail}`);
        assert.ok(r.errors.every((e) => e === 'SERVER_RESET' || e === 'none'), `no other error: ${detail}`);
        assert.equal(r.errors[r.errors.length - 1], 'SERVER_RESET', 'a later sync is refused too');
        if (c.order === 'push-first') assert.equal(r.errors[0], 'SERVER_RESET', 'sync() is refused at its push');
        assert.deepEqual(r.after, r.before, 'no local row lost or changed');
        assert.ok(r.before.some((row) => row[1] === 'mine'));
        assert.deepEqual(r.check, { integrity_check: 'ok' });
        assert.deepEqual(r.foreign, { n: 0 }, 'nothing of the new server was laid over ours');
        assert.deepEqual(r.serverMine, [], 'nothing was pushed to the new server');

        // Recovery: every local row survives and reaches the new server, which keeps its own rows.
        assert.equal(r.recovery.code, 'none', detail);
        assert.equal(r.syncAfter.code, 'none', detail);
        assert.deepEqual(r.recoveredCheck, { integrity_check: 'ok' });
        assert.equal(r.pendingAfterRecovery, 0, detail);
        const expectedOurs = [...r.before, [2, 'after the refusal']].sort((a, b) => (a[0] as number) - (b[0] as number));
        const newServerRows = (rows: unknown[][]) => rows.filter((row) => String(row[1]).startsWith('other'));
        assert.deepEqual(r.local.filter((row) => !String(row[1]).startsWith('other')), expectedOurs, `every local row survived: ${detail}`);
        if (c.tables === 'same tables') assert.equal(newServerRows(r.local).length, c.variant === 'behind' ? 1 : 30, 'the new server\'s rows arrived');
        else assert.equal(r.localOther?.length, c.variant === 'behind' ? 1 : 30, 'the new server\'s own table arrived');
        assert.deepEqual(r.server, r.local, 'client and new server hold the same rows');
        assert.deepEqual(r.serverOther, r.localOther);
      } finally {
        await newServer?.stop();
        await oldServer?.stop();
      }
    });
  });
});

describe('resetSync()', () => {
  test('is refused on a server that was not reset; interrupted, it keeps push and pull refused until it is called again', async () => {
    const oldServer = await startSyncServer();
    const newServer = await startSyncServer();
    try {
      const r = await env.page.evaluate(
        async ({ oldUrl, newUrl }) => {
          const w = window as unknown as { resetUrl: string; loseAnswer: boolean; pipelineCalls: number };
          w.resetUrl = oldUrl;
          w.loseAnswer = false;
          w.pipelineCalls = 0;
          const options = {
            path: 'interrupted-reset.db',
            url: () => w.resetUrl,
            clientName: 'interrupted',
            tablesIgnore: ['drafts'],
            // Loses the answer of the second pipeline request once armed: the server has applied it.
            fetch: async (input: string, init: RequestInit) => {
              const response = await fetch(input, init);
              if (w.loseAnswer && new URL(input).pathname === '/v2/pipeline' && ++w.pipelineCalls === 2) throw new TypeError('Failed to fetch');
              return response;
            },
          };
          let db = await window.walsync.connect(options);
          await db.exec("CREATE TABLE r(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO r VALUES (1, 'a'), (2, 'b')");
          // What stays on this device: a tablesIgnore table's rows, a trigger, the user_version.
          await db.exec("CREATE TABLE drafts(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO drafts VALUES (1, 'private')");
          await db.exec('CREATE TRIGGER r_touch AFTER INSERT ON r BEGIN SELECT 1; END');
          await db.exec('PRAGMA user_version = 7');
          await db.sync();
          const notReset = await window.kit.errorOf(() => db.resetSync());
          w.resetUrl = newUrl;
          const refused = await window.kit.errorOf(() => db.sync());
          w.loseAnswer = true;
          const interrupted = await window.kit.errorOf(() => db.resetSync());
          w.loseAnswer = false;
          const pushWhilePending = await window.kit.errorOf(() => db.push());
          const pullWhilePending = await window.kit.errorOf(() => db.pull());
          await db.exec("INSERT INTO r VALUES (3, 'written meanwhile')");
          await db.close();
          db = await window.walsync.connect(options);
          const afterReopen = await window.kit.errorOf(() => db.sync());
          const recovered = await window.kit.errorOf(() => db.resetSync());
          const local = await window.kit.dump(db, 'r');
          const pending = (await db.stats()).cdcOperations;
          const drafts = await window.kit.dump(db, 'drafts');
          const trigger = await db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND name = 'r_touch'").get();
          const userVersion = await db.prepare('PRAGMA user_version').get();
          await db.exec("INSERT INTO r VALUES (4, 'after the recovery')");
          const syncAfter = await window.kit.errorOf(() => db.sync());
          const localAfter = await window.kit.dump(db, 'r');
          await db.close();
          const fresh = await window.walsync.connect({ path: 'interrupted-reset-check.db', url: newUrl, clientName: 'check' });
          const server = await window.kit.dump(fresh, 'r');
          const serverDrafts = await window.kit.dump(fresh, 'drafts');
          await fresh.close();
          return {
            notReset: notReset.code,
            refused: refused.code,
            interrupted: interrupted.code,
            pushWhilePending,
            pullWhilePending: pullWhilePending.code,
            afterReopen: afterReopen.code,
            recovered,
            local,
            pending,
            syncAfter: syncAfter.code,
            localAfter,
            server,
            drafts,
            trigger,
            userVersion,
            serverDrafts,
          };
        },
        { oldUrl: oldServer.url, newUrl: newServer.url },
      );
      assert.equal(r.notReset, 'INVALID_ARGUMENT', 'the old server holds our pushes: no reseed');
      assert.equal(r.refused, 'SERVER_RESET');
      assert.equal(r.interrupted, 'NETWORK_ERROR');
      assert.equal(r.pushWhilePending.code, 'SERVER_RESET');
      assert.match(r.pushWhilePending.message, /resetSync\(\) again/);
      assert.equal(r.pullWhilePending, 'SERVER_RESET');
      assert.equal(r.afterReopen, 'SERVER_RESET', 'still pending after a reopen');
      assert.equal(r.recovered.code, 'none', JSON.stringify(r.recovered));
      assert.deepEqual(r.local, [[1, 'a'], [2, 'b'], [3, 'written meanwhile']]);
      assert.equal(r.pending, 0);
      assert.equal(r.syncAfter, 'none');
      assert.deepEqual(r.localAfter, [[1, 'a'], [2, 'b'], [3, 'written meanwhile'], [4, 'after the recovery']]);
      assert.deepEqual(r.server, r.localAfter);
      assert.deepEqual(r.drafts, [[1, 'private']], 'the tablesIgnore row survived, local');
      assert.deepEqual(r.serverDrafts, [], 'and was not sent');
      assert.deepEqual(r.trigger, { n: 1 }, 'the trigger survived');
      assert.deepEqual(r.userVersion, { user_version: 7 });
    } finally {
      await newServer.stop();
      await oldServer.stop();
    }
  });
});

describe('deleteDatabase', () => {
  test('removes a closed database\'s files and sync metadata; refuses while it is open in this tab', async () => {
    const r = await env.page.evaluate(async (url) => {
      const path = 'deleting/deleted.db';
      const files = async () => {
        const root = await navigator.storage.getDirectory();
        const dir = await root.getDirectoryHandle('deleting');
        const names: string[] = [];
        for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
        return names.sort();
      };
      const metadata = () =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('walsync');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('metadata').objectStore('metadata').get(`db:${path}`);
            get.onsuccess = () => {
              resolve(get.result ?? null);
              open.result.close();
            };
            get.onerror = () => reject(get.error);
          };
        });
      const db = await window.walsync.connect({ path, url, clientName: 'deleted' });
      await db.exec('CREATE TABLE deleted(id INTEGER PRIMARY KEY); INSERT INTO deleted VALUES (1)');
      await db.sync();
      const whileOpen = await window.kit.errorOf(() => window.walsync.deleteDatabase(path));
      const rowsWhileOpen = await window.kit.dump(db, 'deleted');
      await db.close();
      const filesBefore = await files();
      const hadMetadata = (await metadata()) !== null;
      await window.walsync.deleteDatabase(path);
      const filesAfter = await files();
      const metadataAfter = await metadata();
      // No metadata left: the path opens as a new local database.
      const again = await window.walsync.connect({ path });
      const objects = await again.prepare('SELECT count(*) AS n FROM sqlite_schema').get();
      const revision = (await again.stats()).revision;
      await again.close();
      await window.walsync.deleteDatabase(path);
      const nothing = await window.kit.errorOf(() => window.walsync.deleteDatabase('never/created.db'));
      const memory = await window.kit.errorOf(() => window.walsync.deleteDatabase(':memory:'));
      return { whileOpen: whileOpen.code, rowsWhileOpen, filesBefore, hadMetadata, filesAfter, metadataAfter, objects, revision, nothing: nothing.code, memory: memory.code };
    }, env.server.url);
    assert.equal(r.whileOpen, 'DATABASE_LOCKED');
    assert.deepEqual(r.rowsWhileOpen, [[1]], 'the open database was left alone');
    assert.deepEqual(r.filesBefore, ['deleted.db', 'deleted.db-changes', 'deleted.db-journal', 'deleted.db-revert', 'deleted.db-wal']);
    assert.equal(r.hadMetadata, true);
    assert.deepEqual(r.filesAfter, []);
    assert.equal(r.metadataAfter, null);
    assert.deepEqual(r.objects, { n: 0 });
    assert.equal(r.revision, null);
    assert.equal(r.nothing, 'none', 'deleting what does not exist resolves');
    assert.equal(r.memory, 'INVALID_ARGUMENT');
  });

  test('refuses with DATABASE_LOCKED while another tab has the database open, and deletes nothing', async () => {
    const other = await env.session.newPage(env.baseUrl + '/test/browser/pages/index.html');
    try {
      const path = 'locked-elsewhere.db';
      await other.evaluate(async (path) => {
        const db = await window.walsync.connect({ path });
        await db.exec('CREATE TABLE kept(id INTEGER PRIMARY KEY); INSERT INTO kept VALUES (7)');
        (window as unknown as { held: unknown }).held = db;
      }, path);
      const refused = await env.page.evaluate((path) => window.kit.errorOf(() => window.walsync.deleteDatabase(path)), path);
      const rows = await other.evaluate(async () => {
        const db = (window as unknown as { held: import('../../src/index.js').Database }).held;
        const rows = await window.kit.dump(db, 'kept');
        await db.close();
        return rows;
      });
      const afterClose = await env.page.evaluate(async (path) => {
        const error = await window.kit.errorOf(() => window.walsync.deleteDatabase(path));
        const db = await window.walsync.connect({ path });
        const n = await db.prepare('SELECT count(*) AS n FROM sqlite_schema').get();
        await db.close();
        return { error: error.code, n };
      }, path);
      assert.equal(refused.code, 'DATABASE_LOCKED', JSON.stringify(refused));
      assert.match(refused.message, /another tab/);
      assert.deepEqual(rows, [[7]], 'the other tab\'s database is whole');
      assert.deepEqual(afterClose, { error: 'none', n: { n: 0 } });
    } finally {
      await other.close();
    }
  });
});
