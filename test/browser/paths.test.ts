/**
 * Database paths: every spelling of a path names one database (one worker, one metadata record, one
 * set of files), and a path OPFS cannot hold is refused at once. Real tursodb for the synced cases.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

describe('database paths', () => {
  test('app.db, ./app.db and /app.db in one tab are one database, not DATABASE_LOCKED', async () => {
    const r = await env.page.evaluate(async () => {
      const { connect } = window.walsync;
      const a = await connect({ path: 'spell.db' });
      await a.exec("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('one')");
      const opened: Record<string, unknown> = {};
      for (const spelling of ['./spell.db', '/spell.db']) {
        try {
          const other = await connect({ path: spelling });
          opened[spelling] = { path: other.path, rows: await window.kit.dump(other, 't') };
          await other.close();
        } catch (e) {
          opened[spelling] = window.kit.describeError(e).code;
        }
      }
      await a.close();
      return opened;
    });
    assert.deepEqual(r, {
      './spell.db': { path: 'spell.db', rows: [['one']] },
      '/spell.db': { path: 'spell.db', rows: [['one']] },
    });
  });

  test('a synced database reopened under another spelling is still the synced database', async () => {
    const r = await env.page.evaluate(async (url) => {
      const { connect } = window.walsync;
      const first = await connect({ path: 'synced-spell.db', url });
      await first.exec("CREATE TABLE s(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO s VALUES (1, 'pushed')");
      await first.push();
      const revision = (await first.stats()).revision;
      await first.close();
      const results: unknown[] = [];
      for (const spelling of ['./synced-spell.db', '/synced-spell.db']) {
        const error = await window.kit.errorOf(async () => {
          const again = await connect({ path: spelling, url });
          await again.exec("INSERT INTO s VALUES (2, 'later')");
          results.push({ revision: (await again.stats()).revision, pending: (await again.stats()).cdcOperations });
          await again.exec('DELETE FROM s WHERE id = 2');
          await again.close();
        });
        results.push(error.code === 'none' ? 'ok' : error.message);
      }
      return { revision, results, keys: (await window.kit.metadataKeys()).filter((k) => k.includes('synced-spell')) };
    }, env.server.url);
    // Pending: the insert; then also its delete and the next insert, all under one sync state.
    assert.deepEqual(r.results, [{ revision: r.revision, pending: 1 }, 'ok', { revision: r.revision, pending: 3 }, 'ok']);
    assert.deepEqual(r.keys, ['db:synced-spell.db']);
  });

  test('metadata an older version stored under another spelling is found and moved to the path', async () => {
    const r = await env.page.evaluate(async (url) => {
      const { connect } = window.walsync;
      const first = await connect({ path: 'legacy.db', url });
      await first.exec("CREATE TABLE l(id INTEGER PRIMARY KEY); INSERT INTO l VALUES (1)");
      await first.push();
      await first.exec('INSERT INTO l VALUES (2)');
      const before = await first.stats();
      await first.close();
      // Older versions keyed the record by the path as spelled.
      await window.kit.moveMetadata('db:legacy.db', 'db:./legacy.db');
      const error = await window.kit.errorOf(async () => {
        const again = await connect({ path: './legacy.db', url });
        const after = await again.stats();
        await again.close();
        if (after.revision !== before.revision || after.cdcOperations !== before.cdcOperations) {
          throw new Error(`another sync state: ${JSON.stringify(after)}`);
        }
      });
      return { error: error.message, keys: (await window.kit.metadataKeys()).filter((k) => k.includes('legacy')) };
    }, env.server.url);
    assert.equal(r.error, '');
    assert.deepEqual(r.keys, ['db:legacy.db']);
  });

  test('a path with a backslash or a NUL is INVALID_ARGUMENT at once', async () => {
    const r = await env.page.evaluate(async () => {
      const { connect } = window.walsync;
      const out: Record<string, { code: string; message: string }> = {};
      for (const path of ['C:\\x\\y.db', 'a\u0000b.db', 'a//b.db', 'dir/']) {
        const e = await window.kit.errorOf(() => connect({ path }));
        out[path] = { code: e.code, message: e.message };
      }
      return out;
    });
    assert.equal(r['C:\\x\\y.db']!.code, 'INVALID_ARGUMENT');
    assert.match(r['C:\\x\\y.db']!.message, /backslash/);
    assert.equal(r['a\u0000b.db']!.code, 'INVALID_ARGUMENT');
    assert.match(r['a\u0000b.db']!.message, /control character/);
    assert.equal(r['a//b.db']!.code, 'INVALID_ARGUMENT');
    assert.equal(r['dir/']!.code, 'INVALID_ARGUMENT');
  });
});
