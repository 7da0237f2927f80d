/**
 * `@tursodatabase/sync-wasm`'s documented examples — its README's (in-memory, file, transaction)
 * and the push/pull/stats calls its `.d.ts` documents — written as an app would write them. Each
 * takes the library module (`import * as lib from '...'`): the sync-wasm examples test runs them
 * once with sync-wasm and once with walsync, the same code, only the import differs.
 *
 * One change from the README text: its `connect(':memory:')` / `connect('my-database.db')` calls
 * are `connect({ path })`, the signature sync-wasm 0.4.3 actually has (the README is shared with a
 * sibling package whose connect takes a string).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- each example runs on two libraries */
type Lib = { connect(opts: any): Promise<any> };

export const syncWasmExamples = {
  /** README "In-Memory Database". */
  async inMemory({ connect }: Lib) {
    // Create an in-memory database
    const db = await connect({ path: ':memory:' });

    // Create a table
    await db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)');

    // Insert data
    const insert = db.prepare('INSERT INTO users (name, email) VALUES (?, ?)');
    await insert.run('Alice', 'alice@example.com');
    await insert.run('Bob', 'bob@example.com');

    // Query data
    const users = await db.prepare('SELECT * FROM users').all();
    await db.close();
    return users;
  },

  /** README "File-Based Database". */
  async fileBased({ connect }: Lib) {
    // Create or open a database file
    const db = await connect({ path: 'my-database.db' });

    // Create a table
    await db.exec(`
      CREATE TABLE IF NOT EXISTS posts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        content TEXT,
        created_at DATETIME DEFAULT CURRENT_TIMESTAMP
      )
    `);

    // Insert a post
    const insertPost = db.prepare('INSERT INTO posts (title, content) VALUES (?, ?)');
    const result = await insertPost.run('Hello World', 'This is my first blog post!');
    const message = `Inserted post with ID: ${result.lastInsertRowid}`;
    await db.close();
    return message;
  },

  /** README "Transactions" (plus the users table it assumes, and a read-back). */
  async transactions({ connect }: Lib) {
    const db = await connect({ path: 'transactions.db' });
    await db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)');

    // Using transactions for atomic operations
    const transaction = db.transaction(async (users: { name: string; email: string }[]) => {
      const insert = db.prepare('INSERT INTO users (name, email) VALUES (?, ?)');
      for (const user of users) {
        await insert.run(user.name, user.email);
      }
    });

    // Execute transaction
    await transaction([
      { name: 'Alice', email: 'alice@example.com' },
      { name: 'Bob', email: 'bob@example.com' },
    ]);

    // A failing transaction leaves nothing behind.
    let failed = false;
    try {
      await transaction([{ name: 'Carol', email: 'carol@example.com' }, null as any]);
    } catch {
      failed = true;
    }
    const rows = await db.prepare('SELECT name, email FROM users ORDER BY id').all();
    await db.close();
    return { rows, failed };
  },

  /** push(), pull() and stats() as sync-wasm's `.d.ts` documents them, between two clients. */
  async pushPullStats({ connect }: Lib, url: string) {
    const db = await connect({ path: 'local.db', url, clientName: 'writer' });
    await db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)');
    await db.prepare('INSERT INTO notes (body) VALUES (?)').run('hello from the writer');
    const before = await db.stats();
    await db.push();
    const after = await db.stats();

    const reader = await connect({ path: 'replica.db', url, clientName: 'reader' });
    await reader.pull();
    const notes = await reader.prepare('SELECT * FROM notes').all();
    await reader.exec("INSERT INTO notes (body) VALUES ('hello from the reader')");
    await reader.push();
    const pulled = await db.pull();
    const all = await db.prepare('SELECT body FROM notes ORDER BY id').all();
    await db.checkpoint();
    await reader.close();
    await db.close();
    return {
      pendingBefore: before.cdcOperations,
      pendingAfter: after.cdcOperations,
      pushTimeSet: typeof after.lastPushUnixTime === 'number',
      notes,
      pulled,
      all,
    };
  },
};
