/**
 * `remoteEncryption` against a real encrypted remote: a tursodb serving a database encrypted at rest
 * (aegis256, experimental encryption), which hands out decrypted pages carrying the cipher's 48
 * reserved bytes per page, as Turso Cloud does for an encrypted database. (The local tursodb takes
 * its key at start-up and ignores the key headers; the headers are checked on the requests.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSyncServer, type SyncServer } from '../../scripts/sync-server.js';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();
const HEX_KEY = '2d7a30108d3eb3e45c90a732041fe54778bdcf707c76749fab7da335d1b39c1d';
let encrypted: SyncServer;
before(async () => {
  encrypted = await startSyncServer({ encryption: { cipher: 'aegis256', hexKey: HEX_KEY } });
});
after(async () => {
  await encrypted?.stop();
});

test('an encrypted remote: bootstrap, push and pull between clients (one created before its first sync); the key and cipher go with every request', async () => {
  const key = Buffer.from(HEX_KEY, 'hex').toString('base64');
  const r = await env.page.evaluate(
    async ({ url, key }) => {
      const { connect } = window.walsync;
      const remoteEncryption = { key, cipher: 'aegis256' as const };
      const headers: Record<string, string>[] = [];
      const recordingFetch = (u: string, init: RequestInit) => {
        headers.push({ ...(init.headers as Record<string, string>) });
        return fetch(u, init);
      };
      const out: Record<string, unknown> = {};
      const a = await connect({ path: 'enc-a.db', url, remoteEncryption, fetch: recordingFetch });
      await a.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
      await a.prepare('INSERT INTO t VALUES (1, ?)').run('secret-marker-one');
      await a.push();
      // B bootstraps pages that carry the cipher's reserved bytes (its own fetch: a CORS preflight).
      const b = await connect({ path: 'enc-b.db', url, remoteEncryption });
      out.bootstrapped = await b.prepare('SELECT * FROM t').all();
      await b.prepare('INSERT INTO t VALUES (2, ?)').run('two');
      await b.push();
      // C exists locally before its first sync: created and written offline, then synced.
      const c = await connect({ path: 'enc-c.db', url, remoteEncryption, bootstrapIfEmpty: false });
      await c.exec('CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)');
      await c.prepare('INSERT INTO t VALUES (3, ?)').run('three');
      await c.pull();
      await c.push();
      await a.pull();
      out.a = await a.prepare('SELECT id, v FROM t ORDER BY id').raw().all();
      out.c = await c.prepare('SELECT id, v FROM t ORDER BY id').raw().all();
      await c.prepare('INSERT INTO t VALUES (4, ?)').run('four');
      await c.push();
      await b.pull();
      out.b = await b.prepare('SELECT id FROM t ORDER BY id').pluck().all();
      out.integrity = [await a.pragma('integrity_check', { simple: true }), await b.pragma('integrity_check', { simple: true }), await c.pragma('integrity_check', { simple: true })];
      out.headers = headers;
      for (const db of [a, b, c]) await db.close();
      return out;
    },
    { url: encrypted.url, key },
  );
  assert.deepEqual(r.bootstrapped, [{ id: 1, v: 'secret-marker-one' }]);
  const rows = [
    [1, 'secret-marker-one'],
    [2, 'two'],
    [3, 'three'],
  ];
  assert.deepEqual(r.a, rows);
  assert.deepEqual(r.c, rows);
  assert.deepEqual(r.b, [1, 2, 3, 4]);
  assert.deepEqual(r.integrity, ['ok', 'ok', 'ok']);
  const headers = r.headers as Record<string, string>[];
  assert.ok(headers.length >= 3, 'bootstrap, push and pull requests');
  for (const h of headers) {
    assert.equal(h['x-turso-encryption-key'], key);
    assert.equal(h['x-turso-encryption-cipher'], 'aegis256');
  }
  // The server really keeps the database encrypted: the row's text is nowhere in its files.
  for (const suffix of ['', '-wal']) assert.ok(!readFileSync(encrypted.dbPath + suffix).includes('secret-marker-one'), `server.db${suffix} is encrypted`);
});
