/**
 * HTTP to the sync server: one POST per call, bodies with a known length (the local server does not
 * take chunked uploads), a bearer token from the app when it has one, every failure typed, and the
 * bytes sent and received counted.
 *
 * No request waits forever: the server may stay silent for at most `silenceMs` (until its answer
 * starts, then between two chunks), and a whole request, token included, may take at most
 * `requestMs` however steadily a server trickles bytes. Both are races against a timer, not only an
 * abort signal: the app's own `fetch` option may ignore the signal.
 */
import { WalsyncError } from '../../contract/errors.js';
import { httpSyncUrl } from '../../contract/sync-url.js';

export type TokenSource = () => Promise<string | null>;

/** The limits of every request (see ConnectOptions.timeouts), in milliseconds. */
export interface TransportLimits {
  readonly silenceMs: number;
  readonly requestMs: number;
}

/** Per-request adjustments of the limits. */
export interface RequestOptions {
  /** Added to both limits: a long poll may legitimately keep the server silent that much longer. */
  readonly extraMs?: number;
  /** Wait at most this long for the answer to start (instead of silenceMs), reported as `limit`. */
  readonly answerWithin?: { readonly ms: number; readonly limit: string };
  /**
   * Drops the request if this aborts while the server has sent nothing of its answer yet (a long
   * poll the caller no longer wants to wait for): post(), or the first read of stream(), then
   * rejects with WaitStopped. Once a byte of a 200 answer has arrived (or any other answer) it is ignored.
   */
  readonly stopWaiting?: AbortSignal;
}

/**
 * The caller's `stopWaiting` signal ended the wait before the server answered. Not a failure (so
 * not a WalsyncError): nothing was received, and it never leaves the sync remote.
 */
export class WaitStopped extends Error {
  constructor() {
    super('the wait for the sync server\'s answer was stopped before it began');
    this.name = 'WaitStopped';
  }
}

/** Which limit fired, for the error's context. */
type Limit = 'silenceMs' | 'requestMs' | (string & {});

/** A request in progress: its abort switch, its deadline and its silence limit. */
interface InFlight {
  readonly url: string;
  readonly controller: AbortController;
  /** performance.now() by which the whole request must be done. */
  readonly deadline: number;
  readonly requestMs: number;
  readonly silenceMs: number;
  /** RequestOptions.stopWaiting, until the answer's first byte (then null). */
  stopWaiting: AbortSignal | null;
}

export class HttpTransport {
  readonly baseUrl: string;
  readonly #token: TokenSource;
  readonly #fetch: typeof fetch;
  readonly #limits: TransportLimits;
  sentBytes = 0;
  receivedBytes = 0;
  readonly #pending = new WeakMap<Response, InFlight>();

  readonly #headers: Readonly<Record<string, string>>;

  /** `headers`: sent with every request (the remote encryption key and cipher). */
  constructor(url: string, token: TokenSource, limits: TransportLimits, fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis), headers: Readonly<Record<string, string>> = {}) {
    this.#headers = headers;
    // libsql:// and turso:// are https; the server matches paths exactly, so no trailing slash.
    this.baseUrl = httpSyncUrl(url).replace(/\/+$/, '');
    this.#token = token;
    this.#limits = limits;
    this.#fetch = fetchImpl;
  }

  /**
   * POSTs `body` to `path`; resolves with a 200 response whose body is still unread (read it with
   * stream() or readAll(), which keep applying the request's limits).
   */
  async post(path: string, body: Uint8Array | string, contentType: string, options: RequestOptions = {}): Promise<Response> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const url = this.baseUrl + path;
    const extra = options.extraMs ?? 0;
    const requestMs = this.#limits.requestMs + extra;
    const flight: InFlight = {
      url,
      controller: new AbortController(),
      deadline: performance.now() + requestMs,
      requestMs,
      silenceMs: this.#limits.silenceMs + extra,
      stopWaiting: options.stopWaiting ?? null,
    };
    const headers: Record<string, string> = { ...this.#headers };
    let token: string | null;
    try {
      // The app's token function gets the request's deadline, not a silence limit: it may be slow.
      token = await this.#within(flight, this.#token(), Infinity, 'requestMs', (limit, ms) =>
        new WalsyncError('AUTH_FAILED', `the "authToken" function did not answer within ${seconds(ms)} s (timeouts.${limit})`, {
          context: { url, limit, limitMs: ms },
        }),
      );
    } catch (e) {
      if (e instanceof WalsyncError) throw e;
      throw new WalsyncError('AUTH_FAILED', `the "authToken" function threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    // Without credentials the request stays a CORS "simple request" (a POST of bytes with no
    // content-type, which the sync protocol does not need): no preflight, one round trip saved per
    // request. An Authorization header (or any other) needs a preflight anyway; then send the proper type too.
    if (token) headers.authorization = `Bearer ${token}`;
    if (Object.keys(headers).length > 0) headers['content-type'] = contentType;
    const answer = options.answerWithin ?? { ms: flight.silenceMs, limit: 'silenceMs' };
    if (flight.stopWaiting?.aborted) throw new WaitStopped();
    let response: Response;
    try {
      response = await this.#within(
        flight,
        this.#unlessStopped(flight, this.#fetch(url, { method: 'POST', headers, body: bytes as Uint8Array<ArrayBuffer>, cache: 'no-store', signal: flight.controller.signal })),
        answer.ms,
        answer.limit,
        (limit, ms) =>
          new WalsyncError('NETWORK_ERROR', `could not reach the sync server at ${this.baseUrl}: ${limit === 'requestMs' ? `the request took longer than ${seconds(ms)} s` : `no answer within ${seconds(ms)} s`} (timeouts.${limit})`, {
            context: { url, limit, limitMs: ms },
          }),
      );
    } catch (e) {
      if (e instanceof WalsyncError || e instanceof WaitStopped) throw e;
      throw new WalsyncError('NETWORK_ERROR', `could not reach the sync server at ${this.baseUrl}: ${(e as Error)?.message ?? String(e)}`, {
        context: { url },
        cause: e,
      });
    }
    this.sentBytes += bytes.length;
    this.#pending.set(response, flight);
    if (response.status === 200) return response;
    flight.stopWaiting = null; // an error answer is an answer: read it whole
    const text = await this.#readErrorText(response);
    const context = { url, status: response.status, body: text };
    if (response.status === 401 || response.status === 403) {
      throw new WalsyncError('AUTH_FAILED', `the sync server refused the credentials (HTTP ${response.status})${text ? `: ${text}` : ''}`, { context });
    }
    throw new WalsyncError('SERVER_ERROR', `the sync server answered HTTP ${response.status}${text ? `: ${text}` : ''}`, { context });
  }

  /** Reads a response body, counting it; a connection that breaks mid-body is a NETWORK_ERROR. */
  async readAll(response: Response): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this.stream(response)) {
      chunks.push(chunk);
      total += chunk.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** The response body as chunks, counted as they arrive, within the request's limits. */
  async *stream(response: Response): AsyncGenerator<Uint8Array> {
    if (!response.body) return;
    const flight = this.#pending.get(response);
    const reader = response.body.getReader();
    let done = false;
    try {
      for (;;) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = flight
            ? await this.#within(flight, this.#unlessStopped(flight, reader.read()), flight.silenceMs, 'silenceMs', (limit, ms) =>
                new WalsyncError(
                  'NETWORK_ERROR',
                  limit === 'requestMs'
                    ? `the request to the sync server took longer than ${seconds(ms)} s (timeouts.requestMs); the answer was still arriving`
                    : `the connection to the sync server broke mid-response: no data for ${seconds(ms)} s (timeouts.${limit})`,
                  { context: { url: flight.url, limit, limitMs: ms } },
                ),
              )
            : await reader.read();
        } catch (e) {
          if (e instanceof WalsyncError || e instanceof WaitStopped) throw e;
          throw new WalsyncError('NETWORK_ERROR', `the connection to the sync server broke mid-response: ${(e as Error)?.message ?? String(e)}`, {
            cause: e,
          });
        }
        // The answer has begun (or ended): from here on the request is never cut short.
        if (flight) flight.stopWaiting = null;
        if (step.done) {
          done = true;
          return;
        }
        this.receivedBytes += step.value.length;
        yield step.value;
      }
    } finally {
      // A reader that stops early (an error, a limit) drops the connection rather than leave it open.
      if (!done) flight?.controller.abort();
      reader.releaseLock();
    }
  }

  async #readErrorText(response: Response): Promise<string> {
    try {
      const text = new TextDecoder().decode(await this.readAll(response));
      return text.length > 500 ? `${text.slice(0, 500)}…` : text.trim();
    } catch {
      return '';
    }
  }

  /**
   * Awaits `work`, unless the flight's stopWaiting signal aborts first: then aborts the request and
   * rejects with WaitStopped. JavaScript runs one thing at a time, so the first byte's arrival and
   * the abort cannot both win: whichever settles this race first decides.
   */
  #unlessStopped<T>(flight: InFlight, work: Promise<T>): Promise<T> {
    const stop = flight.stopWaiting;
    if (!stop) return work;
    return new Promise<T>((resolve, reject) => {
      const onStop = (): void => {
        reject(new WaitStopped());
        flight.controller.abort();
      };
      if (stop.aborted) {
        onStop();
        return;
      }
      stop.addEventListener('abort', onStop, { once: true });
      work.then(
        (value) => {
          stop.removeEventListener('abort', onStop);
          resolve(value);
        },
        (e: unknown) => {
          stop.removeEventListener('abort', onStop);
          reject(e);
        },
      );
    });
  }

  /**
   * Awaits `work`, but at most `waitMs` (the limit named `limit`) and never past the request's
   * deadline; on either, aborts the request and rejects with `timeout(limit, ms)`.
   */
  async #within<T>(flight: InFlight, work: Promise<T>, waitMs: number, limit: Limit, timeout: (limit: Limit, ms: number) => WalsyncError): Promise<T> {
    const left = Math.max(0, flight.deadline - performance.now());
    const byDeadline = left <= waitMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Reject before aborting, so the race settles with this error and not the fetch's AbortError.
        reject(byDeadline ? timeout('requestMs', flight.requestMs) : timeout(limit, waitMs));
        flight.controller.abort();
      }, Math.min(byDeadline ? left : waitMs, MAX_TIMER_MS));
    });
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** setTimeout fires at once for delays past 2^31 - 1 ms; longer waits are clamped (about 24.8 days). */
const MAX_TIMER_MS = 0x7fffffff;

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
