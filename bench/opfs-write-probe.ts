/**
 * `node --import tsx bench/opfs-write-probe.ts [writes] [rounds]`: not part of the benchmark run; a
 * micro-benchmark of one OPFS sync-access-handle write per commit, to see what a WAL append costs in
 * Chromium: appends that grow the file vs writes inside a preallocated file (sparse, or written with
 * zeros first) vs growth in 1 MB chunks,
 * each with and without a flush per write. Prints µs per write (median, p90, mean) per variant,
 * rounds interleaved, and the load average. FLUSH=no (or yes) runs only the variants without (with) a
 * flush; MODES=append,prealloc picks modes; GAP=sleep:300 (or spin:300) adds untimed work between writes.
 */
import { readFileSync } from 'node:fs';
import { launchBrowser, startDevServer } from '../scripts/browser.js';
import type { ProbeVariant } from './probe/opfs-write-probe-worker.js';

const writes = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 3);
const variants: ProbeVariant[] = [];
const flushModes = (process.env.FLUSH ?? 'no,yes').split(',').map((f) => f === 'yes');
// GAP=sleep:300 or spin:300 puts 300 µs of parking or busy work (untimed) between writes, as between commits.
const [gap, gapUs] = (process.env.GAP ?? '').split(':') as [ProbeVariant['gap'] | '', string | undefined];
const modes = (process.env.MODES ?? 'append,prealloc,overwrite,chunked').split(',') as ProbeVariant['mode'][];
for (const flush of flushModes) {
  for (const mode of modes) {
    variants.push({ mode, writes, flush, ...(mode.startsWith('chunked') ? { chunkBytes: 1 << 20 } : {}), ...(gap ? { gap, gapUs: Number(gapUs) } : {}) });
  }
}
const label = (v: ProbeVariant) =>
  `${v.mode}${v.mode.startsWith('chunked') ? ` ${(v.chunkBytes ?? 0) >> 20} MB` : ''}${v.flush ? ' + flush' : ''}${v.gap ? ` (${v.gap} ${v.gapUs} µs)` : ''}`;

type Result = { medianUs: number; p90Us: number; meanUs: number; totalMs: number; error?: string };
const { server, url } = await startDevServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage(`${url}/bench/probe/opfs-write-probe.html`, 'probeReady');
  const results = new Map<string, Result[]>();
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const res = await page.evaluate((variant) => (window as unknown as { probe(v: unknown): Promise<Result> }).probe(variant), v);
      if (res.error) throw new Error(`${label(v)}: ${res.error}`);
      results.set(label(v), [...(results.get(label(v)) ?? []), res]);
    }
  }
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${writes} sequential writes of 4120 bytes, ${rounds} rounds interleaved; medians over rounds`);
  console.log('variant'.padEnd(36) + 'median µs'.padStart(11) + 'p90 µs'.padStart(9) + 'mean µs'.padStart(9) + 'total ms'.padStart(10));
  for (const [name, rs] of results) {
    console.log(
      name.padEnd(36) +
        med(rs.map((x) => x.medianUs)).toFixed(1).padStart(11) +
        med(rs.map((x) => x.p90Us)).toFixed(1).padStart(9) +
        med(rs.map((x) => x.meanUs)).toFixed(1).padStart(9) +
        med(rs.map((x) => x.totalMs)).toFixed(0).padStart(10),
    );
  }
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
} finally {
  await browser.close();
  await server.close();
}
