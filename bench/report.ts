/** Formats the results as a plain-text table with ratios and target verdicts. */
import { MAX_RATIO_VS_SAHPOOL, ROWS, type RowId, type Unit } from './targets.js';

export const STORAGES = ['opfs', 'opfs-sahpool', 'memory'] as const;
export type Storage = (typeof STORAGES)[number];

/** One row's figures per storage (null: not measured for that storage). */
export type RowFigures = Record<Storage, number | null>;
export type Results = Record<RowId, RowFigures>;

export function formatValue(value: number | null, unit: Unit): string {
  if (value === null) return '—';
  if (unit === 'bytes') return value >= 1e6 ? `${(value / 1e6).toFixed(1)} MB` : `${(value / 1e3).toFixed(1)} kB`;
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value.toFixed(value < 10 ? 2 : 0)} ms`;
}

function verdict(ok: boolean | null): string {
  return ok === null ? '—' : ok ? 'pass' : 'MISS';
}

function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|') + '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function formatReport(results: Results): string {
  const header = ['workload', 'walsync (OPFS)', 'opfs-sahpool', ':memory:', 'walsync/sahpool', 'target', 'vs target', `≤${MAX_RATIO_VS_SAHPOOL}× sahpool`, 'Turso browser'];
  const rows = ROWS.map((spec) => {
    const figures = results[spec.id];
    const ours = figures.opfs;
    const theirs = figures['opfs-sahpool'];
    const ratio = ours !== null && theirs !== null && theirs > 0 ? ours / theirs : null;
    return [
      spec.label,
      formatValue(ours, spec.unit),
      formatValue(theirs, spec.unit),
      formatValue(figures.memory, spec.unit),
      ratio === null ? '—' : `${ratio.toFixed(2)}×`,
      spec.target === null ? '—' : `≤ ${formatValue(spec.target, spec.unit)}`,
      verdict(spec.target === null || ours === null ? null : ours <= spec.target),
      verdict(ratio === null ? null : ratio <= MAX_RATIO_VS_SAHPOOL),
      spec.turso,
    ];
  });
  return renderTable(header, rows);
}
