/**
 * `node --import tsx bench/cold-start-run.ts [runs]`: only the "Cold start from navigation" rows of
 * `npm run bench` (quicker to rerun), with the load average around them.
 */
import { formatColdStartSplit, measureColdStartSplit } from './cold-start-split.js';
import { runBenchTable } from './table-run.js';

const ROWS = 10_000;
const TARGET_MS = 150;
const runs = Number(process.argv[2] ?? 5);

await runBenchTable(async (page, browser, pages) => formatColdStartSplit(await measureColdStartSplit(browser, pages, page, { rows: ROWS, runs }), TARGET_MS));
