/**
 * The commit table alone (`node --import tsx bench/commits-run.ts`): the same measurement
 * `npm run bench` prints, without the rest of the benchmark, for quick work on the commit path.
 */
import { formatCommits, measureCommits, type CommitTableOptions } from './commits.js';
import { runBenchTable } from './table-run.js';

const OPTIONS: CommitTableOptions = { rows: 10_000, rowsPerRun: 2_000, capMs: 10_000, runs: 5 };

await runBenchTable(async (page) => {
  const { medians, notes } = await measureCommits(page, OPTIONS);
  const stopped = notes.length > 0 ? `\nRuns stopped after ${OPTIONS.capMs / 1000} s: ${notes.join('; ')}.` : '';
  return formatCommits(medians, OPTIONS.rows) + stopped;
});
