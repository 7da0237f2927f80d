/**
 * Several tabs on one database, page side: each benchmark tab opens the same path; the first to open
 * leads (its worker owns the database), the next follows (its calls go to the leader's worker).
 */
import { connect } from '../../src/connect.js';
import type { Database } from '../../src/database.js';

const open = new Map<string, Database>();

/** Creates `path` with `rows` rows in `items` and closes it (untimed setup). */
export async function tabsPrepare(path: string, rows: number): Promise<void> {
  const db = await connect({ path });
  await db.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value INTEGER NOT NULL)');
  await db.batch(Array.from({ length: rows }, (_, i) => ({ sql: 'INSERT INTO items VALUES (?, ?, ?)', args: [i + 1, `item ${i + 1}`, i] })), 'immediate');
  await db.close();
}

/** ms from connect() to the first query's result; the database stays open in this tab. */
export async function tabsOpen(path: string): Promise<number> {
  const started = performance.now();
  const db = await connect({ path });
  await db.prepare('SELECT count(*) FROM items').get();
  const ms = performance.now() - started;
  open.set(path, db);
  return ms;
}

/** ms for `n` point selects by primary key through this tab's handle. */
export async function tabsPointSelects(path: string, n: number): Promise<number> {
  const db = open.get(path)!;
  const stmt = db.prepare('SELECT id, name, value FROM items WHERE id = ?');
  const started = performance.now();
  for (let i = 0; i < n; i++) await stmt.get((i * 7919) % 1000 + 1);
  return performance.now() - started;
}

export async function tabsClose(path: string): Promise<void> {
  await open.get(path)?.close();
  open.delete(path);
}
