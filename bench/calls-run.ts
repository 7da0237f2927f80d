/**
 * The call-cost table alone (`node --import tsx bench/calls-run.ts`): the same measurement
 * `npm run bench` prints, without the rest of the benchmark, for quick work on the call path.
 */
import { formatCalls, measureCalls, type CallsOptions } from './calls.js';
import { runBenchTable } from './table-run.js';

const OPTIONS: CallsOptions = { pointSelects: 10_000, inserts: 100_000, perCallSamples: 10_000, runs: 2 };

await runBenchTable(async (page) => formatCalls(await measureCalls(page, OPTIONS), OPTIONS));
