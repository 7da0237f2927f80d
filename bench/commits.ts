/**
 * The commit table: 10k autocommit inserts on every durability and storage that bounds them, in one
 * interleaved run, so each ratio compares figures taken under the same machine load:
 * - the flush floor: sqlite-wasm's opfs-sahpool in WAL mode, synchronous=FULL (one OPFS flush per
 *   commit and nothing else), and the same with synchronous=NORMAL;
 * - walsync with `durability: 'full'` and `'normal'`, local-only;
 * - walsync synced (change capture on; a `url` function returning null, so no server is needed);
 * - walsync on :memory:, the part of a commit that is neither file I/O nor a flush (the call, SQLite).
 */
import type { Page } from 'playwright-core';
import type { CommitStorage } from './pages/open-database.js';
import { formatValue } from './report.js';
import { median } from './stats.js';

type Variant = 'opfs' | 'memory' | CommitStorage;

const VARIANTS: readonly { id: Variant; label: string }[] = [
  { id: 'opfs-sahpool-wal', label: "flush floor: opfs-sahpool, WAL, synchronous=FULL" },
  { id: 'opfs', label: "walsync, durability 'full' (default)" },
  { id: 'opfs-synced', label: "walsync synced (change capture), 'full'" },
  { id: 'opfs-sahpool-wal-normal', label: 'opfs-sahpool, WAL, synchronous=NORMAL' },
  { id: 'opfs-normal', label: "walsync, durability 'normal'" },
  // What a commit costs with no file at all: the call to the worker and SQLite's own work.
  { id: 'memory', label: 'walsync :memory: (the call + SQLite, no file)' },
];

export interface CommitTableOptions {
  /** The row count reported (each run's time is scaled up to it). */
  readonly rows: number;
  /** Rows per run: many short interleaved runs give a steadier median on a loaded machine than one long one. */
  readonly rowsPerRun: number;
  /** A run stops after this long and is scaled up too. */
  readonly capMs: number;
  readonly runs: number;
}

/** Runs the variants interleaved; returns the medians (ms for `rows` commits) and notes. */
export async function measureCommits(page: Page, options: CommitTableOptions): Promise<{ medians: Record<Variant, number>; notes: string[] }> {
  const times = new Map<Variant, number[]>(VARIANTS.map((v) => [v.id, []]));
  const notes: string[] = [];
  for (let run = 0; run < options.runs; run++) {
    for (const { id } of VARIANTS) {
      const r = await page.evaluate(([s, n, cap]) => window.bench.insertAutocommit(s, n, cap), [id, options.rowsPerRun, options.capMs] as const);
      const ms = (r.ms * options.rows) / r.rows;
      if (r.rows < options.rowsPerRun) notes.push(`${id}: ${r.rows} rows in ${formatValue(r.ms, 'ms')}`);
      times.get(id)!.push(ms);
      process.stdout.write(`  commits [${id}] run ${run + 1}: ${formatValue(ms, 'ms')} (scaled from ${r.rows} rows)\n`);
    }
  }
  const medians = Object.fromEntries(VARIANTS.map((v) => [v.id, median(times.get(v.id)!)])) as Record<Variant, number>;
  return { medians, notes };
}

/** The table, with the three commit targets. */
export function formatCommits(medians: Record<Variant, number>, rows: number): string {
  const floor = medians['opfs-sahpool-wal'];
  const perCommit = (ms: number) => `${((ms / rows) * 1000).toFixed(0)} µs`;
  const verdict = (ok: boolean) => (ok ? 'pass' : 'MISS');
  const targets: Record<Variant, string> = {
    'opfs-sahpool-wal': '—',
    opfs: `≤ 1.2× floor: ${(medians.opfs / floor).toFixed(2)}× ${verdict(medians.opfs <= 1.2 * floor)}`,
    'opfs-synced': `≤ 1.5× local 'full': ${(medians['opfs-synced'] / medians.opfs).toFixed(2)}× ${verdict(medians['opfs-synced'] <= 1.5 * medians.opfs)}`,
    'opfs-sahpool-wal-normal': '—',
    'opfs-normal': `≤ 600 ms: ${verdict(medians['opfs-normal'] <= 600)} (${((medians['opfs-normal'] - medians.memory) / rows * 1000).toFixed(0)} µs/commit beyond :memory:)`,
    memory: '—',
  };
  const table = VARIANTS.map((v) => [v.label, formatValue(medians[v.id], 'ms'), perCommit(medians[v.id]), `${(medians[v.id] / floor).toFixed(2)}×`, targets[v.id]]);
  const header = [`${rows / 1000}k autocommit inserts: run()/row`, 'time', 'per commit', 'vs floor', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 || i === 4 ? ':' : '-') + '-'.repeat(w) + (i === 0 || i === 4 ? '-' : ':')).join('|') + '|';
  return [line(header), rule, ...table.map(line)].join('\n');
}
