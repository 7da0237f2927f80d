import { Database } from './database.js';
import { resolveConnectOptions, type ConnectOptions } from './options.js';
import { acquireChannel } from './worker-channel.js';

/**
 * Opens (creating if needed) a database and returns it once it is ready to query.
 *
 * ```ts
 * const db = await connect({ path: 'app.db' });
 * await db.exec('CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT)');
 * await db.prepare('INSERT INTO notes(body) VALUES (?)').run('hello');
 * const notes = await db.prepare('SELECT * FROM notes').all();
 * ```
 */
export async function connect(options: ConnectOptions): Promise<Database> {
  const resolved = resolveConnectOptions(options);
  const channel = await acquireChannel({
    path: resolved.path,
    storage: resolved.memory ? 'memory' : 'opfs',
    synchronous: resolved.durability,
  });
  return new Database(channel, resolved.path, resolved.memory);
}
