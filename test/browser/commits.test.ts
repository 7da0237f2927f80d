/**
 * The commit path: every acknowledged commit is in the file when the worker dies, whatever the
 * durability (the WAL's writes are joined per frame, never held past the statement that made them;
 * the log file grows a chunk of zeros ahead, which a killed worker leaves behind, past the last frame).
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
      // Commits on top of the tail the killed worker left, killed again: the log's end is still found.
      const again = reopened.prepare('INSERT INTO t(v) VALUES (?)');
      for (let i = 1; i <= 20; i++) await again.run('y'.repeat(i % 7 === 0 ? 5000 : 10));
      window.kit.channel(reopened).terminate();
      // What the killed worker left: the log grown ahead to a whole chunk (1 MiB), zeros past its frames.
      const walFile = await (await navigator.storage.getDirectory()).getFileHandle(`${path}-wal`);
      const walFileSize = (await walFile.getFile()).size;
      const last = await window.walsync.connect({ path, durability });
      const countAfter = await last.prepare("SELECT count(*) AS c, count(*) FILTER (WHERE v LIKE 'y%') AS y FROM t").get();
      await last.checkpoint();
      const checkAfter = await last.prepare('PRAGMA integrity_check').get();
      const walAfterCheckpoint = (await last.stats()).mainWalSize;
      await last.close();
      return { count, check, walFileSize, countAfter, checkAfter, walAfterCheckpoint };
    }, durability);
    assert.deepEqual(r.count, { c: 300 });
    assert.deepEqual(r.check, { integrity_check: 'ok' });
    assert.equal(r.walFileSize % (1024 * 1024), 0, `the log file's size: ${r.walFileSize}`);
    assert.ok(r.walFileSize > 0);
    assert.deepEqual(r.countAfter, { c: 320, y: 20 });
    assert.deepEqual(r.checkAfter, { integrity_check: 'ok' });
    assert.equal(r.walAfterCheckpoint, 0);
    await p.close();
  });
}
