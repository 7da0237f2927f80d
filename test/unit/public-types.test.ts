/**
 * The public types, checked by the type checker (`npm run typecheck` compiles this file): rows are
 * typed by a type parameter, and only values walsync can bind compile as arguments. Each
 * `@ts-expect-error` fails the type check if the line below it compiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database, Statement } from '../../src/index.js';

interface User {
  id: number;
  name: string;
}

// Never called: only compiled.
export async function typedCalls(db: Database, stmt: Statement): Promise<void> {
  const users: User[] = await stmt.all<User>();
  const user: User | undefined = await stmt.get<User>(1);
  for await (const u of stmt.iterate<User>()) void u.name;
  await stmt.run(1, 'a', null, 2n, true, new Uint8Array(1));
  await stmt.run([1, 'a']);
  await stmt.run({ id: 1, name: 'a' });
  // @ts-expect-error a Date is not a value walsync binds (convert it: toISOString() or getTime())
  await stmt.run(new Date());
  // @ts-expect-error nor inside an array
  await stmt.run([new Date()]);
  // @ts-expect-error nor as a named value
  await stmt.run({ at: new Date() });
  // @ts-expect-error undefined is not bindable
  await stmt.all(undefined);
  const tx = db.transaction(async (n: number) => n + 1);
  const viaVariant: number = await tx.immediate(1);
  // @ts-expect-error the variants keep the argument types
  await tx.exclusive('x');
  void users, user, viaVariant;
}

test('the public types compile as the examples above say (checked by tsc, not at run time)', () => {
  assert.equal(typeof typedCalls, 'function');
});
