/**
 * ORM test page: one scenario per ORM on a synced walsync database, each in the browser from start
 * to end (schema, inserts, a join, transactions that commit and roll back, a batch, push, and a
 * second client that pulls the rows). Results come back as JSON (bigints as strings).
 */
import { eq } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { type Generated, Kysely, sql } from 'kysely';
import { connect } from '../../../src/index.js';
import { drizzle } from '../../../src/drizzle.js';
import { WalsyncDialect } from '../../../src/kysely.js';

const users = sqliteTable('users', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
});
const posts = sqliteTable('posts', {
  id: integer('id').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
});

const DDL = `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL);`;

/** The rejection's message, or 'resolved'. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    // Drizzle wraps the driver's error: the walsync error is its cause.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return cause ? `${(e as Error).message} <- ${cause.code}: ${cause.message}` : (e as Error).message;
  }
}

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
}

async function drizzleScenario(url: string): Promise<unknown> {
  const db = await connect({ path: 'drizzle-a.db', url });
  const orm = drizzle(db, { schema: { users, posts } });
  const out: Record<string, unknown> = {};
  await db.exec(DDL);
  await orm.insert(users).values([
    { id: 1, name: 'Ann' },
    { id: 2, name: 'Bo' },
  ]);
  await orm.insert(posts).values([
    { id: 10, userId: 1, title: 'first' },
    { id: 11, userId: 2, title: 'second' },
  ]);
  // Both tables have an "id": rows read as arrays keep each table's own.
  out.join = await orm.select().from(posts).innerJoin(users, eq(posts.userId, users.id)).orderBy(posts.id);
  out.picked = await orm
    .select({ postId: posts.id, userId: users.id, name: users.name })
    .from(posts)
    .innerJoin(users, eq(posts.userId, users.id))
    .where(eq(users.name, 'Bo'))
    .get();
  out.commit = await orm.transaction(async (tx) => {
    await tx.insert(users).values({ id: 3, name: 'Cy' });
    await tx.insert(posts).values({ id: 12, userId: 3, title: 'third' });
    return { inTransaction: db.inTransaction, pushInside: await failure(db.push()) };
  });
  out.afterCommit = db.inTransaction;
  out.rollbackByThrow = await failure(
    orm.transaction(async (tx) => {
      await tx.insert(users).values({ id: 4, name: 'Dee' });
      throw new Error('changed my mind');
    }),
  );
  out.rollbackByCall = await failure(
    orm.transaction(async (tx) => {
      await tx.insert(users).values({ id: 5, name: 'Eve' });
      tx.rollback();
    }),
  );
  out.rollbackBySqlError = await failure(
    orm.transaction(async (tx) => {
      await tx.insert(users).values({ id: 6, name: 'Fay' });
      await tx.insert(users).values({ id: 1, name: 'Ann again' }); // primary key taken
    }),
  );
  out.nested = await orm.transaction(async (tx) => {
    await tx.insert(users).values({ id: 7, name: 'Gus' });
    const inner = await failure(
      tx.transaction(async (tx2) => {
        await tx2.insert(users).values({ id: 8, name: 'Hal' });
        throw new Error('inner only');
      }),
    );
    return inner;
  });
  out.batch = await orm.batch([orm.insert(users).values({ id: 9, name: 'Ida' }), orm.select({ n: users.id }).from(users).where(eq(users.id, 9))]);
  out.batchRollback = await failure(orm.batch([orm.insert(users).values({ id: 20, name: 'Jo' }), orm.insert(users).values({ id: 1, name: 'dup' })]));
  // A transaction begun while another is open waits its turn: the first failing rolls back only itself.
  let firstOpen!: () => void;
  const firstIsOpen = new Promise<void>((resolve) => (firstOpen = resolve));
  const first = orm.transaction(async (tx) => {
    await tx.insert(users).values({ id: 30, name: 'first' });
    firstOpen();
    await new Promise((r) => setTimeout(r, 50));
    throw new Error('first fails');
  });
  await firstIsOpen;
  const second = orm.transaction(async (tx) => {
    await tx.insert(users).values({ id: 31, name: 'second' });
  });
  out.concurrent = (await Promise.allSettled([first, second])).map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).message));
  out.users = await orm.select().from(users).orderBy(users.id);
  out.relational = await orm.query.users.findFirst({ where: eq(users.id, 3) });
  await db.push();
  out.pendingAfterPush = (await db.stats()).cdcOperations;
  await db.close();

  const other = await connect({ path: 'drizzle-b.db', url });
  const otherOrm = drizzle(other);
  out.pulled = await otherOrm
    .select({ name: users.name, title: posts.title })
    .from(posts)
    .innerJoin(users, eq(posts.userId, users.id))
    .orderBy(posts.id);
  out.pulledUsers = (await otherOrm.select({ id: users.id }).from(users).orderBy(users.id)).map((r) => r.id);
  await other.close();
  return plain(out);
}

interface KyselyDb {
  k_users: { id: number; name: string };
  k_posts: { id: Generated<number>; user_id: number; title: string };
}

async function kyselyScenario(url: string): Promise<unknown> {
  const db = await connect({ path: 'kysely-a.db', url });
  const k = new Kysely<KyselyDb>({ dialect: new WalsyncDialect({ database: db }) });
  const out: Record<string, unknown> = {};
  await k.schema
    .createTable('k_users')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .execute();
  await k.schema
    .createTable('k_posts')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('k_users.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .execute();
  out.insertUsers = await k
    .insertInto('k_users')
    .values([
      { id: 1, name: 'Ann' },
      { id: 2, name: 'Bo' },
    ])
    .executeTakeFirst();
  out.returning = await k
    .insertInto('k_posts')
    .values([
      { user_id: 1, title: 'first' },
      { user_id: 2, title: 'second' },
    ])
    .returning(['id', 'title'])
    .execute();
  out.join = await k
    .selectFrom('k_posts')
    .innerJoin('k_users', 'k_users.id', 'k_posts.user_id')
    .select(['k_posts.id as postId', 'k_users.name', 'k_posts.title'])
    .orderBy('k_posts.id')
    .execute();
  out.update = await k.updateTable('k_posts').set({ title: 'first!' }).where('id', '=', 1).executeTakeFirst();
  out.raw = (await sql<{ n: number }>`SELECT count(*) AS n FROM k_users`.execute(k)).rows;
  out.rawWrite = await sql`UPDATE k_users SET name = name WHERE id > ${0}`.execute(k);
  out.commit = await k.transaction().execute(async (trx) => {
    await trx.insertInto('k_users').values({ id: 3, name: 'Cy' }).execute();
    await trx.insertInto('k_posts').values({ user_id: 3, title: 'third' }).execute();
    return { inTransaction: db.inTransaction, pushInside: await failure(db.push()) };
  });
  out.afterCommit = db.inTransaction;
  out.rollbackByThrow = await failure(
    k.transaction().execute(async (trx) => {
      await trx.insertInto('k_users').values({ id: 4, name: 'Dee' }).execute();
      throw new Error('changed my mind');
    }),
  );
  out.rollbackBySqlError = await failure(
    k.transaction().execute(async (trx) => {
      await trx.insertInto('k_users').values({ id: 6, name: 'Fay' }).execute();
      await trx.insertInto('k_users').values({ id: 1, name: 'Ann again' }).execute();
    }),
  );
  const controlled = await k.startTransaction().execute();
  await controlled.insertInto('k_users').values({ id: 7, name: 'Gus' }).execute();
  const savepoint = await controlled.savepoint('before_hal').execute();
  await savepoint.insertInto('k_users').values({ id: 8, name: 'Hal' }).execute();
  const rolledBack = await savepoint.rollbackToSavepoint('before_hal').execute();
  await rolledBack.commit().execute();
  const aborted = await k.startTransaction().execute();
  await aborted.insertInto('k_users').values({ id: 9, name: 'Ida' }).execute();
  await aborted.rollback().execute();
  const streamed: unknown[] = [];
  for await (const row of k.selectFrom('k_users').select('name').orderBy('id').stream()) streamed.push(row.name);
  out.streamed = streamed;
  out.users = await k.selectFrom('k_users').selectAll().orderBy('id').execute();
  await db.push();
  out.pendingAfterPush = (await db.stats()).cdcOperations;
  await k.destroy();
  out.openAfterDestroy = db.open;

  const other = new Kysely<KyselyDb>({ dialect: new WalsyncDialect({ database: () => connect({ path: 'kysely-b.db', url }) }) });
  out.pulled = await other
    .selectFrom('k_posts')
    .innerJoin('k_users', 'k_users.id', 'k_posts.user_id')
    .select(['k_users.name', 'k_posts.title'])
    .orderBy('k_posts.id')
    .execute();
  await other.destroy();
  return plain(out);
}

declare global {
  interface Window {
    ormScenarios: { drizzle: typeof drizzleScenario; kysely: typeof kyselyScenario };
    walsyncReady: boolean;
  }
}

window.ormScenarios = { drizzle: drizzleScenario, kysely: kyselyScenario };
window.walsyncReady = true;
