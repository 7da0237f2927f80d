/**
 * A small app as a walsync user writes it: the README's first example (its own path), with a
 * table that grows by one row per page load, then the same table read through the ORM subpath
 * exports (`walsync/kysely`, `walsync/drizzle`). The consumer-app test installs the packed walsync
 * here, type-checks, builds and runs it.
 */
import { connect, isWalsyncError, type Row } from 'walsync';
import { WalsyncDialect } from 'walsync/kysely';
import { drizzle } from 'walsync/drizzle';
import { Kysely } from 'kysely';
import { count } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

interface Note extends Row {
  id: number;
  body: string;
}

const notesTable = sqliteTable('notes', { id: integer('id').primaryKey(), body: text('body').notNull() });

interface AppResult {
  notes: Note[];
  raw: unknown[][];
  kyselyCount: number;
  drizzleCount: number;
  offlineSync: { changed: boolean | 'offline'; notes: number };
}

/** No token: the app has no server. */
async function getFreshToken(): Promise<string | null> {
  return null;
}

/**
 * The README's sync example as it stands, with a url nobody answers (the app has no server): it
 * must start offline and keep the changes queued without throwing.
 */
async function syncExample(url: string): Promise<AppResult['offlineSync']> {
  // Starts offline too: without an answer from the server, connect() opens an empty database.
  const db = await connect({
    path: 'synced.db',                   // a database created without sync cannot start syncing: use its own path
    url,                                 // or libsql://…, turso://… (Turso Cloud)
    authToken: async () => getFreshToken(), // or a string; a function is asked before every request
    clientName: 'my-app',
  });
  await db.exec('CREATE TABLE IF NOT EXISTS notes(id TEXT PRIMARY KEY, body TEXT)');
  await db.prepare('INSERT INTO notes VALUES (?, ?)').run(crypto.randomUUID(), 'written offline');
  let changed: boolean | 'offline' = 'offline';
  try {
    await db.push();                 // local changes → server
    changed = await db.pull();       // server changes → local (true if any)
    await db.sync();                 // both
  } catch (e) {
    // Offline (or the server is down): the changes stay queued for the next push.
    if (!isWalsyncError(e, 'NETWORK_ERROR')) throw e;
  }
  console.log(await db.stats()); // { cdcOperations, mainWalSize, revertWalSize, lastPullUnixTime, ... }
  const notes = (await db.prepare('SELECT count(*) FROM notes').pluck().get()) as number;
  await db.close();
  return { changed, notes };
}

async function main(): Promise<AppResult> {
  const db = await connect({ path: 'app.db' });
  await db.exec('CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  await db.prepare('INSERT INTO notes(body) VALUES (?)').run('hello');
  const notes = await db.prepare('SELECT id, body FROM notes ORDER BY id').all<Note>();
  const raw = await db.prepare('SELECT 1 AS a, 2 AS a').raw().all<unknown[]>();
  const kysely = new Kysely<{ notes: { id: number; body: string } }>({ dialect: new WalsyncDialect({ database: db }) });
  const { n } = await kysely.selectFrom('notes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const [counted] = await drizzle(db).select({ n: count() }).from(notesTable);
  await kysely.destroy(); // closes db
  // Port 9 (discard) on this machine: refused at once, as a server that is down.
  const offlineSync = await syncExample('http://127.0.0.1:9');
  return { notes, raw, kyselyCount: n, drizzleCount: counted!.n, offlineSync };
}

declare global {
  interface Window {
    appResult?: AppResult | { error: string; code: string };
  }
}

main().then(
  (result) => (window.appResult = result),
  (e: unknown) => (window.appResult = { error: String(e), code: isWalsyncError(e) ? e.code : 'none' }),
);
