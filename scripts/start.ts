/**
 * `npm start`: a local sync server (`tursodb --sync-server` on a free loopback port, fresh database in
 * .data/demo-server/) and the demo app's Vite dev server, wired together. Prints the URL; Ctrl-C,
 * SIGTERM and SIGHUP (to this process or to the `npm start` above it) stop both, and if either one
 * dies the other is stopped too.
 *   node --import tsx scripts/start.ts [--port 5173]
 * The test and the screenshot script use startDemo() with a temporary server database.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { startSyncServer, type SyncServer } from './sync-server.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface Demo {
  /** The two-device page. */
  readonly url: string;
  readonly sync: SyncServer;
  readonly vite: ViteDevServer;
  /** Stops the dev server and the sync server (idempotent). */
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** Folder for the sync server's database; a temporary one (removed on stop) by default. */
  serverDataDir?: string;
  /** Dev server port; a free one near 5173 by default. */
  port?: number;
  logLevel?: 'info' | 'error' | 'silent';
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const sync = await startSyncServer(options.serverDataDir ? { dataDir: options.serverDataDir } : {});
  let vite: ViteDevServer;
  // Vite hands VITE_* variables of its environment to the app (import.meta.env) when the server is
  // created; they are put back afterwards so that they do not leak into later builds in this process.
  const env = {
    VITE_WALSYNC_SERVER: sync.url,
    // Tells this server from an earlier one on the same port: the app drops copies synced with that one.
    VITE_WALSYNC_SERVER_ID: `${sync.pid}-${Date.now()}`,
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  try {
    Object.assign(process.env, env);
    vite = await createServer({
      configFile: resolve(repoRoot, 'vite.config.ts'),
      logLevel: options.logLevel ?? 'info',
      server: { port: options.port ?? 5173, strictPort: options.port !== undefined },
    });
    await vite.listen();
  } catch (e) {
    await sync.stop();
    throw e;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const address = vite.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a port');
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    sync,
    vite,
    stop() {
      stopping ??= (async () => {
        await vite.close().catch(() => undefined);
        // SyncServer.stop() throws ESRCH when tursodb died before Node noticed its exit; it is gone either way.
        await sync.stop().catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ESRCH') throw e;
        });
      })();
      return stopping;
    },
  };
}

/** The parent of process `pid` (Linux: from /proc), or null where that cannot be read. */
function parentOf(pid: number): number | null {
  try {
    // Fields after the command name (in parentheses, which may hold spaces): state, then ppid.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** True while the process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : process.env.PORT ? Number(process.env.PORT) : undefined;
  const dataDir = resolve(repoRoot, '.data/demo-server');
  const demo = await startDemo({ serverDataDir: dataDir, ...(port ? { port } : {}), logLevel: 'error' });
  console.log(`
  walsync demo   ${demo.url}
  sync server    ${demo.sync.url}  (fresh database: ${demo.sync.dbPath})

  Open the demo URL in Chrome, Edge, Firefox or Safari. Ctrl-C stops both servers.
`);
  let exiting = false;
  const shutdown = async (why: string, code: number) => {
    if (exiting) return;
    exiting = true;
    clearInterval(watchdog);
    if (why) console.log(why);
    await demo.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('\nstopping…', 0));
  process.once('SIGTERM', () => void shutdown('', 0));
  // The terminal closed (or a supervisor asks): without a handler Node would exit and leave tursodb running.
  process.once('SIGHUP', () => void shutdown('', 0));
  demo.vite.httpServer?.once('close', () => void shutdown('the dev server stopped; stopping the sync server', 1));
  // `npm start` runs us under `sh -c`: a SIGTERM or SIGHUP to npm ends npm (and, for SIGTERM, that
  // shell) but never reaches this process, which would keep tursodb and Vite running as orphans.
  // Our parent or its parent (npm) going away is the signal that reached them.
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  const watchdog = setInterval(() => {
    if (!alive(demo.sync.pid)) void shutdown('the sync server (tursodb) stopped; stopping the dev server', 1);
    else if (process.ppid !== parent || (grandparent !== null && parentOf(parent) !== grandparent)) {
      void shutdown('the process that started us (npm) stopped; stopping both servers', 0);
    }
  }, 1000);
}
