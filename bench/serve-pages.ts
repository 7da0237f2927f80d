/**
 * Builds the benchmark pages with Vite's production build (minified, with the library's worker and
 * sqlite3.wasm emitted as assets, as an app using walsync would ship them) into a temporary folder,
 * and serves that folder on loopback with the COOP/COEP headers the runner's other pages use.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ServerResponse } from 'node:http';
import { build, preview, type Plugin } from 'vite';
import { repoRoot } from '../scripts/browser.js';

const pagesDir = resolve(repoRoot, 'bench/pages');

/** The pages, by the name the runner loads them with. */
export const PAGES = {
  bench: 'index.html',
  loadWalsync: 'load-walsync.html',
  loadSqliteWasm: 'load-sqlite-wasm.html',
  coldStart: 'cold-start.html',
} as const;

/** One response the server sent: its path and how many body bytes went out. */
export interface ServedResponse {
  readonly path: string;
  readonly status: number;
  readonly bodyBytes: number;
}

export interface ServedPages {
  /** Absolute URL of a page. */
  url(page: keyof typeof PAGES): string;
  /** Every response sent since the last call (the log is then emptied). */
  takeServedResponses(): ServedResponse[];
  /** The built file behind a served path. */
  filePath(servedPath: string): string;
  close(): Promise<void>;
}

/**
 * Counts the body bytes of every response the preview server sends. Counting at the server sees the
 * worker's own requests too, which the browser-side tools report as 0 bytes.
 */
function countServedBytes(log: ServedResponse[]): Plugin {
  return {
    name: 'walsync-bench-count-served-bytes',
    configurePreviewServer(server) {
      server.middlewares.use((req, res: ServerResponse, next) => {
        let bodyBytes = 0;
        const count = (chunk: unknown, encoding?: unknown) => {
          if (typeof chunk === 'string') bodyBytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
          else if (chunk instanceof Uint8Array) bodyBytes += chunk.byteLength;
        };
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.write = ((...args: unknown[]) => {
          count(args[0], args[1]);
          return write(...args);
        }) as typeof res.write;
        res.end = ((...args: unknown[]) => {
          if (typeof args[0] !== 'function') count(args[0], args[1]);
          return end(...args);
        }) as typeof res.end;
        res.on('finish', () => log.push({ path: new URL(req.url ?? '/', 'http://x').pathname, status: res.statusCode, bodyBytes }));
        next();
      });
    },
  };
}

/**
 * Hashed build output (`/assets/`: the page's chunks, walsync's worker, sqlite3.wasm) as a real
 * deployment serves it, and as Vite's docs advise: cached for a year, immutable (Vite preview itself
 * says `no-cache`). A repeat visit then loads them from the HTTP cache without asking the server,
 * and the browser's code cache serves their compiled code; with `no-cache` every load revalidated
 * every file and compiled the scripts again.
 */
function immutableAssets(): Plugin {
  return {
    name: 'walsync-bench-immutable-assets',
    configurePreviewServer(server) {
      server.middlewares.use((req, res: ServerResponse, next) => {
        if (new URL(req.url ?? '/', 'http://x').pathname.startsWith('/assets/')) {
          const setHeader = res.setHeader.bind(res);
          res.setHeader = ((name: string, value: number | string | readonly string[]) =>
            setHeader(name, name.toLowerCase() === 'cache-control' ? 'public, max-age=31536000, immutable' : value)) as typeof res.setHeader;
          res.setHeader('Cache-Control', '');
        }
        next();
      });
    },
  };
}

const isolationHeaders = {
  // Cross-origin isolation makes performance.now() precise to 5 µs instead of 100 µs.
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** `minify: false` keeps function names readable in CPU profiles (bench/profile-commits.ts). */
export async function buildAndServePages(options: { minify?: boolean } = {}): Promise<ServedPages> {
  const outDir = mkdtempSync(join(tmpdir(), 'walsync-bench-build-'));
  await build({
    root: pagesDir,
    configFile: false,
    logLevel: 'error', // rolldown's plugin-timing notes are noise here
    base: './',
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      minify: options.minify ?? true,
      rollupOptions: { input: Object.values(PAGES).map((file) => join(pagesDir, file)) },
    },
    worker: { format: 'es' },
  });
  const served: ServedResponse[] = [];
  const server = await preview({
    root: pagesDir,
    plugins: [countServedBytes(served), immutableAssets()],
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, headers: isolationHeaders },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('Vite preview did not report a port');
  // "localhost" rather than the IP: a secure context, which OPFS requires.
  const base = `http://localhost:${address.port}/`;
  return {
    url: (page) => base + PAGES[page],
    takeServedResponses: () => served.splice(0),
    filePath: (servedPath) => join(outDir, servedPath === '/' ? 'index.html' : servedPath),
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
