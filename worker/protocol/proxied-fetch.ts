/**
 * A `fetch` for the worker that runs the app's own `fetch` option on the main thread: the request
 * crosses over whole, and the answer comes back whole as a Response the protocol code reads as usual.
 */
import { transfer } from 'comlink';
import type { SyncCallbacks } from '../../contract/worker-api.js';

export function proxiedFetch(callbacks: SyncCallbacks): typeof fetch {
  return (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const raw: unknown = init.body;
    const body: Uint8Array = raw instanceof Uint8Array ? raw.slice() : new TextEncoder().encode(String(raw ?? ''));
    const answer = await callbacks.fetch(
      transfer(
        { url: String(input), method: init.method ?? 'GET', headers: Object.fromEntries(new Headers(init.headers).entries()), body },
        [body.buffer],
      ),
    );
    return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
  }) as typeof fetch;
}
