/**
 * Starts `tursodb --sync-server` on a free loopback port with a fresh database file. Tests, the
 * benchmark and `npm start` all use this one module. Run directly it serves until Ctrl-C:
 *   node --import tsx scripts/sync-server.ts [--port 8787] [--data .data/server]
 * The server only serves what is in its WAL, so it always starts on a new, empty database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpTransport } from '../worker/protocol/http-transport.js';
import { type BatchStep, runBatch } from '../worker/protocol/pipeline.js';
import type { EngineValue } from '../contract/sql-value.js';

export interface SyncServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dbPath: string;
  stop(): Promise<void>;
}

export interface SyncServerOptions {
  /** Folder for the database file; a fresh temporary folder (removed on stop) by default. */
  dataDir?: string | undefined;
  /** Port on 127.0.0.1; a free one by default. */
  port?: number | undefined;
  /**
   * Serve an encrypted database (tursodb's experimental encryption): the file is encrypted at rest
   * with this cipher and key, pages travel decrypted with the cipher's reserved bytes per page.
   */
  encryption?: { cipher: string; hexKey: string } | undefined;
}

/** Path of the tursodb binary shipped in the platform's @tursodatabase/cli-* package. */
export function tursodbPath(): string {
  const libc = process.platform === 'linux' ? '-gnu' : '';
  const pkg = `@tursodatabase/cli-${process.platform}-${process.arch}${libc}`;
  try {
    const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    const binary = join(dirname(manifest), process.platform === 'win32' ? 'tursodb.exe' : 'tursodb');
    if (existsSync(binary)) return binary;
  } catch {
    // fall through to the error below
  }
  throw new Error(`tursodb is not installed for ${process.platform}-${process.arch}: expected the npm package ${pkg} (run npm install)`);
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startSyncServer(options: SyncServerOptions = {}): Promise<SyncServer> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ? resolve(options.dataDir) : mkdtempSync(join(tmpdir(), 'walsync-server-'));
  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, 'server.db');
  // A fresh database every time: the server serves only WAL frames (sync-protocol.md §9.4).
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  const port = options.port ?? (await freeLoopbackPort());
  const database = options.encryption
    ? ['--experimental-encryption', `file:${dbPath}?cipher=${encodeURIComponent(options.encryption.cipher)}&hexkey=${encodeURIComponent(options.encryption.hexKey)}`]
    : [dbPath];
  const child = spawn(tursodbPath(), [...database, '--sync-server', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', () => running.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tursodb exited (code ${child.exitCode}) before serving: ${output.trim()}`);
    try {
      await fetch(`${url}/`, { signal: AbortSignal.timeout(500) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`tursodb did not answer on ${url} within 10 s: ${output.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  }
  return {
    url,
    port,
    pid: child.pid!,
    dbPath,
    async stop() {
      if (child.exitCode === null) {
        try {
          process.kill(child.pid!, 'SIGTERM');
        } catch {
          // It died on its own and Node has not seen the exit yet: nothing left to stop.
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `steps` on the server at `url` in one Hrana batch, each only if the one before succeeded,
 * through walsync's own Hrana client; returns each step's rows (integers beyond 2^53 as bigint,
 * blobs as Uint8Array). Throws on a failed step. For tests and benchmarks that set up or read the
 * server's data directly.
 */
export async function runOnServer(url: string, steps: readonly { sql: string; args?: readonly EngineValue[] }[], timeoutMs = 120_000): Promise<unknown[][][]> {
  const http = new HttpTransport(url, async () => null, { silenceMs: timeoutMs, requestMs: timeoutMs });
  const batch = steps.map((s, i): BatchStep => ({ sql: s.sql, args: s.args ?? [], wantRows: true, ...(i > 0 ? { condition: { type: 'ok', step: i - 1 } } : {}) }));
  const outcome = await runBatch(http, batch);
  const failed = outcome.errors.find((e) => e !== null);
  if (failed) throw new Error(`server step failed: ${failed.message}`);
  return outcome.results.map((r) => r?.rows ?? []);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const port = arg('--port');
  const server = await startSyncServer({ dataDir: arg('--data'), port: port ? Number(port) : undefined });
  console.log(`sync server: ${server.url} (database ${server.dbPath}, pid ${server.pid})`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
