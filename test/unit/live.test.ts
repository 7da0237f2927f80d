/** The live database's pure parts: result comparison, the async iterator, the background loop's decisions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WalsyncError } from '../../contract/errors.js';
import { LiveQuery, liveIterator, sameResult } from '../../src/live-query.js';
import { BackgroundSync, resolveBackgroundSyncOptions } from '../../src/background-sync.js';
import { SyncStatusTracker } from '../../src/sync-status.js';
import type { Row } from '../../src/rows.js';

describe('sameResult', () => {
  test('equal values are the same result; any difference of column, row, type or byte is not', () => {
    const base = { columns: ['a', 'b'], rows: [[1, 'x'], [2, new Uint8Array([1, 2])]] };
    assert.ok(sameResult(base, { columns: ['a', 'b'], rows: [[1, 'x'], [2, new Uint8Array([1, 2])]] }));
    assert.ok(!sameResult(base, { columns: ['a', 'c'], rows: base.rows }));
    assert.ok(!sameResult(base, { columns: base.columns, rows: [[1, 'x']] }));
    assert.ok(!sameResult(base, { columns: base.columns, rows: [[1, 'x'], [2, new Uint8Array([1, 3])]] }));
    assert.ok(!sameResult(base, { columns: base.columns, rows: [[1n, 'x'], [2, new Uint8Array([1, 2])]] }));
    assert.ok(!sameResult(base, { columns: base.columns, rows: [[1, null], [2, new Uint8Array([1, 2])]] }));
  });
});

describe('LiveQuery', () => {
  test('a change during a run runs it again afterwards; other tables and equal results deliver nothing', async () => {
    let listener!: (tables: ReadonlySet<string>, source: 'local') => void;
    const runs: ((rows: number[][]) => void)[] = [];
    const delivered: Row[][] = [];
    const query = new LiveQuery(
      {
        run: () => new Promise((resolve) => runs.push((rows) => resolve({ columns: ['n'], rows, tables: ['T'] }))),
        subscribe: (l) => ((listener = l), { unsubscribe: () => undefined, ready: Promise.resolve() }),
      },
      (rows) => delivered.push(rows),
      (e) => assert.fail(e),
    );
    query.start();
    const tick = () => new Promise((r) => setTimeout(r, 0));
    await tick();
    assert.equal(runs.length, 1);
    runs[0]!([[1]]);
    await tick();
    listener(new Set(['t']), 'local'); // a change: run 2 starts
    await tick();
    listener(new Set(['T']), 'local'); // another one while run 2 is in flight: no second concurrent run...
    listener(new Set(['other']), 'local'); // ...and a table the query does not read changes nothing
    assert.equal(runs.length, 2);
    runs[1]!([[2]]);
    await tick();
    assert.equal(runs.length, 3, '...but one more run after it, for the change it may have missed');
    runs[2]!([[2]]);
    await tick();
    assert.deepEqual(delivered, [[{ n: 1 }], [{ n: 2 }]], 'the equal third result is not delivered');
    query.stop();
    listener(new Set(['t']), 'local');
    await tick();
    assert.equal(runs.length, 3);
  });
});

describe('liveIterator', () => {
  test('gives the newest result at each step, throws a failure, and stops the watch on return()', async () => {
    let deliver!: (rows: Row[]) => void;
    let fail!: (e: WalsyncError) => void;
    let stopped = 0;
    const it = liveIterator((d, f) => {
      deliver = d;
      fail = f;
      return () => stopped++;
    });
    const first = it.next();
    deliver([{ n: 1 }]);
    assert.deepEqual(await first, { value: [{ n: 1 }], done: false });
    deliver([{ n: 2 }]);
    deliver([{ n: 3 }]);
    assert.deepEqual(await it.next(), { value: [{ n: 3 }], done: false }, 'results that came and went are skipped');
    const failing = it.next();
    fail(new WalsyncError('SQLITE_ERROR', 'no such table: t'));
    await assert.rejects(failing, /no such table/);
    assert.equal(stopped, 1);
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    await it.return!();
    assert.equal(stopped, 1);
  });
});

describe('background sync decisions', () => {
  const options = resolveBackgroundSyncOptions({ intervalMs: 5, pushDelayMs: 0, retryInitialMs: 1, retryMaxMs: 4 });

  function run(failures: WalsyncError[], untilCalls: number) {
    const status = new SyncStatusTracker(async () => ({ cdcOperations: 0, mainWalSize: 0, revertWalSize: 0, lastPullUnixTime: null, lastPushUnixTime: null, revision: null, networkSentBytes: 0, networkReceivedBytes: 0 }));
    const calls: string[] = [];
    const loops: string[] = [];
    status.subscribe((s) => loops.at(-1) !== s.loop && loops.push(s.loop));
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const step = async (name: string) => {
      calls.push(name);
      if (calls.length >= untilCalls) done();
      const e = failures.shift();
      if (e) throw e;
    };
    const loop = new BackgroundSync(
      { push: () => step('push'), pull: async () => (await step('pull'), false), status, onTablesChanged: () => () => undefined },
      options,
    );
    loop.start();
    const timeout = setTimeout(done, 5_000);
    return finished.then(async () => {
      clearTimeout(timeout);
      // The last call's failure is handled after it returns.
      await new Promise((res) => setTimeout(res, 30));
      const result = { calls: [...calls], loops: [...loops], error: status.status.lastError, running: loop.running };
      loop.stop();
      return result;
    });
  }

  for (const code of ['PUSH_REJECTED', 'SERVER_RESET', 'PROTOCOL_ERROR', 'SQLITE_ERROR'] as const) {
    test(`${code} stops the loop at once`, async () => {
      const r = await run([new WalsyncError(code, 'no')], 1);
      assert.deepEqual(r.calls, ['push']);
      assert.equal(r.loops.at(-1), 'stopped');
    });
  }

  test('AUTH_FAILED is retried once, a second one in a row stops', async () => {
    const r = await run([new WalsyncError('AUTH_FAILED', 'no'), new WalsyncError('AUTH_FAILED', 'still no')], 2);
    assert.deepEqual(r.calls, ['push', 'push']);
    assert.deepEqual(r.loops, ['running', 'retrying', 'stopped']);
  });

  test('network and server errors are retried until a round succeeds, then it runs on', async () => {
    const r = await run([new WalsyncError('NETWORK_ERROR', 'x'), new WalsyncError('SERVER_ERROR', 'y'), new WalsyncError('NETWORK_ERROR', 'z')], 6);
    assert.deepEqual(r.loops, ['running', 'retrying', 'running']);
    assert.equal(r.running, true);
    assert.ok(r.calls.filter((c) => c === 'pull').length >= 1);
  });

  test('retry waits double from retryInitialMs up to retryMaxMs, each jittered down by up to half', async () => {
    const status = new SyncStatusTracker(async () => ({ cdcOperations: 0, mainWalSize: 0, revertWalSize: 0, lastPullUnixTime: null, lastPushUnixTime: null, revision: null, networkSentBytes: 0, networkReceivedBytes: 0 }));
    const waits: number[] = [];
    status.subscribe((s) => s.loop === 'retrying' && s.nextRetryAt !== null && waits.push(s.nextRetryAt - Date.now()));
    let failures = 5;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const fail = async (): Promise<void> => {
      if (failures-- > 0) throw new WalsyncError('SERVER_ERROR', 'HTTP 503');
      done();
    };
    const random = Math.random;
    Math.random = () => 0.5; // the middle of the jitter range: 3/4 of each cap
    const loop = new BackgroundSync(
      { push: fail, pull: async () => (await fail(), false), status, onTablesChanged: () => () => undefined },
      resolveBackgroundSyncOptions({ intervalMs: 10_000, pushDelayMs: 0, retryInitialMs: 8, retryMaxMs: 32 }),
    );
    try {
      loop.start();
      await finished;
    } finally {
      loop.stop();
      Math.random = random;
    }
    const expected = [6, 12, 24, 24, 24]; // caps 8, 16, 32, 32, 32
    assert.equal(waits.length, expected.length, JSON.stringify(waits));
    waits.forEach((w, i) => assert.ok(w <= expected[i]! && w >= expected[i]! - 1, `wait ${i + 1}: ${w} ms, expected ${expected[i]}`));
  });

  test('a push falling due during a pull stops its wait; the push runs, then the pull again at once; no error, no backoff; stop() stops the wait too', async () => {
    const status = new SyncStatusTracker(async () => ({ cdcOperations: 0, mainWalSize: 0, revertWalSize: 0, lastPullUnixTime: null, lastPushUnixTime: null, revision: null, networkSentBytes: 0, networkReceivedBytes: 0 }));
    const loops: string[] = [];
    status.subscribe((s) => loops.at(-1) !== s.loop && loops.push(s.loop));
    const calls: string[] = [];
    let commit!: () => void;
    let pulling: (() => void) | null = null;
    /** A long poll: resolves null when its wait is stopped (as a cut pull does), false after 5 s (which fails the test). */
    const pull = (stopWaiting?: AbortSignal) =>
      new Promise<boolean | null>((resolve) => {
        calls.push('pull');
        const timer = setTimeout(() => (calls.push('poll timed out'), resolve(false)), 5_000);
        stopWaiting?.addEventListener('abort', () => (clearTimeout(timer), calls.push('wait stopped'), resolve(null)));
        pulling?.();
      });
    /** Resolves when the n-th pull starts; rejects after 3 s (a push stuck behind the poll). */
    const pullStarted = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pull ${n} did not start within 3 s: ${calls.join(', ')}`)), 3_000);
        pulling = () => calls.filter((c) => c === 'pull').length >= n && (clearTimeout(timer), resolve());
      });
    const loop = new BackgroundSync(
      {
        push: async () => void calls.push('push'),
        pull,
        status,
        onTablesChanged: (listener) => ((commit = () => listener(new Set(['t']), 'local')), () => undefined),
      },
      // Pulls only every 10 minutes: a second pull soon after the push is the stopped one resumed.
      resolveBackgroundSyncOptions({ intervalMs: 600_000, pushDelayMs: 20, retryInitialMs: 1 }),
    );
    try {
      let started = pullStarted(1);
      loop.start();
      await started;
      started = pullStarted(2);
      commit();
      await started;
      assert.deepEqual(calls, ['push', 'pull', 'wait stopped', 'push', 'pull']);
      assert.deepEqual(loops, ['running']);
      assert.equal(status.status.lastError, null);
      loop.stop();
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(calls.slice(5), ['wait stopped'], 'stop() ends the wait of the pull in flight');
    } finally {
      loop.stop();
    }
  });

  test('with a long poll, a pull the server held or one that brought changes is followed by the next at once; a quick empty answer waits intervalMs', async () => {
    const status = new SyncStatusTracker(async () => ({ cdcOperations: 0, mainWalSize: 0, revertWalSize: 0, lastPullUnixTime: null, lastPushUnixTime: null, revision: null, networkSentBytes: 0, networkReceivedBytes: 0 }));
    const pulls: number[] = [];
    // The server's answers, in order: held 80 ms with nothing (a poll that timed out), at once with
    // changes, at once with nothing (a server that ignores long polls).
    const answers: [number, boolean][] = [[80, false], [0, true], [0, false]];
    const run = (longPollMs: number | undefined) => {
      const loop = new BackgroundSync(
        {
          push: async () => undefined,
          pull: async () => {
            pulls.push(Date.now());
            const [waitMs, changed] = answers[pulls.length - 1] ?? [0, false];
            await new Promise((r) => setTimeout(r, waitMs));
            return changed;
          },
          ...(longPollMs !== undefined ? { longPollMs } : {}),
          status,
          onTablesChanged: () => () => undefined,
        },
        resolveBackgroundSyncOptions({ intervalMs: 600_000, pushDelayMs: 0 }),
      );
      loop.start();
      return loop;
    };
    let loop = run(100);
    await new Promise((r) => setTimeout(r, 600));
    loop.stop();
    assert.equal(pulls.length, 3, 'held → again at once, changes → again at once, quick and empty → after intervalMs');
    pulls.length = 0;
    loop = run(undefined);
    await new Promise((r) => setTimeout(r, 300));
    loop.stop();
    assert.equal(pulls.length, 1, 'without a long poll every pull waits intervalMs');
  });

  test('a pull cut short is neither a pull nor an error in the status', () => {
    const status = new SyncStatusTracker(async () => ({ cdcOperations: 0, mainWalSize: 0, revertWalSize: 0, lastPullUnixTime: null, lastPushUnixTime: null, revision: null, networkSentBytes: 0, networkReceivedBytes: 0 }));
    status.began('pull');
    assert.equal(status.status.downloading, true);
    status.ended('pull');
    assert.equal(status.status.downloading, false);
    assert.equal(status.status.lastPullAt, null);
    assert.equal(status.status.lastError, null);
  });

  test('options are checked', () => {
    assert.throws(() => resolveBackgroundSyncOptions({ intervalMs: -1 }), /intervalMs/);
    assert.throws(() => resolveBackgroundSyncOptions({ retryMaxMs: Number.NaN }), /retryMaxMs/);
    assert.equal(resolveBackgroundSyncOptions(undefined).intervalMs, 10_000);
  });
});

describe('TableChangeHub', () => {
  test('after a hand-over to another leader, notices are asked for again and every table is reported changed', async () => {
    const { TableChangeHub } = await import('../../src/table-changes.js');
    const relinks: (() => void)[] = [];
    const calls: string[] = [];
    const fakeChannel = {
      onWorkerMessage: () => () => undefined,
      onRelink: (listener: () => void) => (relinks.push(listener), () => undefined),
      call: (op: (api: unknown) => Promise<unknown>) =>
        op({
          enableTableChangeNotices: async () => void calls.push('enable'),
          all: async (sql: string) => (calls.push(sql.startsWith('SELECT name FROM sqlite_schema') ? 'list' : sql), { columns: ['name'], rows: [['notes'], ['tags']] }),
        }),
    };
    const hub = new TableChangeHub(fakeChannel as never);
    const heard: [string[], string][] = [];
    const { ready } = hub.subscribe((tables, source) => heard.push([[...tables], source]));
    await ready;
    assert.deepEqual(calls, ['enable']);
    for (const relink of relinks) relink();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(calls, ['enable', 'enable', 'list']);
    assert.deepEqual(heard, [[['notes', 'tags'], 'handover']]);
  });
});
