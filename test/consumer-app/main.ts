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
  return { notes, raw, kyselyCount: n, drizzleCount: counted!.n };
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
