/**
 * The transport's network limits, with in-process fetch doubles (no server): a fetch that never
 * settles and ignores the abort signal, a body that trickles one byte at a time, a token function
 * that never answers, a long poll's extra time. Each must end in a typed error naming the limit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpTransport } from '../../worker/protocol/http-transport.js';
import { WalsyncError } from '../../contract/errors.js';

const noToken = async () => null;

/** A fetch that never settles, whatever its abort signal says (like a proxied app fetch). */
const neverAnswers = (() => new Promise<Response>(() => undefined)) as unknown as typeof fetch;

/** A 200 answer whose body sends one byte every `everyMs`, for ever. */
function trickling(everyMs: number): typeof fetch {
  return (async () => {
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, everyMs));
        controller.enqueue(new Uint8Array([0x2a]));
      },
    });
    return new Response(body, { status: 200 });
  }) as unknown as typeof fetch;
}

async function rejection(p: Promise<unknown>): Promise<WalsyncError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof WalsyncError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}

describe('HttpTransport limits', () => {
  test('a server that never answers: NETWORK_ERROR after silenceMs, even when fetch ignores the abort signal', async () => {
    const http = new HttpTransport('http://127.0.0.1:1', noToken, { silenceMs: 100, requestMs: 10_000 }, neverAnswers);
    const e = await rejection(http.post('/pull-updates', 'x', 'application/protobuf'));
    assert.equal(e.code, 'NETWORK_ERROR');
    assert.equal(e.context.limit, 'silenceMs');
    assert.match(e.message, /no answer within 0\.1 s \(timeouts\.silenceMs\)/);
  });

  test('a trickling body: the silence limit keeps restarting, the request deadline ends it', async () => {
    const http = new HttpTransport('http://127.0.0.1:1', noToken, { silenceMs: 200, requestMs: 600 }, trickling(20));
    const response = await http.post('/pull-updates', 'x', 'application/protobuf');
    const e = await rejection(http.readAll(response));
    assert.equal(e.code, 'NETWORK_ERROR');
    assert.equal(e.context.limit, 'requestMs');
    assert.match(e.message, /took longer than 0\.6 s \(timeouts\.requestMs\)/);
    assert.ok(http.receivedBytes > 0, 'bytes did arrive meanwhile');
  });

  test('a long poll adds its time to the answer wait', async () => {
    const http = new HttpTransport('http://127.0.0.1:1', noToken, { silenceMs: 100, requestMs: 10_000 }, neverAnswers);
    const e = await rejection(http.post('/pull-updates', 'x', 'application/protobuf', { extraMs: 200 }));
    assert.equal(e.context.limitMs, 300);
  });

  test('the first answer of a bootstrap has its own, named limit', async () => {
    const http = new HttpTransport('http://127.0.0.1:1', noToken, { silenceMs: 10_000, requestMs: 10_000 }, neverAnswers);
    const e = await rejection(http.post('/pull-updates', 'x', 'application/protobuf', { answerWithin: { ms: 100, limit: 'bootstrapWaitMs' } }));
    assert.equal(e.code, 'NETWORK_ERROR');
    assert.equal(e.context.limit, 'bootstrapWaitMs');
    assert.match(e.message, /\(timeouts\.bootstrapWaitMs\)/);
  });

  test('a token function that never answers is bounded by requestMs; one that throws is AUTH_FAILED with the cause', async () => {
    const hanging = new HttpTransport('http://127.0.0.1:1', () => new Promise<string>(() => undefined), { silenceMs: 10_000, requestMs: 100 }, neverAnswers);
    const late = await rejection(hanging.post('/v2/pipeline', '{}', 'application/json'));
    assert.equal(late.code, 'AUTH_FAILED');
    assert.equal(late.context.limit, 'requestMs');
    const cause = new Error('token service down');
    const throwing = new HttpTransport('http://127.0.0.1:1', () => Promise.reject(cause), { silenceMs: 100, requestMs: 100 }, neverAnswers);
    const failed = await rejection(throwing.post('/v2/pipeline', '{}', 'application/json'));
    assert.equal(failed.code, 'AUTH_FAILED');
    assert.match(failed.message, /the "authToken" function threw: token service down/);
    assert.equal(failed.cause, cause);
  });
});

describe('HttpTransport headers', () => {
  test('headers given to the transport (the remote encryption key and cipher) go with every request, with the content type', async () => {
    const seen: Record<string, string>[] = [];
    const recording = (async (_url: string, init: RequestInit) => {
      seen.push({ ...(init.headers as Record<string, string>) });
      return new Response(new Uint8Array(0), { status: 200 });
    }) as unknown as typeof fetch;
    const headers = { 'x-turso-encryption-key': 'a2V5', 'x-turso-encryption-cipher': 'aegis256' };
    const http = new HttpTransport('http://server', noToken, { silenceMs: 1000, requestMs: 1000 }, recording, headers);
    await http.readAll(await http.post('/pull-updates', new Uint8Array([1]), 'application/protobuf'));
    await http.readAll(await http.post('/v2/pipeline', '{}', 'application/json'));
    assert.deepEqual(seen, [
      { ...headers, 'content-type': 'application/protobuf' },
      { ...headers, 'content-type': 'application/json' },
    ]);
    // Without such headers or a token the request stays a CORS simple request: no headers at all.
    const plain = new HttpTransport('http://server', noToken, { silenceMs: 1000, requestMs: 1000 }, recording);
    await plain.readAll(await plain.post('/pull-updates', new Uint8Array([1]), 'application/protobuf'));
    assert.deepEqual(seen[2], {});
  });
});
