/** connect() option validation: network timeouts and url functions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TIMEOUTS, resolveConnectOptions, resolveUrlFunction } from '../../src/options.js';
import { WalsyncError } from '../../contract/errors.js';

const base = { path: 'app.db', url: 'http://127.0.0.1:8080' };

describe('timeouts', () => {
  test('default to 15 s of silence, 2 min per request and 10 s for the first answer of a bootstrap', () => {
    assert.deepEqual(resolveConnectOptions(base).sync!.timeouts, { silenceMs: 15_000, requestMs: 120_000, bootstrapWaitMs: 10_000 });
    assert.equal(DEFAULT_TIMEOUTS.silenceMs, 15_000);
  });

  test('each limit can be set alone; the others keep their default', () => {
    assert.deepEqual(resolveConnectOptions({ ...base, timeouts: { requestMs: 5000 } }).sync!.timeouts, {
      silenceMs: 15_000,
      requestMs: 5000,
      bootstrapWaitMs: 10_000,
    });
  });

  test('bad values are INVALID_ARGUMENT naming the limit', () => {
    const cases: [unknown, RegExp][] = [
      [{ silenceMs: 0 }, /"timeouts\.silenceMs" must be a whole number/],
      [{ requestMs: 2 ** 31 }, /"timeouts\.requestMs" must be a whole number/],
      [{ bootstrapWaitMs: 1.5 }, /"timeouts\.bootstrapWaitMs"/],
      [{ silenceMs: '100' }, /"timeouts\.silenceMs"/],
      [{ connectMs: 100 }, /unknown limit "connectMs"/],
      [[], /"timeouts" must be an object/],
      [null, /"timeouts" must be an object/],
    ];
    for (const [timeouts, message] of cases) {
      assert.throws(
        () => resolveConnectOptions({ ...base, timeouts }),
        (e: unknown) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && message.test(e.message),
        JSON.stringify(timeouts),
      );
    }
  });

  test('need a url', () => {
    assert.throws(() => resolveConnectOptions({ path: 'app.db', timeouts: {} }), /"timeouts" needs a "url"/);
  });
});

describe('url functions', () => {
  const check = (f: () => string | null, call: string, message: RegExp, cause?: string) =>
    assert.throws(
      () => resolveUrlFunction(f, call),
      (e: unknown) =>
        e instanceof WalsyncError &&
        e.code === 'INVALID_ARGUMENT' &&
        message.test(e.message) &&
        (cause === undefined || (e.cause as Error).message === cause),
    );

  test('what they return is checked, and errors name the call and the function', () => {
    assert.equal(resolveUrlFunction(() => 'libsql://db.example', 'push'), 'libsql://db.example');
    assert.equal(resolveUrlFunction(() => null, 'push'), null);
    check(() => '', 'push', /^push\(\): the "url" function returned an empty string/);
    check(() => 'not a url', 'pull', /^pull\(\): the "url" function returned an invalid URL: "not a url"/);
    check(() => 'ws://x', 'connect', /^connect\(\): the "url" function returned a url that is not http/);
    check(() => 42 as unknown as string, 'push', /^push\(\): the "url" function must return a string or null, not number/);
  });

  test('a function that throws keeps its error as the cause', () => {
    check(
      () => {
        throw new Error('no tenant');
      },
      'push',
      /^push\(\): the "url" function threw: no tenant/,
      'no tenant',
    );
  });
});

describe('tracing', () => {
  test('off by default; takes the levels sync-wasm names, with an optional logger', () => {
    assert.equal(resolveConnectOptions(base).sync!.tracing, null);
    for (const level of ['error', 'warn', 'info', 'debug', 'trace'] as const) {
      assert.equal(resolveConnectOptions({ ...base, tracing: level }).sync!.tracing, level);
    }
    const logger = () => undefined;
    assert.equal(resolveConnectOptions({ ...base, tracing: 'info', logger }).sync!.logger, logger);
    assert.equal(typeof resolveConnectOptions(base).sync!.logger, 'function', 'the console by default');
  });

  test('a bad level or logger is INVALID_ARGUMENT; both need a url', () => {
    const refused = (options: unknown, pattern: RegExp) =>
      assert.throws(() => resolveConnectOptions(options), (e) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));
    refused({ ...base, tracing: 'verbose' }, /"tracing" must be one of "error", "warn", "info", "debug", "trace"/);
    refused({ ...base, tracing: true }, /"tracing" must be one of/);
    refused({ ...base, logger: 'console' }, /"logger" must be a function/);
    refused({ path: 'app.db', tracing: 'info' }, /"tracing" needs a "url"/);
  });
});

describe('onSyncStatus', () => {
  test('takes a function, on a synced database only', () => {
    const listener = () => undefined;
    assert.equal(resolveConnectOptions({ ...base, onSyncStatus: listener }).sync!.onSyncStatus, listener);
    assert.equal(resolveConnectOptions(base).sync!.onSyncStatus, null);
    assert.throws(() => resolveConnectOptions({ ...base, onSyncStatus: 'yes' }), /"onSyncStatus" must be a function/);
    assert.throws(() => resolveConnectOptions({ path: 'app.db', onSyncStatus: listener }), /"onSyncStatus" needs a "url"/);
  });
});

describe('sync-wasm options with their own answer', () => {
  const KEY32 = Buffer.alloc(32, 7).toString('base64');
  const KEY16 = Buffer.alloc(16, 7).toString('base64');

  test('remoteEncryption: a base64 key of 16 or 32 bytes and a known cipher are accepted', () => {
    assert.deepEqual(resolveConnectOptions({ ...base, remoteEncryption: { key: KEY32, cipher: 'aegis256' } }).sync!.remoteEncryption, { key: KEY32, cipher: 'aegis256' });
    assert.deepEqual(resolveConnectOptions({ ...base, remoteEncryption: { key: KEY16, cipher: 'aes128gcm' } }).sync!.remoteEncryption, { key: KEY16, cipher: 'aes128gcm' });
    assert.equal(resolveConnectOptions(base).sync!.remoteEncryption, null);
  });

  test('remoteEncryption: a bad cipher, key or shape, or no url, is INVALID_ARGUMENT saying which', () => {
    const cases: [unknown, RegExp][] = [
      [{ key: KEY32, cipher: 'rot13' }, /"remoteEncryption\.cipher" must be one of aes128gcm/],
      [{ key: 'not base64!', cipher: 'aegis256' }, /"remoteEncryption\.key" must be the base64 of a 16- or 32-byte key/],
      [{ key: Buffer.alloc(20).toString('base64'), cipher: 'aegis256' }, /"remoteEncryption\.key"/],
      [{ key: KEY32, cipher: 'aegis256', salt: 'x' }, /unknown field "salt"/],
      ['aegis256', /"remoteEncryption" must be \{ key/],
    ];
    for (const [remoteEncryption, message] of cases) {
      assert.throws(
        () => resolveConnectOptions({ ...base, remoteEncryption }),
        (e: unknown) => e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && message.test(e.message),
        JSON.stringify(remoteEncryption),
      );
    }
    assert.throws(() => resolveConnectOptions({ path: 'app.db', remoteEncryption: { key: KEY32, cipher: 'aegis256' } }), /"remoteEncryption" needs a "url"/);
  });

  test('partialSyncExperimental is refused with its reason, not as an unknown option', () => {
    assert.throws(
      () => resolveConnectOptions({ ...base, partialSyncExperimental: { bootstrapStrategy: { kind: 'prefix', length: 4096 } } }),
      (e: unknown) =>
        e instanceof WalsyncError && e.code === 'INVALID_ARGUMENT' && /"partialSyncExperimental" is not supported: walsync always downloads the whole database/.test(e.message) && e.context.option === 'partialSyncExperimental',
    );
  });
});
