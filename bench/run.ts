/**
 * `npm run bench`: walsync's local speed in headless Chromium, side by side with sqlite-wasm's
 * opfs-sahpool VFS and :memory:, in one run. Prints a table; targets are reported, never enforced.
 */
import { cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { launchBenchBrowser, type BenchBrowser } from './browser.js';
import { formatTabs, measureTabs } from './tabs.js';
import { measureDownload, type DownloadSize } from './download-size.js';
import { HeapSampler, type HeapPeaks } from './heap-sampler.js';
import { formatReport, formatValue, STORAGES, type Results, type RowFigures, type Storage } from './report.js';
import { buildAndServePages, type ServedPages } from './serve-pages.js';
import { median } from './stats.js';
import { formatCommits, measureCommits } from './commits.js';
import { formatColdStartSplit, measureColdStartSplit } from './cold-start-split.js';
import { formatCalls, measureCalls, type CallsOptions } from './calls.js';
import type { RowId } from './targets.js';

/** Each workload runs up to RUNS times per storage and reports the median... */
const RUNS = 3;
/** ...but stops repeating once its runs add up to this, to keep the whole benchmark near 3 minutes. */
const REPEAT_BUDGET_MS = 8000;

const BIG_TX_ROWS = 100_000;
/** The same transaction written with one run() per row: 10k rows keep it within the time budget. */
const LOOP_TX_ROWS = 10_000;
const AUTOCOMMIT_ROWS = 10_000;
/** An autocommit run stops after this long and its time is scaled up to AUTOCOMMIT_ROWS. */
const AUTOCOMMIT_CAP_MS = 10_000;
/** Runs that stopped early, for the note under the table. */
const extrapolated = new Set<string>();
const POINT_SELECTS = 10_000;
/** Rows in the database the cold-start run opens. */
const COLD_START_ROWS = 1_000;
/** The commit table: runs per variant, interleaved, and rows per run (scaled up to AUTOCOMMIT_ROWS). */
const COMMIT_RUNS = 5;
const COMMIT_ROWS_PER_RUN = 2_000;
/** Cold start from navigation: database size, runs per variant, and the issue's target. */
const COLD_NAV_ROWS = 10_000;
const COLD_NAV_RUNS = 5;
const COLD_NAV_TARGET_MS = 150;
/** The call-cost table (issue 13, "Calls"). */
const CALLS: CallsOptions = { pointSelects: 10_000, inserts: 100_000, perCallSamples: 10_000, runs: 2 };
/** Sequential round trips for the messaging floor. */
const ECHO_ROUND_TRIPS = 5_000;

/** The machine's 1-minute load average: other work on the CPU skews every figure. */
function loadAverage(): string {
  return loadavg()[0]!.toFixed(1);
}

type TimedWorkload = (page: Page, storage: Storage) => Promise<number>;

const workloads: Record<'loopTx' | 'autocommit' | 'pointSelects', TimedWorkload> = {
  loopTx: (page, storage) => page.evaluate(([s, n]) => window.bench.insertManyInTransactionLoop(s, n), [storage, LOOP_TX_ROWS] as const),
  autocommit: async (page, storage) => {
    const run = await page.evaluate(([s, n, cap]) => window.bench.insertAutocommit(s, n, cap), [storage, AUTOCOMMIT_ROWS, AUTOCOMMIT_CAP_MS] as const);
    if (run.rows < AUTOCOMMIT_ROWS) {
      extrapolated.add(`autocommit ${storage}: ${run.rows} rows in ${formatValue(run.ms, 'ms')}`);
    }
    return (run.ms * AUTOCOMMIT_ROWS) / run.rows;
  },
  pointSelects: (page, storage) => page.evaluate(([s, n]) => window.bench.pointSelects(s, n), [storage, POINT_SELECTS] as const),
};

function emptyFigures(): RowFigures {
  return { opfs: null, 'opfs-sahpool': null, memory: null };
}

/** Runs `once` per storage up to RUNS times (storages interleaved, so drift hits all alike). */
async function repeat<T>(label: string, once: (storage: Storage) => Promise<T>, elapsedOf: (result: T) => number): Promise<Record<Storage, T[]>> {
  const results: Record<Storage, T[]> = { opfs: [], 'opfs-sahpool': [], memory: [] };
  const spent: Record<Storage, number> = { opfs: 0, 'opfs-sahpool': 0, memory: 0 };
  for (let run = 0; run < RUNS; run++) {
    for (const storage of STORAGES) {
      if (run > 0 && spent[storage] >= REPEAT_BUDGET_MS) continue;
      const result = await once(storage);
      results[storage].push(result);
      spent[storage] += elapsedOf(result);
      process.stdout.write(`  ${label} [${storage}] run ${run + 1}: ${formatValue(elapsedOf(result), 'ms')}\n`);
    }
  }
  return results;
}

function medians(runs: Record<Storage, number[]>): RowFigures {
  const figures = emptyFigures();
  for (const storage of STORAGES) figures[storage] = runs[storage].length > 0 ? median(runs[storage]) : null;
  return figures;
}

async function measureBatchTx(page: Page): Promise<{ time: RowFigures; heap: RowFigures; peaks: Record<Storage, HeapPeaks[]>; runs: Record<Storage, number[]> }> {
  const sampler = await HeapSampler.attach(page);
  try {
    const results = await repeat(
      'batchTx',
      (storage) => sampler.during(page.evaluate(([s, n]) => window.bench.insertManyWithBatch(s, n), [storage, BIG_TX_ROWS] as const)),
      (r) => r.result,
    );
    const runs = { opfs: [] as number[], 'opfs-sahpool': [] as number[], memory: [] as number[] };
    const peaks = { opfs: [] as HeapPeaks[], 'opfs-sahpool': [] as HeapPeaks[], memory: [] as HeapPeaks[] };
    const heapTotals = { opfs: [] as number[], 'opfs-sahpool': [] as number[], memory: [] as number[] };
    for (const storage of STORAGES) {
      for (const r of results[storage]) {
        runs[storage].push(r.result);
        peaks[storage].push(r.peaks);
        heapTotals[storage].push(r.peaks.total);
      }
    }
    return { time: medians(runs), heap: medians(heapTotals), peaks, runs };
  } finally {
    await sampler.detach();
  }
}

/** Cold start: the database is created in the long-lived page, then opened first thing in a new one. */
async function measureColdStart(browser: BenchBrowser, pages: ServedPages, setupPage: Page): Promise<Record<Storage, number[]>> {
  return repeat(
    'coldStart',
    async (storage) => {
      const path = await setupPage.evaluate(([s, n]) => window.bench.prepareColdStart(s, n), [storage, COLD_START_ROWS] as const);
      // The sahpool column's page prewarms the comparison worker, as walsync prewarms its own.
      const page = await browser.openPage(pages.url('bench') + (storage === 'opfs-sahpool' ? '?prewarm=sahpool' : ''));
      try {
        return await page.evaluate(([s, p]) => window.bench.coldStart(s, p), [storage, path] as const);
      } finally {
        await page.close();
      }
    },
    (ms) => ms,
  );
}

function describeDownload(name: string, size: DownloadSize): string {
  const files = size.files.map((f) => `${f.path.replace(/^\/assets\//, '')} ${formatValue(f.bodyBytes, 'bytes')}`).join(', ');
  return `  ${name}: ${formatValue(size.transferred, 'bytes')} sent (${formatValue(size.raw, 'bytes')} raw, ${formatValue(size.gzipped, 'bytes')} if all gzipped): ${files}`;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadAtStart = loadAverage();
  console.log('Building the benchmark pages (vite build) and starting Chromium…');
  const pages = await buildAndServePages();
  const browser = await launchBenchBrowser();
  try {
    const version = browser.context.browser()?.version() ?? 'unknown';
    const results: Results = {
      batchTx: emptyFigures(),
      loopTx: emptyFigures(),
      autocommit: emptyFigures(),
      pointSelects: emptyFigures(),
      coldStart: emptyFigures(),
      download: emptyFigures(),
      heap: emptyFigures(),
    };
    const runCounts: string[] = [];
    const countRuns = (id: RowId, runs: Record<Storage, unknown[]>) =>
      runCounts.push(`${id} ${STORAGES.map((s) => `${s}×${runs[s].length}`).join(' ')}`);

    // First, while the HTTP cache is still empty anyway: what a first visit downloads.
    const walsyncDownload = await measureDownload(browser.context, pages, 'loadWalsync');
    const sahpoolDownload = await measureDownload(browser.context, pages, 'loadSqliteWasm');
    results.download = { opfs: walsyncDownload.transferred, 'opfs-sahpool': sahpoolDownload.transferred, memory: null };

    const page = await browser.openPage(pages.url('bench'));
    await page.evaluate(() => window.bench.removeBenchFiles());

    const batch = await measureBatchTx(page);
    results.batchTx = batch.time;
    results.heap = batch.heap;
    countRuns('batchTx', batch.runs);

    for (const id of ['loopTx', 'autocommit', 'pointSelects'] as const) {
      const runs = await repeat(id, (storage) => workloads[id](page, storage), (ms) => ms);
      results[id] = medians(runs);
      countRuns(id, runs);
    }

    const cold = await measureColdStart(browser, pages, page);
    results.coldStart = medians(cold);
    countRuns('coldStart', cold);

    const coldSplit = await measureColdStartSplit(browser, pages, page, { rows: COLD_NAV_ROWS, runs: COLD_NAV_RUNS });
    const commits = await measureCommits(page, { rows: AUTOCOMMIT_ROWS, rowsPerRun: COMMIT_ROWS_PER_RUN, capMs: AUTOCOMMIT_CAP_MS, runs: COMMIT_RUNS });

    const calls = await measureCalls(page, CALLS);
    const loadAfterCalls = loadAverage();
    const tabs = await measureTabs(browser, pages);

    const postMessageMs = await page.evaluate((n) => window.bench.postMessageRoundTrip(n), ECHO_ROUND_TRIPS);
    const comlinkMs = await page.evaluate((n) => window.bench.comlinkRoundTrip(n), ECHO_ROUND_TRIPS);

    console.log('');
    console.log(`walsync local benchmark — Chromium ${version} (headless), Vite production build, durability 'full' for both OPFS columns`);
    console.log(`${cpus().length} CPUs; 1-minute load average ${loadAtStart} at start, ${loadAverage()} at end`);
    console.log('');
    console.log(formatReport(results));
    console.log('');
    if (extrapolated.size > 0) {
      console.log(`Scaled up to ${AUTOCOMMIT_ROWS} rows from runs stopped after ${AUTOCOMMIT_CAP_MS / 1000} s: ${[...extrapolated].join('; ')}.`);
    }
    console.log('');
    console.log(`Commits: medians of ${COMMIT_RUNS} interleaved runs of ${COMMIT_ROWS_PER_RUN} rows per variant, scaled to ${AUTOCOMMIT_ROWS} (ratios to the flush floor measured in this same run):`);
    console.log(formatCommits(commits.medians, AUTOCOMMIT_ROWS));
    if (commits.notes.length > 0) console.log(`Runs stopped after ${AUTOCOMMIT_CAP_MS / 1000} s: ${commits.notes.join('; ')}.`);
    console.log('');
    console.log(formatColdStartSplit(coldSplit, COLD_NAV_TARGET_MS));
    console.log('');
    console.log(`Statement calls by transport (shared memory: the page is cross-origin isolated; port: postMessage, what a page without COOP/COEP gets, forced in the same page). 1-minute load average after this table: ${loadAfterCalls}. Per-call times are quantized by the isolated timer (5 µs):`);
    console.log(formatCalls(calls, CALLS));
    console.log(formatTabs(tabs));
    console.log('');
    console.log(`Medians of up to ${RUNS} runs (fewer once a workload's runs pass ${REPEAT_BUDGET_MS / 1000} s): ${runCounts.join('; ')}.`);
    console.log('Peak JS heap = largest page + worker V8 heap in use (CDP Runtime.getHeapUsage, sampled ~every 10 ms) during db.batch(); excludes wasm memory. Page / worker peaks (MB), median run:');
    for (const storage of STORAGES) {
      const p = batch.peaks[storage];
      const pick = p.length > 0 ? [...p].sort((a, b) => a.total - b.total)[Math.floor(p.length / 2)]! : null;
      if (pick) console.log(`  ${storage}: page ${(pick.page / 1e6).toFixed(1)}, worker ${(pick.workers / 1e6).toFixed(1)}, together ${(pick.total / 1e6).toFixed(1)} (${pick.samples} samples)`);
    }
    const perCall = (id: 'autocommit' | 'pointSelects', rows: number) => ((results[id].memory ?? NaN) / rows) * 1000;
    console.log(
      `Per-call floor: bare postMessage round trip ${(postMessageMs * 1000).toFixed(0)} µs, Comlink ${(comlinkMs * 1000).toFixed(0)} µs; ` +
        `walsync on :memory: ${perCall('pointSelects', POINT_SELECTS).toFixed(0)} µs per get(), ${perCall('autocommit', AUTOCOMMIT_ROWS).toFixed(0)} µs per autocommit run().`,
    );
    console.log('Bytes downloaded (empty HTTP cache; :memory: loads the same files as walsync):');
    console.log(describeDownload('walsync (connect + 1 query)', walsyncDownload));
    console.log(describeDownload('sqlite-wasm + opfs-sahpool baseline (1 query)', sahpoolDownload));
    console.log(`Targets are goals, not tests: a MISS never fails the run. Total time ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);
    await page.close();
  } finally {
    await browser.close();
    await pages.close();
  }
}

await main();
