/**
 * The commit path: every acknowledged commit is in the file when the worker dies, whatever the
 * durability (the WAL's writes are joined per frame, never held past the statement that made them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useLocalTestBrowser } from '../support/local-test-page.js';

const env = useLocalTestBrowser();

for (const durability of ['full', 'normal'] as const) {
  test(`durability '${durability}': a worker killed right after autocommit inserts keeps every acknowledged one`, async () => {
    const p = await env.openPage();
    const r = await p.evaluate(async (durability) => {
      const path = `killed-after-commits-${durability}.db`;
      const db = await window.walsync.connect({ path, durability });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      const insert = db.prepare('INSERT INTO t(v) VALUES (?)');
      // Rows of different sizes: some commits write one frame, some several.
      for (let i = 1; i <= 300; i++) await insert.run('x'.repeat(i % 7 === 0 ? 5000 : 10));
      window.kit.channel(db).terminate();
      const reopened = await window.walsync.connect({ path, durability });
      const count = await reopened.prepare('SELECT count(*) AS c FROM t').get();
      const check = await reopened.prepare('PRAGMA integrity_check').get();
      await reopened.close();
      return { count, check };
    }, durability);
    assert.deepEqual(r.count, { c: 300 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    await p.close();
  });
}
