/**
 * The sync engine's trace: one event per engine step (bootstrap, pull download and apply, replay,
 * push chunk, checkpoint, resetSync chunk, recovery on open) with the few numbers a bug report
 * needs. Off by default; `connect({ tracing })` turns it on at a level, and the events reach the
 * app's `logger` (the console by default) on the main thread.
 */

/** The levels `tracing` accepts (the values sync-wasm's `tracing` option takes), least detailed first. */
export const TRACE_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type TraceLevel = (typeof TRACE_LEVELS)[number];

/** One engine step as traced. */
export interface TraceEvent {
  /** How detailed the event is: steps are `info`, per-chunk detail `debug`, an undone pull or refused chunk `warn`. */
  readonly level: TraceLevel;
  /** The step, e.g. `"pull.download"`, `"push.chunk"`, `"checkpoint"`. */
  readonly step: string;
  /** The database path. */
  readonly path: string;
  /** Numbers and names of the step (pages, frames, changes, bytes, ms, revision...). */
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
}

/** Whether an event at `level` is shown when tracing is set to `configured` (null: off). */
export function traced(configured: TraceLevel | null | undefined, level: TraceLevel): boolean {
  return configured !== null && configured !== undefined && TRACE_LEVELS.indexOf(level) <= TRACE_LEVELS.indexOf(configured);
}
