/** The database path parser: one spelling per database, and clear refusals of paths OPFS cannot hold. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDatabasePath } from '../../worker/vfs/opfs-file-store.js';
import { resolveConnectOptions } from '../../src/options.js';
import { WalsyncError } from '../../contract/errors.js';

test('the spellings of one path name one database', () => {
  for (const spelling of ['app.db', './app.db', '/app.db']) {
    assert.deepEqual(parseDatabasePath(spelling), { normalized: 'app.db', dirs: [], fileName: 'app.db' }, spelling);
  }
  for (const spelling of ['dir/sub/app.db', './dir/sub/app.db', '/dir/sub/app.db']) {
    assert.deepEqual(parseDatabasePath(spelling), { normalized: 'dir/sub/app.db', dirs: ['dir', 'sub'], fileName: 'app.db' }, spelling);
  }
});

test('names are kept as they are: case, spaces, dots inside a name and unicode', () => {
  assert.equal(parseDatabasePath('App.db').normalized, 'App.db');
  assert.equal(parseDatabasePath('my notes/v1.2.db').normalized, 'my notes/v1.2.db');
  assert.equal(parseDatabasePath('..db').normalized, '..db');
  assert.equal(parseDatabasePath('données/é.db').normalized, 'données/é.db');
});

test('invalid paths are refused with INVALID_ARGUMENT saying why', () => {
  const cases: [string, RegExp][] = [
    ['C:\\x\\y.db', /backslash/],
    ['dir\\app.db', /backslash/],
    ['app\0.db', /control character/],
    ['app.db\n', /control character/],
    ['', /empty name/],
    ['/', /empty name/],
    ['./', /empty name/],
    ['a//b.db', /empty name/],
    ['dir/', /empty name/],
    ['//app.db', /empty name/],
    ['../app.db', /"\." and "\.\."/],
    ['dir/../app.db', /"\." and "\.\."/],
    ['dir/./app.db', /"\." and "\.\."/],
    ['././app.db', /"\." and "\.\."/],
    ['.', /"\." and "\.\."/],
  ];
  for (const [path, reason] of cases) {
    assert.throws(
      () => parseDatabasePath(path),
      (e: unknown) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && reason.test(e.message) && e.context.path === path,
      JSON.stringify(path),
    );
  }
});

test('connect() options carry the normalized path and refuse invalid ones before any worker starts', () => {
  assert.equal(resolveConnectOptions({ path: './app.db' }).path, 'app.db');
  assert.equal(resolveConnectOptions({ path: '/dir/app.db', url: 'http://127.0.0.1:1' }).path, 'dir/app.db');
  assert.equal(resolveConnectOptions({ path: ':memory:' }).path, ':memory:');
  for (const path of ['C:\\x\\y.db', 'a\0b.db', 'a//b.db', '../x.db']) {
    assert.throws(
      () => resolveConnectOptions({ path }),
      (e: unknown) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && e.message.startsWith('connect(): invalid database path'),
      JSON.stringify(path),
    );
  }
});
