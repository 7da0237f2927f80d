/**
 * HTTP to the sync server: one POST per call, bodies with a known length (the local server does not
 * take chunked uploads), a bearer token from the app when it has one, every failure typed, and the
 * bytes sent and received counted.
 */
import { WalsyncError } from '../errors.js';

export type TokenSource = () => Promise<string | null>;

/**
 * How long the server may stay silent: until the response headers arrive, then between two chunks of
 * the body. A server (or a black-holed network) that never answers must not hold the database's one
 * operation queue forever. The same as tursodb's own socket read timeout.
 */
export const DEFAULT_SILENCE_TIMEOUT_MS = 30_000;

export class HttpTransport {
  readonly baseUrl: string;
  readonly #token: TokenSource;
  readonly #fetch: typeof fetch;
  sentBytes = 0;
  receivedBytes = 0;
  /** Per response: the abort switch of its request, and how long the body may stay silent. */
  readonly #pending = new WeakMap<Response, { controller: AbortController; silenceMs: number }>();

  constructor(url: string, token: TokenSource, fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)) {
    // libsql:// and turso:// are https; the server matches paths exactly, so no trailing slash.
    this.baseUrl = url.replace(/^(libsql|turso):\/\//, 'https://').replace(/\/+$/, '');
    this.#token = token;
    this.#fetch = fetchImpl;
  }

  /**
   * POSTs `body` to `path`; resolves with a 200 response whose body is still unread. `silenceMs`
   * bounds the wait for the headers and for each chunk of the body (NETWORK_ERROR when exceeded).
   */
  async post(path: string, body: Uint8Array | string, contentType: string, silenceMs = DEFAULT_SILENCE_TIMEOUT_MS): Promise<Response> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const headers: Record<string, string> = {};
    let token: string | null;
    try {
      token = await this.#token();
    } catch (e) {
      throw new WalsyncError('AUTH_FAILED', `the authToken function failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    // Without credentials the request stays a CORS "simple request" (a POST of bytes with no
    // content-type, which the sync protocol does not need): no preflight, one round trip saved per
    // request. An Authorization header needs a preflight anyway; then send the proper type too.
    if (token) {
      headers.authorization = `Bearer ${token}`;
      headers['content-type'] = contentType;
    }
    const url = this.baseUrl + path;
    const controller = new AbortController();
    let response: Response;
    const timer = setTimeout(() => controller.abort(), silenceMs);
    try {
      response = await this.#fetch(url, { method: 'POST', headers, body: bytes as Uint8Array<ArrayBuffer>, cache: 'no-store', signal: controller.signal });
    } catch (e) {
      const why = controller.signal.aborted ? `no answer within ${silenceMs / 1000} s` : ((e as Error)?.message ?? String(e));
      throw new WalsyncError('NETWORK_ERROR', `could not reach the sync server at ${this.baseUrl}: ${why}`, {
        context: { url },
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
    this.sentBytes += bytes.length;
    this.#pending.set(response, { controller, silenceMs });
    if (response.status === 200) return response;
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

  /** The response body as chunks, counted as they arrive. */
  async *stream(response: Response): AsyncGenerator<Uint8Array> {
    if (!response.body) return;
    const pending = this.#pending.get(response);
    const reader = response.body.getReader();
    try {
      for (;;) {
        let step: ReadableStreamReadResult<Uint8Array>;
        const timer = pending ? setTimeout(() => pending.controller.abort(), pending.silenceMs) : undefined;
        try {
          step = await reader.read();
        } catch (e) {
          const why = pending?.controller.signal.aborted ? `no data for ${pending.silenceMs / 1000} s` : ((e as Error)?.message ?? String(e));
          throw new WalsyncError('NETWORK_ERROR', `the connection to the sync server broke mid-response: ${why}`, {
            cause: e,
          });
        } finally {
          clearTimeout(timer);
        }
        if (step.done) return;
        this.receivedBytes += step.value.length;
        yield step.value;
      }
    } finally {
      reader.releaseLock();
    }
  }

  async #readErrorText(response: Response): Promise<string> {
    const pending = this.#pending.get(response);
    const timer = pending ? setTimeout(() => pending.controller.abort(), pending.silenceMs) : undefined;
    try {
      const text = await response.text();
      this.receivedBytes += text.length;
      return text.length > 500 ? `${text.slice(0, 500)}…` : text.trim();
    } catch {
      return '';
    } finally {
      clearTimeout(timer);
    }
  }
}
