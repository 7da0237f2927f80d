/**
 * The transport's network limits, with in-process fetch doubles (no server): a fetch that never
 * settles and ignores the abort signal, a body that trickles one byte at a time, a token function
 * that never answers, a long poll's extra time. Each must end in a typed error naming the limit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpTransport } from '../../worker/protocol/http-transport.js';
import { HttpSyncRemote } from '../../worker/protocol/http-sync-remote.js';
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

describe('a long poll cut short (stopWaiting)', () => {
  /** A pull answer: header (revision "5", one page, raw) then page 1, as length-delimited messages. */
  const header = new Uint8Array([0x0a, 0x01, 0x35, 0x10, 0x01, 0x1a, 0x00]);
  const page = new Uint8Array([0x12, 0x80, 0x20, ...new Uint8Array(4096).fill(7)]);
  const answer = new Uint8Array([header.length, ...header, 0x83, 0x20, ...page]);

  /** A fetch that answers at once with headers, then sends the body's first `first` bytes when `send.first()` is called, the rest at `send.rest()`. */
  function heldBody(first: number) {
    const send = { first: () => undefined as void, rest: () => undefined as void, aborted: false };
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      init.signal?.addEventListener('abort', () => (send.aborted = true));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          send.first = () => controller.enqueue(answer.slice(0, first));
          send.rest = () => {
            controller.enqueue(answer.slice(first));
            controller.close();
          };
        },
      });
      return new Response(body, { status: 200 });
    }) as unknown as typeof fetch;
    return { send, fetchImpl };
  }

  /** A fetch that never answers, but hears its abort signal. */
  function silent() {
    const state = { aborted: false };
    const fetchImpl = ((_url: string, init: RequestInit) =>
      new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => ((state.aborted = true), reject(new Error('aborted')))))) as unknown as typeof fetch;
    return { state, fetchImpl };
  }

  const limits = { silenceMs: 10_000, requestMs: 10_000 };

  test('before the answer starts (no response yet, or headers without a body byte): the request is dropped and the pull resolves null', async () => {
    const quiet = silent();
    const stop = new AbortController();
    const waiting = new HttpSyncRemote('http://server', noToken, limits, quiet.fetchImpl).pullUpdates('4', 20_000, { stopWaiting: stop.signal });
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    assert.equal(await waiting, null);
    assert.ok(quiet.state.aborted, 'the fetch was aborted');

    const held = heldBody(3);
    const stop2 = new AbortController();
    const remote = new HttpSyncRemote('http://server', noToken, limits, held.fetchImpl);
    const waiting2 = remote.pullUpdates('4', 20_000, { stopWaiting: stop2.signal });
    await new Promise((r) => setTimeout(r, 20));
    stop2.abort();
    assert.equal(await waiting2, null);
    assert.ok(held.send.aborted, 'the fetch was aborted');
    assert.equal(remote.receivedBytes, 0);

    const already = new AbortController();
    already.abort();
    const never = silent();
    assert.equal(await new HttpSyncRemote('http://server', noToken, limits, never.fetchImpl).pullUpdates('4', 20_000, { stopWaiting: already.signal }), null);
  });

  test('once a byte of the answer has arrived, stopping changes nothing: the whole answer is read', async () => {
    const held = heldBody(3); // part of the header message
    const stop = new AbortController();
    const remote = new HttpSyncRemote('http://server', noToken, limits, held.fetchImpl);
    const pulling = remote.pullUpdates('4', 20_000, { stopWaiting: stop.signal });
    await new Promise((r) => setTimeout(r, 20));
    held.send.first();
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    held.send.rest();
    const response = await pulling;
    assert.ok(response, 'not cut');
    assert.equal(response.revision, '5');
    const pages = [];
    for await (const p of response.pages) pages.push(p.pgno);
    assert.deepEqual(pages, [1]);
    assert.equal(held.send.aborted, false);
  });

  test('an answer nobody will read (cancel() before its pages are touched): the request is aborted', async () => {
    const held = heldBody(answer.length - 1); // the header, and all but the last byte of the page
    const remote = new HttpSyncRemote('http://server', noToken, limits, held.fetchImpl);
    const pulling = remote.pullUpdates(null, 0);
    await new Promise((r) => setTimeout(r, 20));
    held.send.first();
    const response = await pulling;
    assert.equal(held.send.aborted, false, 'not before cancel()');
    await response.cancel();
    assert.ok(held.send.aborted, 'the fetch was aborted');
  });
});
