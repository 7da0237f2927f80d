/**
 * The rows of the report with the targets and Turso's published browser-client figures.
 * Targets are goals to print next to the measurement, never a reason to fail.
 */

export type Unit = 'ms' | 'bytes';

export interface RowSpec {
  readonly id: RowId;
  readonly label: string;
  readonly unit: Unit;
  /** The walsync (OPFS) figure should be at most this; null where the issue sets none. */
  readonly target: number | null;
  /** Turso's browser client on the same workload, for scale (as published, not measured here). */
  readonly turso: string;
}

export type RowId = 'batchTx' | 'loopTx' | 'autocommit' | 'pointSelects' | 'coldStart' | 'download' | 'heap';

/** walsync should be no slower (no bigger) than this multiple of opfs-sahpool on every row. */
export const MAX_RATIO_VS_SAHPOOL = 1.2;

export const ROWS: readonly RowSpec[] = [
  { id: 'batchTx', label: '100k inserts, 1 tx: db.batch(…, immediate)', unit: 'ms', target: 1000, turso: '82 s' },
  // 10k rows, not 100k: at one worker round trip per row, 100k rows would take most of the time budget.
  { id: 'loopTx', label: '10k inserts, 1 tx: transaction() + run()/row', unit: 'ms', target: null, turso: '—' },
  { id: 'autocommit', label: '10k autocommit inserts: run()/row', unit: 'ms', target: 1500, turso: '17.9 s' },
  { id: 'pointSelects', label: '10k point selects by PK: get()/row', unit: 'ms', target: 80, turso: '163 ms' },
  { id: 'coldStart', label: 'cold start: connect() → first result', unit: 'ms', target: 120, turso: '296 ms' },
  { id: 'download', label: 'bytes downloaded, cold load + 1 query', unit: 'bytes', target: null, turso: '—' },
  { id: 'heap', label: 'peak JS heap in 100k tx (page+worker)', unit: 'bytes', target: 100e6, turso: '409 MB' },
];
