/**
 * A loopback TCP proxy in front of the sync server that counts every byte in each direction
 * (HTTP headers, bodies, CORS preflights: what actually crosses the wire). Both clients talk to the
 * server through it, so their byte counts are measured the same way.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface CountingProxy {
  readonly url: string;
  /** Bytes from the browser to the server / from the server to the browser since the last reset. */
  readonly up: number;
  readonly down: number;
  readonly requests: number;
  /**
   * Server + transfer time seen here since the last reset: the time during which some request was
   * in flight, each from its first byte in to the last byte of its answer out (overlapping
   * requests count once). A client can be no faster than this; the rest of its time is its own.
   */
  readonly serverMs: number;
  reset(): void;
  stop(): Promise<void>;
}

/** `latencyMs`: how late the server's answers reach the browser, as from a server across a network (0: loopback). */
export async function startCountingProxy(targetPort: number, latencyMs = 0): Promise<CountingProxy> {
  let up = 0;
  let down = 0;
  let requests = 0;
  /** Each request's [first byte in, last answer byte out], in performance.now() ms, since the last reset. */
  let exchanges: { start: number; end: number }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    /** The exchange in flight on this connection (HTTP/1.1: one at a time). */
    let current: { start: number; end: number } | null = null;
    client.on('data', (chunk: Buffer) => {
      up += chunk.length;
      // Rough request count: request lines start a chunk (fine for counting, not for parsing).
      if (/^(GET|POST|OPTIONS|PUT|HEAD) /.test(chunk.subarray(0, 8).toString('latin1'))) {
        requests++;
        const now = performance.now();
        current = { start: now, end: now };
        exchanges.push(current);
        if (process.env.BENCH_TRACE === '1') {
          const head = chunk.subarray(0, Math.min(chunk.length, 2000)).toString('latin1');
          const line = head.split('\r\n', 1)[0];
          const type = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1] ?? '-';
          const length = /\r\ncontent-length: ([^\r]*)/i.exec(head)?.[1] ?? '-';
          console.log(`    [wire] ${line} content-type=${type} content-length=${length}`);
        }
      }
    });
    client.pipe(upstream);
    if (latencyMs > 0) {
      // A remote server: every answer byte reaches the browser latencyMs late (in order; no backpressure).
      upstream.on('data', (chunk: Buffer) => {
        const exchange = current;
        setTimeout(() => {
          down += chunk.length;
          if (exchange) exchange.end = performance.now();
          if (!client.destroyed) client.write(chunk);
        }, latencyMs);
      });
    } else {
      upstream.on('data', (chunk: Buffer) => {
        down += chunk.length;
        if (current) current.end = performance.now();
      });
      upstream.pipe(client);
    }
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    if (latencyMs > 0) {
      // The server's close comes as late as its last bytes, and lets the bytes still queued go out first.
      upstream.on('end', () => setTimeout(() => client.end(), latencyMs));
      upstream.on('error', () => setTimeout(end, latencyMs));
    } else {
      upstream.on('error', end).on('close', end);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get up() {
      return up;
    },
    get down() {
      return down;
    },
    get requests() {
      return requests;
    },
    get serverMs() {
      return unionMs(exchanges);
    },
    reset() {
      up = 0;
      down = 0;
      requests = 0;
      exchanges = [];
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Total length of the union of the intervals. */
function unionMs(intervals: readonly { start: number; end: number }[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let from = -Infinity;
  let to = -Infinity;
  for (const { start, end } of sorted) {
    if (start > to) {
      if (to > from) total += to - from;
      from = start;
      to = end;
    } else if (end > to) {
      to = end;
    }
  }
  if (to > from) total += to - from;
  return total;
}
