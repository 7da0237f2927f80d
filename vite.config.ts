/**
 * Vite config for the demo app in demo/ (`npm start` serves it, `npm run build:demo` builds it to
 * demo-dist/). The library itself is plain TypeScript and needs no bundler config.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)));
const demoRoot = join(root, 'demo');
const outDir = join(root, 'demo-dist');

/** Every file under `dir`, as paths relative to it with forward slashes. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full).map((f) => `${name}/${f}`));
    else out.push(name);
  }
  return out;
}

/**
 * After a build, writes the list of every built file into the service worker (sw.js), so it can
 * cache the whole app (pages, scripts, the database worker, the wasm) when it installs. In dev the
 * list stays empty and the service worker caches what the pages fetch as they fetch it.
 */
function precacheManifest(): Plugin {
  let builtTo = outDir;
  return {
    name: 'walsync-demo-precache',
    apply: 'build',
    configResolved(config) {
      builtTo = resolve(config.root, config.build.outDir);
    },
    closeBundle(error?: Error) {
      const swPath = join(builtTo, 'sw.js');
      if (error || !existsSync(swPath)) return;
      const files = listFiles(builtTo)
        .filter((f) => f !== 'sw.js')
        .map((f) => f.split(sep).join('/'))
        .sort();
      const version = Date.now().toString(36);
      const source = readFileSync(swPath, 'utf8')
        .replace('const PRECACHE = [];', `const PRECACHE = ${JSON.stringify(['./', ...files])};`)
        .replace("const VERSION = 'dev';", `const VERSION = '${version}';`);
      if (!source.includes(version)) throw new Error('sw.js: precache placeholders not found');
      writeFileSync(swPath, source);
      this.info?.(`sw.js: ${files.length} files to precache (${relative(root, builtTo)})`);
    },
  };
}

export default defineConfig({
  root: demoRoot,
  // Relative asset paths: the build works from any folder of any static host.
  base: './',
  clearScreen: false,
  publicDir: join(demoRoot, 'public'),
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: join(demoRoot, 'index.html'),
        app: join(demoRoot, 'app.html'),
      },
    },
  },
  worker: { format: 'es' },
  // sqlite-wasm loads its .wasm relative to its own module, which pre-bundling would break. The other
  // dependencies are plain ESM and are served as they are, so no reload for late-discovered deps.
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'], noDiscovery: true, include: [] },
  server: { host: '127.0.0.1', strictPort: false },
  preview: { host: '127.0.0.1' },
  plugins: [precacheManifest()],
});
