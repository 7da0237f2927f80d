/**
 * The call-cost table (issue 13, "Calls"): statement calls over shared memory (isolated page) and
 * over postMessage (what a page without COOP/COEP gets), each on OPFS and :memory:, next to the
 * floors measured in the same run: a bare postMessage echo and a bare shared-memory echo.
 */
import type { Page } from 'playwright-core';
import type { CallStats, CallStorage, CallTransport, PointSelectBreakdown } from './pages/calls-workloads.js';
import { formatValue } from './report.js';
import { median } from './stats.js';

export interface CallsOptions {
  readonly pointSelects: number;
  readonly inserts: number;
  readonly perCallSamples: number;
  /** Runs of the point selects per cell (the 100k-row rows run once each: they are long). */
  readonly runs: number;
}

type Cell = Record<CallTransport, Record<CallStorage, number>>;

export interface CallsResults {
  readonly pointSelects: Cell;
  readonly loopTx: Cell;
  readonly batch: Cell;
  readonly selectOne: Record<CallTransport, CallStats>;
  readonly postMessageEcho: CallStats;
  readonly sharedEcho: CallStats;
  /** One more run of the shared OPFS point selects, with the worker's own serving time per call. */
  readonly pointSelectSplit: PointSelectBreakdown;
}

const TRANSPORTS: readonly CallTransport[] = ['shared', 'port'];
const STORAGES: readonly CallStorage[] = ['opfs', 'memory'];

async function cells(label: string, runs: number, once: (t: CallTransport, s: CallStorage) => Promise<number>): Promise<Cell> {
  const times: Record<string, number[]> = {};
  for (let run = 0; run < runs; run++) {
    for (const t of TRANSPORTS) {
      for (const s of STORAGES) {
        const ms = await once(t, s);
        (times[`${t}/${s}`] ??= []).push(ms);
        process.stdout.write(`  ${label} [${t}, ${s}] run ${run + 1}: ${formatValue(ms, 'ms')}\n`);
      }
    }
  }
  const cell = (t: CallTransport, s: CallStorage) => median(times[`${t}/${s}`]!);
  return { shared: { opfs: cell('shared', 'opfs'), memory: cell('shared', 'memory') }, port: { opfs: cell('port', 'opfs'), memory: cell('port', 'memory') } };
}

export async function measureCalls(page: Page, o: CallsOptions): Promise<CallsResults> {
  const postMessageEcho = await page.evaluate((n) => window.bench.postMessageEcho(n), o.pointSelects);
  const sharedEcho = await page.evaluate((n) => window.bench.sharedMemoryEcho(n), o.pointSelects);
  const selectOne = {
    shared: await page.evaluate((n) => window.bench.callsSelectOne('shared', n), o.perCallSamples),
    port: await page.evaluate((n) => window.bench.callsSelectOne('port', n), o.perCallSamples),
  };
  const pointSelects = await cells('calls pointSelects', o.runs, (t, s) => page.evaluate(([t, s, n]) => window.bench.callsPointSelects(t, s, n), [t, s, o.pointSelects] as const));
  const loopTx = await cells('calls 100k run() in 1 tx', 1, (t, s) => page.evaluate(([t, s, n]) => window.bench.callsInsertLoopTx(t, s, n), [t, s, o.inserts] as const));
  const batch = await cells('calls 100k db.batch()', 1, (t, s) => page.evaluate(([t, s, n]) => window.bench.callsInsertBatch(t, s, n), [t, s, o.inserts] as const));
  const pointSelectSplit = await page.evaluate((n) => window.bench.callsPointSelectBreakdown('opfs', n), o.pointSelects);
  return { pointSelects, loopTx, batch, selectOne, postMessageEcho, sharedEcho, pointSelectSplit };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 || i === widths.length - 1 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const verdict = (ok: boolean) => (ok ? 'pass' : 'MISS');
const us = (v: number) => `${v.toFixed(1)} µs`;

export function formatCalls(r: CallsResults, o: CallsOptions): string {
  const echoTotal = (r.postMessageEcho.meanUs * o.pointSelects) / 1000;
  const n = (k: number) => `${k / 1000}k`;
  const row = (label: string, c: Cell, target: (t: CallTransport) => string) => [
    label,
    formatValue(c.shared.opfs, 'ms'),
    formatValue(c.shared.memory, 'ms'),
    formatValue(c.port.opfs, 'ms'),
    formatValue(c.port.memory, 'ms'),
    `shared: ${target('shared')}; port: ${target('port')}`,
  ];
  const main = table(
    ['calls (OPFS walsync local, durability full)', 'shared OPFS', 'shared :memory:', 'port OPFS', 'port :memory:', 'target (OPFS column)'],
    [
      row(`${n(o.pointSelects)} point selects by PK: get()/row`, r.pointSelects, (t) =>
        t === 'shared'
          ? `≤ 150 ms ${verdict(r.pointSelects.shared.opfs <= 150)}`
          : `≤ 1.2× echo×${n(o.pointSelects)} (${formatValue(echoTotal * 1.2, 'ms')}): ${(r.pointSelects.port.opfs / echoTotal).toFixed(2)}× ${verdict(r.pointSelects.port.opfs <= 1.2 * echoTotal)}`,
      ),
      row(`${n(o.inserts)} inserts, 1 tx: run()/row`, r.loopTx, (t) => (t === 'shared' ? `≤ 1.5 s ${verdict(r.loopTx.shared.opfs <= 1500)}` : '—')),
      row(`${n(o.inserts)} inserts, 1 tx: db.batch()`, r.batch, (t) => `≤ 0.8 s ${verdict(r.batch[t].opfs <= 800)}`),
    ],
  );
  const floor = table(
    ['per-call floor (awaited, each timed alone)', 'median', 'p99', 'mean', 'vs its echo (median)'],
    [
      ['raw postMessage echo round trip', us(r.postMessageEcho.medianUs), us(r.postMessageEcho.p99Us), us(r.postMessageEcho.meanUs), '1.00×'],
      ["walsync SELECT 1 over postMessage (:memory:)", us(r.selectOne.port.medianUs), us(r.selectOne.port.p99Us), us(r.selectOne.port.meanUs), `${(r.selectOne.port.medianUs / r.postMessageEcho.medianUs).toFixed(2)}×`],
      ['shared-memory echo round trip', us(r.sharedEcho.medianUs), us(r.sharedEcho.p99Us), us(r.sharedEcho.meanUs), '1.00×'],
      ['walsync SELECT 1 over shared memory (:memory:)', us(r.selectOne.shared.medianUs), us(r.selectOne.shared.p99Us), us(r.selectOne.shared.meanUs), `${(r.selectOne.shared.medianUs / r.sharedEcho.medianUs).toFixed(2)}×`],
    ],
  );
  const shared = r.selectOne.shared;
  const note =
    shared.parked === undefined
      ? ''
      : `\nSELECT 1 over shared memory: ${(shared.parked * 100).toFixed(1)}% of calls outlasted the page's spin and parked on Atomics.waitAsync; ${((shared.kicked ?? 0) * 100).toFixed(1)}% found the worker back in its event loop and woke it with a message.`;
  const split = r.pointSelectSplit;
  const perCall = (split.ms * 1000) / o.pointSelects;
  const splitNote =
    `\n${n(o.pointSelects)} point selects over shared memory (OPFS), one more run: ${formatValue(split.ms, 'ms')}, ${perCall.toFixed(0)} µs per call, of which the worker served each ` +
    `(SQLite and walsync's work) in ${split.servedUs.toFixed(1)} µs on average; the other ${(perCall - split.servedUs).toFixed(0)} µs are the page's side and the two threads handing the call over ` +
    `(shared-memory echo: ${r.sharedEcho.meanUs.toFixed(0)} µs mean); ${(split.parked * 100).toFixed(1)}% of the calls parked.`;
  return `${main}\n\n${floor}${note}${splitNote}`;
}
