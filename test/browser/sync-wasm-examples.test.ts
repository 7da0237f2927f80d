/**
 * walsync as a drop-in for `@tursodatabase/sync-wasm` 0.4.3: its documented examples
 * (test/browser/pages/sync-wasm-examples.ts) run unchanged on both libraries — only the module
 * differs — and give the same results; then the rest of the shared API (raw, pluck, columns,
 * pragma, transaction variants, properties) side by side, and walsync's own additions.
 * sync-wasm runs on another origin (127.0.0.1) so the two never share OPFS files, each against its
 * own real tursodb.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startSyncServer, type SyncServer } from '../../scripts/sync-server.js';
import { useSyncTestPage } from '../support/sync-test-page.js';

const PAGE = '/test/browser/pages/turso.html';
const env = useSyncTestPage(PAGE);
let tursoServer: SyncServer | undefined;
let tursoPage: Page | undefined;

/** sync-wasm's page and server, started on first use (after the shared setting is up). */
async function turso(): Promise<{ page: Page; url: string }> {
  tursoServer ??= await startSyncServer();
  tursoPage ??= await env.session.newPage(env.baseUrl.replace('//localhost:', '//127.0.0.1:') + PAGE);
  return { page: tursoPage, url: tursoServer.url };
}
after(async () => {
  await tursoServer?.stop();
});

type Example = 'inMemory' | 'fileBased' | 'transactions' | 'pushPullStats';

/** Runs one example with sync-wasm and with walsync; bigints as strings so results compare. */
async function runBoth(name: Example): Promise<{ turso: unknown; walsync: unknown }> {
  const run = (page: Page, lib: 'turso' | 'walsync', url: string) =>
    page.evaluate(
      async ({ name, lib, url }) => {
        const result = await window.syncWasmExamples[name as 'pushPullStats']((window as unknown as Record<string, { connect(o: object): Promise<unknown> }>)[lib]!, url);
        return JSON.parse(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      },
      { name, lib, url },
    );
  const t = await turso();
  return { turso: await run(t.page, 'turso', t.url).catch((e: Error) => ({ error: e.message })), walsync: await run(env.page, 'walsync', env.server.url) };
}

/**
 * sync-wasm 0.4.3 cannot open a local-only database file in the browser ("files must be created in
 * advance for OPFS IO"): its README's file examples fail on sync-wasm itself. Where it ran, walsync
 * must give what it gave.
 */
function assertSameUnlessTursoCannotOpenFiles(walsync: unknown, turso: unknown): void {
  const error = (turso as { error?: string } | null)?.error;
  if (error !== undefined) assert.match(error, /files must be created in advance for OPFS IO/);
  else assert.deepEqual(walsync, turso);
}

test('README: in-memory database', async () => {
  const { turso, walsync } = await runBoth('inMemory');
  assert.deepEqual(walsync, [
    { id: 1, name: 'Alice', email: 'alice@example.com' },
    { id: 2, name: 'Bob', email: 'bob@example.com' },
  ]);
  assert.deepEqual(walsync, turso);
});

test('README: file-based database', async () => {
  const { turso, walsync } = await runBoth('fileBased');
  assert.equal(walsync, 'Inserted post with ID: 1');
  assertSameUnlessTursoCannotOpenFiles(walsync, turso);
});

test('README: transactions (statements on db inside fn join the transaction; a throw rolls back)', async () => {
  const { turso, walsync } = await runBoth('transactions');
  assert.deepEqual(walsync, {
    rows: [
      { name: 'Alice', email: 'alice@example.com' },
      { name: 'Bob', email: 'bob@example.com' },
    ],
    failed: true,
  });
  assertSameUnlessTursoCannotOpenFiles(walsync, turso);
});

test('push, pull and stats between two clients', async () => {
  const { turso, walsync } = await runBoth('pushPullStats');
  assert.deepEqual(walsync, {
    pendingBefore: 2,
    pendingAfter: 0,
    pushTimeSet: true,
    notes: [{ id: 1, body: 'hello from the writer' }],
    pulled: true,
    all: [{ body: 'hello from the writer' }, { body: 'hello from the reader' }],
  });
  // sync-wasm counts the CREATE TABLE and the insert as pending changes too: the same numbers.
  assert.deepEqual(walsync, turso);
});

/** The shared surface beyond the README, on one library. */
async function shared(page: Page, lib: 'turso' | 'walsync') {
  return page.evaluate(async (lib) => {
    const { connect } = (window as unknown as Record<string, { connect(o: object): Promise<any> }>)[lib]!; // eslint-disable-line @typescript-eslint/no-explicit-any
    const db = await connect({ path: ':memory:' });
    await db.exec('CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)');
    await db.exec("INSERT INTO u VALUES (1, 'a'), (2, 'b')");
    const out: Record<string, unknown> = {};
    // Duplicate and numeric-looking names: objects follow JavaScript's key rules, raw() keeps SELECT order.
    out.dupAll = await db.prepare('SELECT 1 AS a, 2 AS a').all();
    out.dupRaw = await db.prepare('SELECT 1 AS a, 2 AS a').raw().all();
    out.numAll = await db.prepare(`SELECT 'x' AS b, 2 AS "1"`).all();
    out.numKeys = Object.keys((out.numAll as object[])[0]!);
    out.numRaw = await db.prepare(`SELECT 'x' AS b, 2 AS "1"`).raw().all();
    out.rawGet = await db.prepare('SELECT id, email FROM u ORDER BY id').raw().get();
    out.pluck = await db.prepare('SELECT email FROM u ORDER BY id').pluck().all();
    out.rawOff = await db.prepare('SELECT id FROM u ORDER BY id').raw().raw(false).get();
    const iterated = [];
    for await (const row of db.prepare('SELECT id FROM u ORDER BY id').iterate()) iterated.push(row);
    out.iterated = iterated;
    out.none = (await db.prepare('SELECT 1 WHERE 0').get()) ?? 'undefined';
    out.pragma = await db.pragma('table_info(u)');
    out.props = { name: db.name, open: db.open, memory: db.memory, readonly: db.readonly, inTransaction: db.inTransaction };
    const tx = db.transaction(async (id: number) => {
      const inside = db.inTransaction;
      await db.prepare('INSERT INTO u (id, email) VALUES (?, ?)').run(id, `e${id}`);
      return inside;
    });
    out.variants = ['default', 'deferred', 'immediate', 'exclusive'].map((k) => typeof tx[k]);
    out.txDatabase = tx.database === db;
    out.inside = [await tx(3), await tx.deferred(4), await tx.immediate(5), await tx.exclusive(6)];
    out.afterTx = db.inTransaction;
    out.count = await db.prepare('SELECT count(*) AS n FROM u').get();
    await db.close();
    out.openAfterClose = db.open;
    return out;
  }, lib);
}

test('the rest of the shared API gives what sync-wasm gives', async () => {
  const tursoSide = await shared((await turso()).page, 'turso');
  const walsync = await shared(env.page, 'walsync');
  assert.deepEqual(walsync.dupAll, [{ a: 2 }]);
  assert.deepEqual(walsync.dupRaw, [[1, 2]]);
  assert.deepEqual(walsync.numKeys, ['1', 'b']);
  assert.deepEqual(walsync.numRaw, [['x', 2]]);
  assert.deepEqual(walsync.pluck, ['a', 'b']);
  assert.deepEqual(walsync.inside, [true, true, true, true]);
  assert.deepEqual(walsync.count, { n: 6 });
  const { props, openAfterClose, ...rest } = walsync;
  const { props: tursoProps, openAfterClose: tursoOpenAfterClose, ...tursoRest } = tursoSide;
  assert.deepEqual(rest, tursoRest);
  assert.deepEqual(props, tursoProps);
  // sync-wasm's `open` stays true after close(); walsync's says the truth.
  assert.equal(openAfterClose, false);
  void tursoOpenAfterClose;
});

test('walsync’s own: columns() with its origin, bind(), close(), pragma simple, typed SQLite code names', async () => {
  const r = await env.page.evaluate(async () => {
    const db = await window.walsync.connect({ path: ':memory:' });
    await db.exec('CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INTEGER NOT NULL DEFAULT 0)');
    await db.exec("INSERT INTO u (id, email) VALUES (1, 'a')");
    const columns = await db.prepare('SELECT id, email AS mail, n + 1 AS next FROM u').columns();
    const bound = db.prepare('SELECT email FROM u WHERE id = ?').bind(1);
    const boundRow = await bound.get();
    const boundAgain = await window.kit.errorOf(() => bound.get(2 as never));
    const bindTwice = await window.kit.errorOf(async () => bound.bind(1));
    const closed = db.prepare('SELECT 1');
    closed.close();
    const afterClose = await window.kit.errorOf(() => closed.all());
    const simple = await db.pragma('user_version', { simple: true });
    const codes: Record<string, unknown> = {};
    for (const [name, sql] of [
      ['unique', "INSERT INTO u (id, email) VALUES (2, 'a')"],
      ['primaryKey', "INSERT INTO u (id, email) VALUES (1, 'z')"],
      ['notNull', "INSERT INTO u (id, email, n) VALUES (3, 'c', NULL)"],
      ['noTable', 'SELECT * FROM nope'],
    ] as const) {
      try {
        await db.prepare(sql).run();
      } catch (e) {
        const err = e as { code: string; rawCode: string; sqliteCode: number };
        codes[name] = [err.code, err.rawCode, err.sqliteCode];
      }
    }
    const source = db.prepare('SELECT 42').source;
    await db.close();
    return { columns, boundRow, boundAgain: boundAgain.code, bindTwice: bindTwice.code, afterClose: afterClose.code, simple, codes, source };
  });
  assert.deepEqual(r.columns, [
    { name: 'id', column: 'id', table: 'u', database: 'main', type: 'INTEGER' },
    { name: 'mail', column: 'email', table: 'u', database: 'main', type: 'TEXT' },
    { name: 'next', column: null, table: null, database: null, type: null },
  ]);
  assert.deepEqual(r.boundRow, { email: 'a' });
  assert.equal(r.boundAgain, 'INVALID_ARGUMENT');
  assert.equal(r.bindTwice, 'INVALID_ARGUMENT');
  assert.equal(r.afterClose, 'INVALID_ARGUMENT');
  assert.equal(r.simple, 0);
  assert.deepEqual(r.codes, {
    unique: ['SQLITE_ERROR', 'SQLITE_CONSTRAINT_UNIQUE', 2067],
    primaryKey: ['SQLITE_ERROR', 'SQLITE_CONSTRAINT_PRIMARYKEY', 1555],
    notNull: ['SQLITE_ERROR', 'SQLITE_CONSTRAINT_NOTNULL', 1299],
    noTable: ['SQLITE_ERROR', 'SQLITE_ERROR', 1],
  });
  assert.equal(r.source, 'SELECT 42');
});
