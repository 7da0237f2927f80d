/**
 * Sync benchmark: walsync against Turso's @tursodatabase/sync-wasm, side by side, on the same real
 * `tursodb --sync-server` (a fresh server per scenario and client), in headless Chromium.
 *
 *   npm run bench:sync                      # full run (~2-3 min)
 *   BENCH_REPS=1 BENCH_ROWS=20000 npm run bench:sync   # quick smoke run
 *   BENCH_PROFILE=1 npm run bench:sync      # also CPU-profile one extra walsync run per scenario
 *   BENCH_CLIENTS=walsync npm run bench:sync
 *   BENCH_TRACE=1 npm run bench:sync        # also print walsync's engine trace of each measured operation
 *
 * Scenarios: bootstrap of a ~22 MB remote database (100k rows) to the first count(*); push of 10k
 * locally inserted rows; pull of 10k rows another writer inserted. Bytes are counted by a loopback
 * TCP proxy in front of the server (both directions, headers included) and also read from each
 * library's stats(); peak heap is sampled over CDP every 20 ms on the page and its workers.
 * See bench/sync/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildAndServePage } from '../serve-built-page.js';
import { launchBrowser, type BrowserSession } from '../../scripts/browser.js';
import { runOnServer, startSyncServer, type SyncServer } from '../../scripts/sync-server.js';
import type { EngineValue } from '../../contract/sql-value.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { HeapSampler, type HeapPeak } from './heap-sampler.js';
import { summarizeProfile, type CpuProfile } from './cpu-profile.js';
import type { Client, LibBytes } from './pages/page.js';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const BOOT_ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const PUSH_ROWS = Number(process.env.BENCH_PUSH_ROWS ?? 10_000);
const PULL_ROWS = Number(process.env.BENCH_PULL_ROWS ?? 10_000);
const PROFILE = process.env.BENCH_PROFILE === '1';
/** BENCH_TRACE=1 prints walsync's engine trace ('debug') of each measured operation, with arrival times. */
const TRACE = process.env.BENCH_TRACE === '1';
/**
 * BENCH_WASM_DELAY_MS=n holds every .wasm response back n ms: a first visit, where SQLite's wasm
 * still downloads when connect() starts (the HTTP cache serves it instantly otherwise).
 */
const WASM_DELAY_MS = Number(process.env.BENCH_WASM_DELAY_MS ?? 0);
/** BENCH_LATENCY_MS=n: the proxy delays every answer byte by n ms (a server across a network, not on loopback). */
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 0);
/** BENCH_SCENARIOS=bootstrap,pull runs only those scenarios (default: all three). */
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'bootstrap,push,pull').split(',');
/** BENCH_PROFILE_DIR=dir also writes each profiled run's raw .cpuprofile there (open in DevTools). */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const CLIENTS = (process.env.BENCH_CLIENTS ?? 'walsync,turso').split(',').filter((c): c is Client => c === 'walsync' || c === 'turso');
const SAMPLE_MS = 20;
/** A client whose first run of a scenario takes longer than this is not repeated (keeps the run under ~5 min). */
const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 10_000);
/** BENCH_HEAP=0 turns heap sampling off (to check that sampling does not change the times). */
const HEAP = process.env.BENCH_HEAP !== '0';
const OP_TIMEOUT_MS = 120_000;
const MiB = 1024 * 1024;

const TURSO_REFERENCE = { bootstrap: 1964, push: 2488, pull: 295 };

// ── servers and pages ───────────────────────────────────────────────────────────────────────────

/** Runs `steps` on the server directly, each only if the one before succeeded; each step's rows. */
function pipeline(server: SyncServer, steps: { sql: string; args?: EngineValue[] }[]): Promise<unknown[][][]> {
  return runOnServer(server.url, steps, OP_TIMEOUT_MS);
}

async function serverCount(server: SyncServer): Promise<number> {
  const rows = await pipeline(server, [{ sql: 'SELECT count(*) FROM items' }]);
  return Number(rows[0]?.[0]?.[0]);
}

const CREATE_ITEMS = 'CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, payload TEXT)';

/** Inserts rows (first .. first+n-1) with ~200-byte random payloads in one server transaction. */
function insertRowsSql(first: number, n: number): string {
  return (
    `INSERT INTO items(id, name, payload) SELECT x, 'item-' || x, hex(randomblob(100)) FROM ` +
    `(WITH RECURSIVE c(x) AS (SELECT ${first} UNION ALL SELECT x + 1 FROM c WHERE x < ${first + n - 1}) SELECT x FROM c)`
  );
}


// ── measurement ─────────────────────────────────────────────────────────────────────────────────

interface Sample {
  ms: number;
  up: number;
  down: number;
  requests: number;
  lib: LibBytes;
  heap: HeapPeak;
  extra: Record<string, number>;
}

type Scenario = 'bootstrap' | 'push' | 'pull';
const results: Record<Scenario, Record<Client, Sample[]>> = {
  bootstrap: { walsync: [], turso: [] },
  push: { walsync: [], turso: [] },
  pull: { walsync: [], turso: [] },
};
const profiles: { scenario: Scenario; text: string }[] = [];
/** Server-only times from Node (no browser): the floor either client can reach on this machine. */
const floors: Record<'bootstrap' | 'push', number[]> = { bootstrap: [], push: [] };

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS))),
  ]);
}

/** A fresh page with the client's code loaded (Turso: module, wasm compile and worker) before timing. */
async function freshPage(session: BrowserSession, pageUrl: string, client: Client): Promise<{ page: Page; loadMs: number }> {
  const page = await session.newPage(pageUrl);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`  [${client} console.${m.type()}] ${m.text().slice(0, 300)}`);
  });
  if (TRACE) await page.evaluate(() => (window.syncBenchTrace = true));
  const loadMs = await page.evaluate((c) => window.syncBench.load(c), client);
  return { page, loadMs };
}

/** Runs `op` with heap sampling and byte counting around it; with `profile`, CPU-profiles walsync's worker. */
async function measure<T extends { ms: number }>(
  page: Page,
  proxy: CountingProxy,
  op: () => Promise<T>,
  profile = false,
  profileName = 'profile',
): Promise<{ r: T; heap: HeapPeak; up: number; down: number; requests: number; proxyMs: number; profileText?: string | undefined }> {
  const profiled: string[] = [];
  const sampler = await HeapSampler.attach(page, profile ? async (sid) => void (await startProfiler(sampler, sid), profiled.push(sid)) : undefined);
  // Workers that already exist (the page's own session is profiled too when asked).
  if (profile) {
    await new Promise((r) => setTimeout(r, 50));
    for (const sid of sampler.workers.keys()) if (!profiled.includes(sid)) (await startProfiler(sampler, sid), profiled.push(sid));
  }
  if (HEAP) {
    await new Promise((r) => setTimeout(r, 50)); // let auto-attach report the existing workers
    await sampler.collectGarbage();
    await sampler.start(SAMPLE_MS);
  }
  const traceFrom = TRACE ? await page.evaluate(() => (window.syncBench.takeTrace(), performance.now())) : 0;
  proxy.reset();
  try {
    const r = await withTimeout(op(), 'operation').catch(async (e: unknown) => {
      if (TRACE) for (const t of await page.evaluate(() => window.syncBench.takeTrace())) console.log(`    trace +${(t.at - traceFrom).toFixed(1)} ms ${t.step} ${JSON.stringify(t.fields)}`);
      throw e;
    });
    if (TRACE) {
      for (const e of await page.evaluate(() => window.syncBench.takeTrace())) {
        console.log(`    trace +${(e.at - traceFrom).toFixed(1)} ms ${e.step} ${JSON.stringify(e.fields)}`);
      }
    }
    const up = proxy.up;
    const down = proxy.down;
    const requests = proxy.requests;
    const proxyMs = proxy.serverMs;
    const heap = HEAP ? await sampler.stop() : { peakUsed: NaN, peakUsedPlusBuffers: NaN, baseUsed: NaN, baseUsedPlusBuffers: NaN, samples: 0, targets: [] };
    let profileText: string | undefined;
    if (profile) {
      const parts: string[] = [];
      for (const sid of profiled) {
        const stopped = await sampler.sendToWorker<{ profile: CpuProfile }>(sid, 'Profiler.stop', {}, 30_000);
        if (!stopped) continue;
        parts.push(formatProfile(sampler.workers.get(sid) ?? sid, stopped.profile, r.ms));
        if (PROFILE_DIR) {
          mkdirSync(PROFILE_DIR, { recursive: true });
          const file = join(PROFILE_DIR, `${profileName}-${sid.slice(0, 8)}.cpuprofile`);
          writeFileSync(file, JSON.stringify(stopped.profile));
          parts.push(`  raw profile: ${file}`);
        }
      }
      profileText = parts.join('\n');
    }
    return { r, heap, up, down, requests, proxyMs, profileText };
  } finally {
    await sampler.detach();
  }
}

async function startProfiler(sampler: HeapSampler, sid: string): Promise<void> {
  await sampler.sendToWorker(sid, 'Profiler.enable', {}, 5000);
  await sampler.sendToWorker(sid, 'Profiler.setSamplingInterval', { interval: 200 }, 5000);
  await sampler.sendToWorker(sid, 'Profiler.start', {}, 5000);
}

function formatProfile(target: string, profile: CpuProfile, wallMs: number): string {
  const s = summarizeProfile(profile, 20);
  const lines = [`  worker ${target.replace(/^https?:\/\/[^/]+\//, '')}: profiled ${s.totalMs.toFixed(0)} ms (operation wall time ${wallMs.toFixed(0)} ms)`];
  lines.push('    by category: ' + s.byCategory.map(([c, ms]) => `${c} ${ms.toFixed(0)} ms`).join(', '));
  lines.push('    top self time:');
  for (const [f, ms] of s.top) lines.push(`      ${ms.toFixed(1).padStart(8)} ms  ${f}`);
  lines.push('    top inclusive time:');
  for (const [f, ms] of s.inclusive) lines.push(`      ${ms.toFixed(1).padStart(8)} ms  ${f}`);
  return lines.join('\n');
}

// ── scenarios ───────────────────────────────────────────────────────────────────────────────────

let runId = 0;
const freshPath = (what: string, client: Client) => `bench-${what}-${client}-${process.pid}-${++runId}.db`;

async function runBootstrap(session: BrowserSession, pageUrl: string): Promise<void> {
  const server = await startSyncServer();
  const proxy = await startCountingProxy(server.port, LATENCY_MS);
  try {
    const t = Date.now();
    await pipeline(server, [{ sql: CREATE_ITEMS }]);
    // In chunks of 25k rows (one statement each) to keep each server transaction moderate.
    for (let first = 1; first <= BOOT_ROWS; first += 25_000) {
      await pipeline(server, [{ sql: insertRowsSql(first, Math.min(25_000, BOOT_ROWS - first + 1)) }]);
    }
    const n = await serverCount(server);
    if (n !== BOOT_ROWS) throw new Error(`bootstrap server holds ${n} rows, expected ${BOOT_ROWS}`);
    console.log(`bootstrap: server filled with ${n} rows in ${Date.now() - t} ms`);
    for (let i = 0; i < REPS; i++) {
      const t0 = performance.now();
      const response = await fetch(`${server.url}/pull-updates`, { method: 'POST', headers: { 'content-type': 'application/protobuf' }, body: new Uint8Array(0) });
      const bytes = (await response.arrayBuffer()).byteLength;
      floors.bootstrap.push(performance.now() - t0);
      console.log(`  bootstrap floor: raw /pull-updates download from Node ${(performance.now() - t0).toFixed(0)} ms, ${fmtBytes(bytes)}`);
    }
    for (const { client, profile, rep } of plan()) {
      if (tooSlowToRepeat('bootstrap', client, rep, profile)) continue;
      const { page, loadMs } = await freshPage(session, pageUrl, client);
      const path = freshPath('boot', client);
      try {
        const m = await measure(page, proxy, () => page.evaluate(([c, p, u]) => window.syncBench.bootstrap(c, p, u), [client, path, proxy.url] as const), profile, 'bootstrap');
        if (m.r.count !== BOOT_ROWS) throw new Error(`${client} bootstrap counted ${m.r.count} rows, expected ${BOOT_ROWS}`);
        if (profile) {
          profiles.push({ scenario: 'bootstrap', text: m.profileText ?? '' });
        } else {
          results.bootstrap[client].push(sampleOf(m, m.r.lib, { connectMs: m.r.connectMs, loadMs }));
        }
        log('bootstrap', client, m, profile, `connect ${m.r.connectMs.toFixed(0)} ms, count ${m.r.count}`);
        await page.evaluate((p) => window.syncBench.close(p), path);
      } finally {
        await page.close();
      }
    }
  } finally {
    await proxy.stop();
    await server.stop();
  }
}

async function runPush(session: BrowserSession, pageUrl: string): Promise<void> {
  for (const { client, profile, rep } of plan()) {
    if (tooSlowToRepeat('push', client, rep, profile)) continue;
    const server = await startSyncServer();
    const proxy = await startCountingProxy(server.port, LATENCY_MS);
    const { page } = await freshPage(session, pageUrl, client);
    const path = freshPath('push', client);
    try {
      await pipeline(server, [{ sql: CREATE_ITEMS }]);
      await page.evaluate(([c, p, u]) => window.syncBench.open(c, p, u), [client, path, proxy.url] as const);
      const insertMs = await page.evaluate(([c, p, n]) => window.syncBench.insertLocal(c, p, 1, n), [client, path, PUSH_ROWS] as const);
      const lib0 = await page.evaluate((p) => window.syncBench.libBytes(p), path);
      const m = await measure(page, proxy, () => page.evaluate((p) => window.syncBench.push(p), path), profile, 'push');
      const lib1 = await page.evaluate((p) => window.syncBench.libBytes(p), path);
      const onServer = await serverCount(server);
      if (onServer !== PUSH_ROWS) throw new Error(`${client} push: the server holds ${onServer} rows, expected ${PUSH_ROWS}`);
      if (profile) profiles.push({ scenario: 'push', text: m.profileText ?? '' });
      else results.push[client].push(sampleOf(m, { sent: lib1.sent - lib0.sent, received: lib1.received - lib0.received }, { insertMs }));
      log('push', client, m, profile, `local insert ${insertMs.toFixed(0)} ms, server count ${onServer}`);
      await page.evaluate((p) => window.syncBench.close(p), path);
    } finally {
      await page.close();
      await proxy.stop();
      await server.stop();
    }
  }
}

/** Server floor of a push: the same 10k single-row upserts walsync sends, in one batch, from Node. */
async function runPushFloor(): Promise<void> {
  const upsert =
    'INSERT INTO "items"("id", "name", "payload") VALUES (?,?,?) ON CONFLICT("id") DO UPDATE SET "id" = excluded."id","name" = excluded."name","payload" = excluded."payload"';
  for (let i = 0; i < REPS; i++) {
    const server = await startSyncServer();
    try {
      await pipeline(server, [{ sql: CREATE_ITEMS }]);
      const steps = [{ sql: 'BEGIN' }, ...[...Array(PUSH_ROWS).keys()].map((k) => ({ sql: upsert, args: [k + 1, `item-${k + 1}`, 'p'.repeat(200)] })), { sql: 'COMMIT' }];
      const t0 = performance.now();
      await pipeline(server, steps);
      floors.push.push(performance.now() - t0);
      console.log(`  push floor: ${PUSH_ROWS} single-row upserts in one pipeline batch from Node ${(performance.now() - t0).toFixed(0)} ms`);
    } finally {
      await server.stop();
    }
  }
}

async function runPull(session: BrowserSession, pageUrl: string): Promise<void> {
  for (const { client, profile, rep } of plan()) {
    if (tooSlowToRepeat('pull', client, rep, profile)) continue;
    const server = await startSyncServer();
    const proxy = await startCountingProxy(server.port, LATENCY_MS);
    const { page } = await freshPage(session, pageUrl, client);
    const path = freshPath('pull', client);
    try {
      await pipeline(server, [{ sql: CREATE_ITEMS }]);
      await page.evaluate(([c, p, u]) => window.syncBench.open(c, p, u), [client, path, proxy.url] as const);
      // Another writer: 10k rows straight into the server.
      await pipeline(server, [{ sql: insertRowsSql(1, PULL_ROWS) }]);
      const lib0 = await page.evaluate((p) => window.syncBench.libBytes(p), path);
      const m = await measure(page, proxy, () => page.evaluate((p) => window.syncBench.pull(p), path), profile, 'pull');
      const lib1 = await page.evaluate((p) => window.syncBench.libBytes(p), path);
      if (m.r.count !== PULL_ROWS) throw new Error(`${client} pull: counted ${m.r.count} rows locally, expected ${PULL_ROWS}`);
      if (profile) profiles.push({ scenario: 'pull', text: m.profileText ?? '' });
      else results.pull[client].push(sampleOf(m, { sent: lib1.sent - lib0.sent, received: lib1.received - lib0.received }, { pullMs: m.r.pullMs }));
      log('pull', client, m, profile, `pull ${m.r.pullMs.toFixed(0)} ms, local count ${m.r.count}`);
      await page.evaluate((p) => window.syncBench.close(p), path);
    } finally {
      await page.close();
      await proxy.stop();
      await server.stop();
    }
  }
}

/** The runs of a scenario: REPS per client, interleaved, then the profiled one. */
function plan(): { client: Client; profile: boolean; rep: number }[] {
  const runs = [...Array(REPS).keys()].flatMap((rep) => CLIENTS.map((c) => ({ client: c, profile: false, rep })));
  if (PROFILE && CLIENTS.includes('walsync')) runs.push({ client: 'walsync', profile: true, rep: REPS });
  return runs;
}

function tooSlowToRepeat(scenario: Scenario, client: Client, rep: number, profile: boolean): boolean {
  const first = results[scenario][client][0];
  if (profile || rep === 0 || !first || first.ms <= SLOW_MS) return false;
  if (rep === 1) console.log(`  ${scenario} ${client}: first run took ${first.ms.toFixed(0)} ms > ${SLOW_MS} ms, not repeated`);
  return true;
}

type Measured = { r: { ms: number }; heap: HeapPeak; up: number; down: number; requests: number; proxyMs: number };

function sampleOf(m: Measured, lib: LibBytes, extra: Record<string, number>): Sample {
  return { ms: m.r.ms, up: m.up, down: m.down, requests: m.requests, lib, heap: m.heap, extra: { ...extra, proxyMs: m.proxyMs } };
}

function log(scenario: Scenario, client: Client, m: Measured, profile: boolean, detail: string): void {
  console.log(
    `  ${scenario} ${client.padEnd(7)}${profile ? ' (profiled, not counted)' : ''}: ${m.r.ms.toFixed(0)} ms (${detail}; server+transfer at the proxy ${m.proxyMs.toFixed(0)} ms); ` +
      `wire ↑${fmtBytes(m.up)} ↓${fmtBytes(m.down)} in ${m.requests} requests; ` +
      `peak heap ${fmtBytes(m.heap.peakUsed)} (base ${fmtBytes(m.heap.baseUsed)}), +buffers ${fmtBytes(m.heap.peakUsedPlusBuffers)}; ` +
      `${m.heap.samples} samples over ${m.heap.targets.length} targets`,
  );
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= MiB) return `${(n / MiB).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

const fmtMs = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : '–');
/** A count; '–' for a client that was not run (the median of no samples is NaN). */
const fmtCount = (n: number) => (Number.isFinite(n) ? String(n) : '–');

interface Row {
  metric: string;
  w: number;
  t: number;
  fmt: (n: number) => string;
  target?: { max: number; label: string } | undefined;
}

function printTable(): void {
  const rows: Row[] = [];
  const med = (s: Scenario, c: Client, f: (x: Sample) => number) => median(results[s][c].map(f));
  const add = (metric: string, s: Scenario, f: (x: Sample) => number, fmt: (n: number) => string, target?: Row['target']) =>
    rows.push({ metric, w: med(s, 'walsync', f), t: med(s, 'turso', f), fmt, target });
  const proxyMs = (x: Sample) => x.extra.proxyMs ?? NaN;
  const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');
  add('bootstrap: connect + count(*)', 'bootstrap', (x) => x.ms, fmtMs, { max: 400, label: '≤ 400 ms' });
  add('  server+transfer at the proxy (same run)', 'bootstrap', proxyMs, fmtMs);
  add('  ÷ server+transfer at the proxy', 'bootstrap', (x) => x.ms / proxyMs(x), fmtRatio, { max: 1.25, label: '≤ 1.25×' });
  rows.push({ metric: '  server floor: raw download from Node', w: median(floors.bootstrap), t: median(floors.bootstrap), fmt: fmtMs });
  add('  of which connect()', 'bootstrap', (x) => x.extra.connectMs ?? NaN, fmtMs);
  add('  client load before timing (not counted)', 'bootstrap', (x) => x.extra.loadMs ?? NaN, fmtMs);
  add('push 10k rows (push())', 'push', (x) => x.ms, fmtMs, { max: 450, label: '≤ 450 ms' });
  add('  server+transfer at the proxy (same run)', 'push', proxyMs, fmtMs);
  add('  ÷ server+transfer at the proxy', 'push', (x) => x.ms / proxyMs(x), fmtRatio, { max: 1.3, label: '≤ 1.3×' });
  rows.push({ metric: '  server floor: same batch from Node', w: median(floors.push), t: median(floors.push), fmt: fmtMs });
  add('pull 10k rows (pull() + count(*))', 'pull', (x) => x.ms, fmtMs, { max: 80, label: '≤ 80 ms' });
  add('  server+transfer at the proxy (same run)', 'pull', proxyMs, fmtMs);
  add('  − server+transfer at the proxy', 'pull', (x) => x.ms - proxyMs(x), fmtMs, { max: 40, label: '≤ +40 ms' });
  add('  of which pull()', 'pull', (x) => x.extra.pullMs ?? NaN, fmtMs);
  add('bootstrap bytes down (wire)', 'bootstrap', (x) => x.down, fmtBytes);
  add('bootstrap bytes up (wire)', 'bootstrap', (x) => x.up, fmtBytes);
  add('bootstrap HTTP requests', 'bootstrap', (x) => x.requests, fmtCount);
  add('push bytes up (wire)', 'push', (x) => x.up, fmtBytes);
  add('push bytes down (wire)', 'push', (x) => x.down, fmtBytes);
  add('push HTTP requests', 'push', (x) => x.requests, fmtCount);
  add('pull bytes down (wire)', 'pull', (x) => x.down, fmtBytes);
  add('pull bytes up (wire)', 'pull', (x) => x.up, fmtBytes);
  add('pull HTTP requests', 'pull', (x) => x.requests, fmtCount);
  add('bootstrap bytes down (library stats)', 'bootstrap', (x) => x.lib.received, fmtBytes);
  add('push bytes up (library stats delta)', 'push', (x) => x.lib.sent, fmtBytes);
  add('pull bytes down (library stats delta)', 'pull', (x) => x.lib.received, fmtBytes);
  add('bootstrap peak JS heap (page+workers)', 'bootstrap', (x) => x.heap.peakUsed, fmtBytes, { max: 40 * MiB, label: '≤ 40 MiB' });
  add('bootstrap peak JS heap + ArrayBuffers', 'bootstrap', (x) => x.heap.peakUsedPlusBuffers, fmtBytes);
  add('push peak JS heap (page+workers)', 'push', (x) => x.heap.peakUsed, fmtBytes);
  add('push peak JS heap + ArrayBuffers', 'push', (x) => x.heap.peakUsedPlusBuffers, fmtBytes);
  add('pull peak JS heap (page+workers)', 'pull', (x) => x.heap.peakUsed, fmtBytes);
  add('pull peak JS heap + ArrayBuffers', 'pull', (x) => x.heap.peakUsedPlusBuffers, fmtBytes);

  const header = ['metric', 'walsync', 'turso sync-wasm', 'ratio w/t', 'target (walsync)'];
  const body = rows.map((r) => {
    // Against the proxy or a floor the two clients' figures are not comparable by division.
    const ratio = r.metric.includes('server floor') || r.metric.includes('at the proxy') ? '–' : Number.isFinite(r.w) && Number.isFinite(r.t) && r.t !== 0 ? `${(r.w / r.t).toFixed(2)}×` : '–';
    const target = r.target ? `${r.target.label} ${Number.isFinite(r.w) ? (r.w <= r.target.max ? 'PASS' : 'MISS') : '–'}` : '';
    return [r.metric, r.fmt(r.w), r.fmt(r.t), ratio, target];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  console.log();
  console.log(`Medians of up to ${REPS} run(s) per client (a client's scenario is not repeated when its first run exceeds ${SLOW_MS} ms); bootstrap database ${BOOT_ROWS} rows, push ${PUSH_ROWS} rows, pull ${PULL_ROWS} rows.`);
  console.log(line(header));
  console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  for (const b of body) console.log(line(b));
  console.log();
  console.log(`Raw times (ms): ` + (['bootstrap', 'push', 'pull'] as Scenario[]).map((s) => `${s}: ` + CLIENTS.map((c) => `${c} [${results[s][c].map((x) => x.ms.toFixed(0)).join(', ')}]`).join(' ')).join('; '));
  console.log(`Turso's client measured ${TURSO_REFERENCE.bootstrap} / ${TURSO_REFERENCE.push} / ${TURSO_REFERENCE.pull} ms (bootstrap / push / pull) on the same machine class, per the issue.`);
  console.log('Heap: full GC on page and workers first, then max over 20 ms samples of Σ Runtime.getHeapUsage over the page and its dedicated workers; "+ ArrayBuffers" adds backingStorageSize (incl. wasm memory).');
}

// ── main ────────────────────────────────────────────────────────────────────────────────────────

const started = Date.now();
const watchdog = setTimeout(() => {
  console.error('bench:sync: gave up after 10 minutes');
  process.exit(2);
}, 10 * 60_000);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
const served = await buildAndServePage('bench/sync/pages');
console.log(`page built and served at ${served.url} (${Date.now() - started} ms)`);
const session = await launchBrowser();
if (WASM_DELAY_MS > 0) {
  await session.context.route('**/*.wasm', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, WASM_DELAY_MS));
    await route.continue();
  });
}
let failed = false;
try {
  if (SCENARIOS.includes('bootstrap')) await runBootstrap(session, served.url);
  if (SCENARIOS.includes('push')) {
    await runPushFloor();
    await runPush(session, served.url);
  }
  if (SCENARIOS.includes('pull')) await runPull(session, served.url);
} catch (e) {
  failed = true;
  console.error('bench:sync failed:', e);
} finally {
  printTable();
  for (const p of profiles) console.log(`\nCPU profile of walsync, ${p.scenario}:\n${p.text}`);
  await session.close();
  await served.close();
  clearTimeout(watchdog);
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s; load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
}
process.exit(failed ? 1 : 0);
