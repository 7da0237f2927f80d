/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of a real `tursodb --sync-server`: it forwards
 * every request unchanged, except the next N requests that match a programmed rule, which it
 * answers with an error status, a reset connection, a truncated or garbled body, a rewritten
 * `/pull-updates` stream (wrong page size, MVCC/replace-base header), a delay or a trickle.
 *
 * The server is never mocked: every faulted answer is derived from (or replaces) the real one.
 * Like tursodb, it answers OPTIONS with 204, adds permissive CORS headers (the test page has another
 * origin) and closes every connection after one exchange, so the browser never retries a request on
 * a reused socket. It listens on loopback only, forwards to loopback only, and stops by itself when
 * the process exits or after `maxLifetimeMs`.
 *
 * With `longPoll`, it also plays the long-poll the local server lacks (see FaultProxyOptions).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Fault =
  /** Answer with this status and a text body; the server never sees the request. */
  | { kind: 'status'; status: number; body?: string }
  /**
   * Break the connection. `before-forward`: at once, the server never sees the request.
   * `after-forward`: the server handles the request (e.g. commits a push), then the connection breaks
   * before any byte of the answer (a lost response). `after-headers`: the status line and headers
   * (with the full Content-Length) go out, then the connection breaks.
   */
  | { kind: 'reset'; when: 'before-forward' | 'after-forward' | 'after-headers' }
  /**
   * Send only part of the real body: the first `bytes` bytes, or the first `messages` whole
   * length-delimited protobuf messages (`/pull-updates`). `clean: false` (default) announces the
   * full Content-Length and then breaks the connection (the browser sees a failed read); `clean:
   * true` sends the part as a complete chunked body (the browser sees a normal, short body).
   */
  | { kind: 'truncate'; bytes?: number; messages?: number; clean?: boolean }
  /** Replace the body of a 200 answer with these bytes (the server did handle the request). */
  | { kind: 'garbage'; body: string | Uint8Array; contentType?: string }
  /** `/pull-updates`: re-encode the `page`-th page message (0-based, default 0) with `size` bytes of data. */
  | { kind: 'page-size'; size: number; page?: number }
  /** `/pull-updates`: make the header advertise these enum values (appended fields win in protobuf). */
  | { kind: 'header'; protocol?: number; streamKind?: number; applyMode?: number }
  /** Forward normally but hold the answer back for `ms` milliseconds. */
  | { kind: 'stall'; ms: number }
  /**
   * A server that trickles: the status line and headers go out at once, then the first `messages`
   * whole length-delimited messages (default 1: the `/pull-updates` header), then the rest of the
   * real body one byte every `intervalMs`, until it is all sent or the client goes away.
   */
  | { kind: 'trickle'; intervalMs: number; messages?: number }
  /**
   * `/pull-updates`: announce a database of 2^31-1 pages, and after the real answer keep sending
   * page messages with ever higher page numbers (copies of its first page) until the client hangs
   * up: a server streaming without end.
   */
  | { kind: 'endless' };

export interface FaultRule {
  /** Exact request path, e.g. `/pull-updates` or `/v2/pipeline`. */
  readonly path: string;
  readonly fault: Fault;
  /** How many matching requests get the fault (default 1). */
  readonly times?: number;
  /** Matching requests to let through untouched before the fault starts (default 0). */
  readonly skip?: number;
  /** Only requests whose body contains this text match (e.g. `BEGIN IMMEDIATE` for a push batch). */
  readonly bodyIncludes?: string;
}

export interface ProxiedRequest {
  readonly path: string;
  /** The fault applied, or null when forwarded untouched. */
  readonly fault: Fault['kind'] | null;
  /** Status of the upstream answer, when the request reached the server. */
  readonly upstreamStatus: number | null;
  /**
   * With `longPoll`, how a long-poll pull ended: answered at once (the server had changes), held
   * then released by a change, held until its timeout, or held until the client hung up.
   */
  readonly longPoll?: 'at-once' | 'released' | 'timed-out' | 'client-gone';
}

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  /** Every POST handled, in order. */
  readonly requests: ProxiedRequest[];
  /** Adds a rule; rules are tried in the order they were added. */
  inject(rule: FaultRule): void;
  /** Removes every rule (and leaves offline mode). */
  clear(): Promise<void>;
  /** Faults programmed but not applied yet. */
  pendingFaults(): number;
  /** Offline: stop listening (connection refused) until set back to false; same port afterwards. */
  setOffline(offline: boolean): Promise<void>;
  /** With `longPoll`: how many pulls are being held right now. */
  heldPulls(): number;
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The proxy closes itself after this long even if nobody stops it (default 10 minutes). */
  readonly maxLifetimeMs?: number;
  /**
   * Act as a server with long-poll (tursodb ignores `long_poll_timeout_ms`): a `/pull-updates`
   * request with a long-poll timeout and a client revision (and no pinned server revision), and
   * no fault rule, whose real answer brings nothing new (the revision it asked from) is held.
   * Each time a `/v2/pipeline` request has been answered (someone's push may have changed the
   * server) it is asked of the server again, and answered as soon as that brings a new revision;
   * else when its timeout has passed, with the server's answer then. A client hanging up ends it.
   */
  readonly longPoll?: boolean;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': '*',
  'access-control-allow-headers': '*',
  'access-control-expose-headers': '*',
} as const;

interface ActiveRule extends FaultRule {
  remaining: number;
  toSkip: number;
}

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(upstream.hostname)) {
    throw new Error(`the fault proxy only forwards to a loopback http server, not ${target}`);
  }
  const rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  let stopped = false;
  /** Held long-poll pulls, woken after each `/v2/pipeline` answer. */
  const held = new Set<() => void>();
  let server: Server = newServer();
  let port = 0;

  function newServer(): Server {
    const s = createServer((req, res) => void handle(req, res).catch((e) => {
      // A handler bug must not hang the browser: break the connection.
      console.error('[fault-proxy]', e);
      res.destroy();
    }));
    s.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    return s;
  }

  async function listen(on: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(on, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
    server.unref();
  }

  async function close(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  }

  function take(path: string, body: Buffer): Fault | null {
    for (const rule of rules) {
      if (rule.remaining <= 0 || rule.path !== path) continue;
      if (rule.bodyIncludes !== undefined && !body.toString('utf8').includes(rule.bodyIncludes)) continue;
      if (rule.toSkip > 0) {
        rule.toSkip--;
        return null;
      }
      rule.remaining--;
      return rule.fault;
    }
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.shouldKeepAlive = false;
    if (req.method === 'OPTIONS') {
      req.resume();
      res.writeHead(204, { ...CORS, connection: 'close' });
      res.end();
      return;
    }
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const fault = req.method === 'POST' ? take(path, body) : null;
    const entry: { -readonly [K in keyof ProxiedRequest]: ProxiedRequest[K] } = { path, fault: fault?.kind ?? null, upstreamStatus: null };
    requests.push(entry);

    if (fault?.kind === 'status') {
      const text = fault.body ?? `fault proxy: HTTP ${fault.status}`;
      res.writeHead(fault.status, { ...CORS, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), connection: 'close' });
      res.end(text);
      return;
    }
    if (fault?.kind === 'reset' && fault.when === 'before-forward') {
      req.socket.destroy();
      return;
    }

    const pulled = fault === null && options.longPoll === true && path === '/pull-updates';
    const answer = pulled ? await longPolled(req, body, entry) : await forward(req, body);
    if (answer === null) return; // the client hung up on a held long poll
    if (path === '/v2/pipeline') for (const wake of [...held]) wake();
    entry.upstreamStatus = answer.status;
    const headers: Record<string, string> = { ...CORS, connection: 'close' };
    if (answer.contentType) headers['content-type'] = answer.contentType;

    if (fault?.kind === 'reset') {
      if (fault.when === 'after-forward') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
      res.flushHeaders();
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (fault?.kind === 'truncate') {
      const cut = fault.messages !== undefined ? messageBoundary(answer.body, fault.messages) : Math.min(fault.bytes ?? 0, answer.body.length);
      const part = answer.body.subarray(0, cut);
      if (fault.clean) {
        res.writeHead(answer.status, headers); // no Content-Length: chunked, ends normally
        res.end(part);
      } else {
        res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
        res.write(part, () => setTimeout(() => req.socket.destroy(), 20));
      }
      return;
    }
    if (fault?.kind === 'endless') {
      await streamEndlessly(res, answer.status, headers, answer.body);
      return;
    }
    if (fault?.kind === 'trickle') {
      res.writeHead(answer.status, headers); // chunked: each write reaches the client as it is made
      const start = messageBoundary(answer.body, fault.messages ?? 1);
      res.write(answer.body.subarray(0, start));
      let at = start;
      const timer = setInterval(() => {
        if (req.socket.destroyed || at >= answer.body.length) {
          clearInterval(timer);
          if (!req.socket.destroyed) res.end();
          return;
        }
        res.write(answer.body.subarray(at, at + 1));
        at++;
      }, fault.intervalMs);
      timer.unref();
      req.socket.once('close', () => clearInterval(timer));
      return;
    }
    let out = answer.body;
    if (fault?.kind === 'garbage') {
      out = typeof fault.body === 'string' ? Buffer.from(fault.body, 'utf8') : Buffer.from(fault.body);
      if (fault.contentType) headers['content-type'] = fault.contentType;
    } else if (fault?.kind === 'page-size') {
      out = rewritePageSize(answer.body, fault.size, fault.page ?? 0);
    } else if (fault?.kind === 'header') {
      out = rewriteHeader(answer.body, fault);
    } else if (fault?.kind === 'stall') {
      // Hold the answer back; give up early if the client goes away (it timed out).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fault.ms);
        timer.unref();
        req.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (req.socket.destroyed) return;
    }
    res.writeHead(answer.status, { ...headers, 'content-length': String(out.length) });
    res.end(out);
  }

  /** The server's answer to a pull, held while it brings nothing new (see FaultProxyOptions.longPoll). */
  async function longPolled(req: IncomingMessage, body: Buffer, entry: { longPoll?: ProxiedRequest['longPoll'] }): Promise<Answer | null> {
    const asked = pullRequestFields(body);
    let answer = await forward(req, body);
    const bringsNothing = (): boolean => answer.status === 200 && answerRevision(answer.body) === asked.clientRevision;
    if (asked.longPollMs === 0 || asked.clientRevision === '' || asked.serverRevision !== '' || !bringsNothing()) {
      entry.longPoll = 'at-once';
      return answer;
    }
    const deadline = Date.now() + asked.longPollMs;
    for (;;) {
      const why = await new Promise<'change' | 'timeout' | 'gone'>((resolve) => {
        if (req.socket.destroyed) return resolve('gone');
        const end = (reason: 'change' | 'timeout' | 'gone') => () => {
          clearTimeout(timer);
          held.delete(onChange);
          req.socket.off('close', onGone);
          resolve(reason);
        };
        const onChange = end('change');
        const onGone = end('gone');
        const timer = setTimeout(end('timeout'), Math.max(0, deadline - Date.now()));
        timer.unref();
        held.add(onChange);
        req.socket.once('close', onGone);
      });
      if (why === 'gone') {
        entry.longPoll = 'client-gone';
        return null;
      }
      answer = await forward(req, body);
      if (why === 'timeout' || !bringsNothing()) {
        entry.longPoll = why === 'timeout' ? 'timed-out' : 'released';
        return answer;
      }
    }
  }

  async function forward(req: IncomingMessage, body: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'content-length': String(body.length) };
      const type = req.headers['content-type'];
      if (type) headers['content-type'] = type;
      if (req.headers.authorization) headers.authorization = req.headers.authorization;
      const out = httpRequest(
        { host: upstream.hostname.replace(/^\[|\]$/g, ''), port: upstream.port, path: req.url, method: req.method, headers, agent: false },
        (answer) => {
          readBody(answer).then(
            (b) => resolve({ status: answer.statusCode ?? 502, contentType: answer.headers['content-type'], body: b }),
            reject,
          );
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }

  await listen(0);
  const lifetime = setTimeout(() => void proxy.stop(), options.maxLifetimeMs ?? 10 * 60_000);
  lifetime.unref();
  const onExit = () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  process.once('exit', onExit);

  const proxy: FaultProxy = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    inject(rule) {
      rules.push({ ...rule, remaining: rule.times ?? 1, toSkip: rule.skip ?? 0 });
    },
    async clear() {
      rules.length = 0;
      await proxy.setOffline(false);
    },
    pendingFaults() {
      return rules.reduce((n, r) => n + r.remaining, 0);
    },
    heldPulls() {
      return held.size;
    },
    async setOffline(offline) {
      if (stopped) return;
      if (offline && server.listening) await close();
      if (!offline && !server.listening) {
        server = newServer();
        await listen(port);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(lifetime);
      process.off('exit', onExit);
      if (server.listening) await close();
    },
  };
  return proxy;
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

// ── length-delimited protobuf (sync-protocol.md §2.3) ────────────────────────────────────────────

function readVarint(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = pos; i < bytes.length; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('fault proxy: varint runs past the end');
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** The messages of a length-delimited stream. */
export function splitMessages(body: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const [length, start] = readVarint(body, pos);
    out.push(Buffer.from(body.subarray(start, start + length)));
    pos = start + length;
  }
  return out;
}

export function joinMessages(messages: readonly Uint8Array[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [varint(m.length), Buffer.from(m)]));
}

/** A protobuf message's varint and length-delimited fields, by field number (the last one wins). */
function messageFields(message: Uint8Array): Map<number, number | Uint8Array> {
  const fields = new Map<number, number | Uint8Array>();
  let pos = 0;
  while (pos < message.length) {
    const [key, afterKey] = readVarint(message, pos);
    const wire = key & 7;
    if (wire === 0) {
      const [v, next] = readVarint(message, afterKey);
      fields.set(Math.floor(key / 8), v);
      pos = next;
    } else if (wire === 2) {
      const [length, start] = readVarint(message, afterKey);
      fields.set(Math.floor(key / 8), message.subarray(start, start + length));
      pos = start + length;
    } else {
      throw new Error(`fault proxy: unexpected wire type ${wire}`);
    }
  }
  return fields;
}

function text(field: number | Uint8Array | undefined): string {
  return field instanceof Uint8Array ? Buffer.from(field).toString('utf8') : '';
}

/** The long-poll fields of a PullUpdatesRequest (sync-protocol.md §2.2). */
function pullRequestFields(body: Uint8Array): { serverRevision: string; clientRevision: string; longPollMs: number } {
  const fields = messageFields(body);
  const longPoll = fields.get(4);
  return { serverRevision: text(fields.get(2)), clientRevision: text(fields.get(3)), longPollMs: typeof longPoll === 'number' ? longPoll : 0 };
}

/** The server_revision of a `/pull-updates` answer's header (its first message). */
function answerRevision(body: Uint8Array): string {
  const header = splitMessages(body)[0];
  return header ? text(messageFields(header).get(1)) : '';
}

/** Byte offset just after the first `count` messages. */
function messageBoundary(body: Uint8Array, count: number): number {
  let pos = 0;
  for (let i = 0; i < count && pos < body.length; i++) {
    const [length, start] = readVarint(body, pos);
    pos = start + length;
  }
  return pos;
}

/** page_id and encoded_page of a PageData message. */
function pageFields(message: Uint8Array): { pageId: number; data: Uint8Array } {
  let pos = 0;
  let pageId = 0;
  let data: Uint8Array = new Uint8Array(0);
  while (pos < message.length) {
    const [key, afterKey] = readVarint(message, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [v, next] = readVarint(message, afterKey);
      if (field === 1) pageId = v;
      pos = next;
    } else if (wire === 2) {
      const [length, start] = readVarint(message, afterKey);
      if (field === 2) data = message.subarray(start, start + length);
      pos = start + length;
    } else {
      throw new Error(`fault proxy: unexpected wire type ${wire} in a page message`);
    }
  }
  return { pageId, data };
}

/** Writes `body` (announcing a huge database), then ever more page messages, until the client goes away (capped at 1 GiB). */
async function streamEndlessly(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): Promise<void> {
  const messages = splitMessages(body);
  const first = messages[1];
  if (!first) throw new Error('fault proxy: the /pull-updates answer has no page to repeat');
  const { data } = pageFields(first);
  // Appended fields win in protobuf: db_size (field 2) large enough for every page sent.
  messages[0] = Buffer.concat([messages[0]!, Buffer.from([0x10]), varint(0x7fffffff)]);
  const start = joinMessages(messages);
  res.writeHead(status, headers); // no Content-Length: chunked, never ends
  res.write(start);
  let closed = false;
  let wake: (() => void) | null = null;
  res.once('close', () => {
    closed = true;
    wake?.();
  });
  for (let pgno = 1_000_000, sent = start.length; !closed && sent < 2 ** 30; pgno++) {
    const message = Buffer.concat([varint(1 << 3), varint(pgno), varint((2 << 3) | 2), varint(data.length), Buffer.from(data)]);
    const chunk = joinMessages([message]);
    sent += chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        res.once('drain', resolve);
      });
    }
  }
  res.destroy();
}

function rewritePageSize(body: Buffer, size: number, index: number): Buffer {
  const messages = splitMessages(body);
  const target = messages[index + 1];
  if (!target) throw new Error(`fault proxy: the /pull-updates answer has no page #${index} to resize (${messages.length - 1} pages)`);
  const { pageId, data } = pageFields(target);
  const resized = Buffer.alloc(size);
  resized.set(data.subarray(0, Math.min(size, data.length)));
  messages[index + 1] = Buffer.concat([
    pageId === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x08]), varint(pageId)]),
    Buffer.from([0x12]),
    varint(size),
    resized,
  ]);
  return joinMessages(messages);
}

function rewriteHeader(body: Buffer, fault: { protocol?: number; streamKind?: number; applyMode?: number }): Buffer {
  const messages = splitMessages(body);
  const extra: Buffer[] = [];
  if (fault.streamKind !== undefined) extra.push(Buffer.from([0x28]), varint(fault.streamKind)); // field 5
  if (fault.applyMode !== undefined) extra.push(Buffer.from([0x30]), varint(fault.applyMode)); // field 6
  if (fault.protocol !== undefined) extra.push(Buffer.from([0x40]), varint(fault.protocol)); // field 8
  messages[0] = Buffer.concat([messages[0] ?? Buffer.alloc(0), ...extra]);
  return joinMessages(messages);
}
