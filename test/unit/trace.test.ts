/** The trace hook: levels as sync-wasm's `tracing` option names them, and the tracer's filter and sink. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SyncCallbacks, SyncConfig } from '../../contract/worker-api.js';
import { type TraceEvent, TRACE_LEVELS, traced } from '../../contract/trace.js';
import { tracerFor } from '../../worker/engine/engine-context.js';

test('a level shows itself and every more important level; off shows nothing', () => {
  assert.deepEqual(TRACE_LEVELS, ['error', 'warn', 'info', 'debug', 'trace']);
  assert.equal(traced('info', 'warn'), true);
  assert.equal(traced('info', 'info'), true);
  assert.equal(traced('info', 'debug'), false);
  assert.equal(traced('trace', 'debug'), true);
  assert.equal(traced(null, 'error'), false);
  assert.equal(traced(undefined, 'error'), false);
});

function callbacksLogging(events: TraceEvent[], fail = false): SyncCallbacks {
  return {
    authToken: async () => null,
    fetch: async () => {
      throw new Error('unused');
    },
    transform: async () => [],
    bootstrapProgress: async () => undefined,
    trace: async (event) => {
      if (fail) throw new Error('logger failed');
      events.push(event);
    },
  };
}

const config = { tracing: 'info' } as SyncConfig;

test('the tracer hands events at the configured level to the logger, with the path', () => {
  const events: TraceEvent[] = [];
  const trace = tracerFor(config, callbacksLogging(events), '/app.db');
  trace('info', 'pull.download', { pages: 3 });
  trace('debug', 'push.chunk', { changes: 1 });
  assert.deepEqual(events, [{ level: 'info', step: 'pull.download', path: '/app.db', fields: { pages: 3 } }]);
});

test('off by default; a failing logger does not fail the step', async () => {
  const events: TraceEvent[] = [];
  tracerFor({ ...config, tracing: undefined }, callbacksLogging(events), '/app.db')('error', 'x', {});
  assert.deepEqual(events, []);
  const trace = tracerFor(config, callbacksLogging(events, true), '/app.db');
  assert.doesNotThrow(() => trace('info', 'checkpoint', { frames: 1 }));
  await new Promise((r) => setTimeout(r, 0)); // an unhandled rejection would fail the run here
});
