/**
 * `node --import tsx bench/calls-split-run.ts [get|commit]` (env N = calls per run, default 10000;
 * R = rounds, default 3; STORAGES = memory,opfs by default, or opfs-normal: durability 'normal'):
 * where a shared-memory call's time goes, quickly and without a profiler. Runs awaited point
 * selects (get) or awaited autocommit inserts (commit) on each storage, and
 * prints per call the total, the worker's own serving time, and how many calls parked on
 * Atomics.waitAsync or had to wake the worker with a message. For A/B work on the call path, run it
 * by turns against the other build.
 */
import { runBenchTable } from './table-run.js';
import type { SplitStorage } from './pages/calls-workloads.js';

const kind = process.argv[2] === 'commit' ? 'commit' : 'get';
const count = Number(process.env.N ?? 10_000);
const rounds = Number(process.env.R ?? 3);
/** STORAGES=memory,opfs,opfs-normal: which to run (opfs-normal: durability 'normal'). */
const storages = (process.env.STORAGES ?? 'memory,opfs').split(',') as SplitStorage[];
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

await runBenchTable(async (page) => {
  const lines: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const storage of storages) {
      const split =
        kind === 'commit'
          ? await page.evaluate(([s, n]) => window.bench.callsAutocommitBreakdown(s, n), [storage, count] as const)
          : await page.evaluate(([s, n]) => window.bench.callsPointSelectBreakdown(s, n), [storage, count] as const);
      const kicked = 'kicked' in split ? `, kicked ${pct(split.kicked as number)}` : '';
      lines.push(
        `${kind} ${storage}: ${split.ms.toFixed(0)} ms, ${((split.ms * 1000) / count).toFixed(1)} µs per call, ` +
          `worker served ${split.servedUs.toFixed(1)} µs, parked ${pct(split.parked)}${kicked}`,
      );
    }
  }
  return lines.join('\n');
});
