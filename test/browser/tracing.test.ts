/**
 * The `tracing` option against a real `tursodb --sync-server`: every engine step a sync takes
 * reaches the app's logger with its numbers, nothing does without the option, and the console is
 * the default logger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSyncTestPage } from '../support/sync-test-page.js';

const env = useSyncTestPage();

test('tracing "info" names bootstrap, push, pull, replay and checkpoint steps with their numbers', async () => {
  const r = await env.page.evaluate(async (url) => {
    const a = await window.walsync.connect({ path: 'trace-a.db', url, clientName: 'a' });
    await a.exec('CREATE TABLE tr(id INTEGER PRIMARY KEY, v TEXT)');
    await a.exec("INSERT INTO tr VALUES (1, 'one'), (2, 'two')");
    await a.push();
    const events: { level: string; step: string; path: string; fields: Record<string, unknown> }[] = [];
    const b = await window.walsync.connect({ path: 'trace-b.db', url, clientName: 'b', tracing: 'info', logger: (e) => void events.push(e) });
    await b.exec("INSERT INTO tr VALUES (3, 'three')");
    await a.exec("INSERT INTO tr VALUES (4, 'four')");
    await a.push();
    await b.sync();
    await b.checkpoint();
    // Events cross from the worker asynchronously: one more round trip lets the last ones arrive.
    await b.stats();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await a.close();
    await b.close();
    return events;
  }, env.server.url);
  const steps = r.map((e) => e.step);
  for (const step of ['bootstrap', 'push.begin', 'push.chunk', 'push.finish', 'pull.download', 'pull.apply', 'pull.replay', 'checkpoint']) {
    assert.ok(steps.includes(step), `${step} in ${steps.join(', ')}`);
  }
  assert.ok(r.every((e) => ['error', 'warn', 'info'].includes(e.level)), 'nothing below the configured level');
  assert.ok(r.every((e) => e.path.endsWith('trace-b.db')));
  const bootstrap = r.find((e) => e.step === 'bootstrap')!;
  assert.ok(Number(bootstrap.fields.pages) > 0 && typeof bootstrap.fields.revision === 'string');
  // The open sent the request before SQLite's wasm was ready, and the bootstrap took that answer.
  assert.equal(bootstrap.fields.early, true);
  for (const part of ['answerMs', 'recordMs', 'streamMs']) assert.equal(typeof bootstrap.fields[part], 'number', part);
  const chunk = r.find((e) => e.step === 'push.chunk')!;
  assert.equal(chunk.fields.changes, 1);
  const download = r.find((e) => e.step === 'pull.download')!;
  assert.ok(Number(download.fields.pages) > 0 && Number(download.fields.receivedBytes) > 0);
  assert.equal(r.find((e) => e.step === 'pull.replay')!.fields.changes, 0, 'the pushed row is on the server: nothing left to replay');
});

test('without tracing nothing is logged; with it and no logger the console gets the steps', async () => {
  const r = await env.page.evaluate(async (url) => {
    const lines: string[] = [];
    const original = console.info;
    console.info = (...args: unknown[]) => void lines.push(String(args[0]));
    try {
      const off = await window.walsync.connect({ path: 'trace-off.db', url, clientName: 'off' });
      await off.sync();
      await off.stats();
      await off.close();
      const quiet = lines.length;
      const on = await window.walsync.connect({ path: 'trace-on.db', url, clientName: 'on', tracing: 'info' });
      await on.sync();
      await on.stats();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await on.close();
      return { quiet, lines };
    } finally {
      console.info = original;
    }
  }, env.server.url);
  assert.equal(r.quiet, 0);
  assert.ok(r.lines.some((l) => /^walsync \S*trace-on\.db pull\.download$/.test(l)), r.lines.join('\n'));
});

test('tracing refuses a level sync-wasm does not name', async () => {
  const r = await env.page.evaluate(async (url) => {
    return window.kit.errorOf(() => window.walsync.connect({ path: 'trace-bad.db', url, tracing: 'verbose' as never }));
  }, env.server.url);
  assert.equal(r?.code, 'INVALID_ARGUMENT');
  assert.match(String(r?.message), /"tracing" must be one of "error", "warn", "info", "debug", "trace"/);
});
