/**
 * A small app as a walsync user writes it: the README's first example (its own path), with a
 * table that grows by one row per page load. The consumer-app test installs the packed walsync
 * here, type-checks, builds and runs it.
 */
import { connect, isWalsyncError, type Row } from 'walsync';

interface Note extends Row {
  id: number;
  body: string;
}

async function main(): Promise<{ notes: Note[]; raw: unknown[][] }> {
  const db = await connect({ path: 'app.db' });
  await db.exec('CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  await db.prepare('INSERT INTO notes(body) VALUES (?)').run('hello');
  const notes = await db.prepare('SELECT id, body FROM notes ORDER BY id').all<Note>();
  const raw = await db.prepare('SELECT 1 AS a, 2 AS a').raw().all<unknown[]>();
  await db.close();
  return { notes, raw };
}

declare global {
  interface Window {
    appResult?: { notes: Note[]; raw: unknown[][] } | { error: string; code: string };
  }
}

main().then(
  (result) => (window.appResult = result),
  (e: unknown) => (window.appResult = { error: String(e), code: isWalsyncError(e) ? e.code : 'none' }),
);
