/**
 * Test and benchmark hooks, kept out of the package: src/index.ts never exports this module, and
 * nothing reaches them from a Database. The browser test pages and the benchmark import it directly.
 */

/** Tests and the benchmark only: 'port' keeps statement calls off shared memory even in an isolated page. */
let statementTransport: 'auto' | 'port' = 'auto';

/** Test hook: which transport links made from now on use for statement calls. */
export function setStatementTransportForTesting(mode: 'auto' | 'port'): void {
  statementTransport = mode;
}

/** @internal The transport setStatementTransportForTesting chose ('auto' unless a test said otherwise). */
export function statementTransportForTesting(): 'auto' | 'port' {
  return statementTransport;
}

/** Crash tests only (not exported from the package): a kill point armed in the next worker before it opens. */
let killPointOnNextOpen: string | null = null;

/** Test hook: the next worker started stops dead at `point` while opening (e.g. in its bootstrap). */
export function armKillPointOnNextOpenForTesting(point: string | null): void {
  killPointOnNextOpen = point;
}

/** @internal The kill point armed for the next worker's open, if any; disarms it (it applies once). */
export function takeKillPointOnNextOpen(): string | null {
  const armed = killPointOnNextOpen;
  killPointOnNextOpen = null;
  return armed;
}
