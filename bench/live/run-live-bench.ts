/**
 * `npm run bench:live` (part of `npm run bench`): live queries in headless Chromium, on the
 * production build of the page in ./pages, against a real `tursodb --sync-server`.
 *
 * - commit → watch: client A commits a row; A's background loop pushes it at once (pushDelayMs 0),
 *   client B's loop pulls every PULL_INTERVAL_MS (the local server has no long-poll: it answers a
 *   pull at once whatever longPollTimeoutMs says, verified against tursodb 0.8), B's watch fires. Median
 *   and p95 over COMMITS commits. Target: under 300 ms.
 * - 50 watches on a 10k-row insert: one db.batch() of 10k inserts in one transaction on a fresh
 *   OPFS database, with no watch and with 50 watches on the table (indexed queries: a LIMIT 10
 *   list or a count per group), runs interleaved. Target: at most 1.3× the time without watches.
 *   Both the batch's own time and the time until every watch delivered are reported.
 *
 *   BENCH_LIVE_COMMITS=20 BENCH_LIVE_RUNS=5 npm run bench:live
 */
import { cpus, loadavg } from 'node:os';
import { buildAndServePage } from '../serve-built-page.js';
import { launchBrowser } from '../../scripts/browser.js';
import { startSyncServer } from '../../scripts/sync-server.js';

const COMMITS = Number(process.env.BENCH_LIVE_COMMITS ?? 20);
const RUNS = Number(process.env.BENCH_LIVE_RUNS ?? 7);
const PULL_INTERVAL_MS = Number(process.env.BENCH_LIVE_PULL_MS ?? 100);
const INSERT_ROWS = 10_000;
const WATCHES = 50;
const LATENCY_TARGET_MS = 300;
const WATCH_COST_TARGET = 1.3;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}
const median = (values: number[]) => quantile(values, 0.5);
const ms = (v: number) => `${v.toFixed(0)} ms`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISS');


async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!.toFixed(1);
  console.log('Building the live benchmark page (vite build), starting tursodb and Chromium…');
  const served = await buildAndServePage('bench/live/pages');
  const server = await startSyncServer();
  const session = await launchBrowser();
  try {
    const page = await session.newPage(served.url, 'liveBench');
    page.on('console', (m) => m.type() === 'error' && console.log(`  [console.error] ${m.text().slice(0, 300)}`));

    const { delays, pushed, pulls, bringingPulls, watchAfterPull } = await page.evaluate(
      (o) => window.liveBench.commitToWatch(o),
      { url: server.url, commits: COMMITS, pullIntervalMs: PULL_INTERVAL_MS, longPollTimeoutMs: 0 },
    );
    console.log(`  commit → watch, ${delays.length} commits: ${delays.map((d) => d.toFixed(0)).join(' ')} ms`);
    console.log(`  of which commit → A's push done: ${pushed.map((d) => d.toFixed(0)).join(' ')} ms`);

    const plain: { insertMs: number; settledMs: number }[] = [];
    const watched: { insertMs: number; settledMs: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Which variant goes first alternates: the run after another pays for its predecessor's cleanup.
      const order = run % 2 === 0 ? [0, WATCHES] : [WATCHES, 0];
      for (const watches of order) {
        const result = await page.evaluate(([r, w]) => window.liveBench.insertWithWatches(r, w), [INSERT_ROWS, watches] as const);
        (watches === 0 ? plain : watched).push(result);
      }
      console.log(
        `  insert run ${run + 1}: no watch ${ms(plain.at(-1)!.insertMs)}; ${WATCHES} watches ${ms(watched.at(-1)!.insertMs)} (all delivered ${ms(watched.at(-1)!.settledMs)})`,
      );
    }

    const latencyMedian = median(delays);
    const latencyP95 = quantile(delays, 0.95);
    const base = median(plain.map((r) => r.insertMs));
    const withWatches = median(watched.map((r) => r.insertMs));
    const settled = median(watched.map((r) => r.settledMs));
    console.log('');
    console.log(`walsync live-query benchmark — Chromium ${session.browser.version()} (headless), Vite production build`);
    console.log(`${cpus().length} CPUs; 1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end`);
    console.log('');
    console.log('| row | walsync | target | |');
    console.log('| --- | --- | --- | --- |');
    console.log(
      `| commit in one client → watch fires in another, through the local server (pull every ${PULL_INTERVAL_MS} ms, no long-poll on this server) | median ${ms(latencyMedian)}, p95 ${ms(latencyP95)} (${delays.length} commits) | < ${LATENCY_TARGET_MS} ms | median ${verdict(latencyMedian < LATENCY_TARGET_MS)}, p95 ${verdict(latencyP95 < LATENCY_TARGET_MS)} |`,
    );
    console.log(
      `| ${INSERT_ROWS / 1000}k-row insert (1 tx, db.batch) with ${WATCHES} active watches vs none | ${ms(withWatches)} vs ${ms(base)}: ${(withWatches / base).toFixed(2)}× (every watch delivered after ${ms(settled)}: ${(settled / base).toFixed(2)}×) | ≤ ${WATCH_COST_TARGET}× | ${verdict(withWatches / base <= WATCH_COST_TARGET)} |`,
    );
    console.log('');
    console.log(`Commit → watch: A's push ended after a median ${ms(median(pushed))} (p95 ${ms(quantile(pushed, 0.95))}); the rest is B's wait for its next pull, the pull and the watch's re-run.`);
    console.log(
      `B's pulls took a median ${ms(median(pulls))} (${pulls.length} pulls); those that brought a commit ${ms(median(bringingPulls))} (p95 ${ms(quantile(bringingPulls, 0.95))}); the watch fired a median ${ms(median(watchAfterPull))} after their end.`,
    );
    console.log(`Medians of ${RUNS} interleaved insert runs per variant. Targets are goals, not tests: a MISS never fails the run.`);
    await page.close();
  } finally {
    await session.close();
    await server.stop();
    await served.close();
  }
}

await main();
