/**
 * Builds one bench page folder with Vite (production bundles, as an app would ship) and serves the
 * build on loopback with COOP/COEP, for the sync and live benchmarks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, preview } from 'vite';
import { repoRoot } from '../scripts/browser.js';

export interface BuiltPage {
  /** The page's url (its index.html). */
  readonly url: string;
  /** Stops the server and removes the build. */
  close(): Promise<void>;
}

/** `pagesDir`: the page folder, relative to the repository (e.g. `bench/sync/pages`). */
export async function buildAndServePage(pagesDir: string): Promise<BuiltPage> {
  const outDir = mkdtempSync(join(tmpdir(), 'walsync-bench-page-'));
  const root = resolve(repoRoot, pagesDir);
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    base: './',
    // Not minified, so CPU profiles name functions (V8 speed is the same either way).
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false, reportCompressedSize: false, chunkSizeWarningLimit: 1e9 },
    worker: { format: 'es' },
  });
  const server = await preview({
    root,
    configFile: false,
    logLevel: 'error',
    build: { outDir },
    preview: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview did not report a port');
  return {
    url: `http://127.0.0.1:${address.port}/index.html`,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
