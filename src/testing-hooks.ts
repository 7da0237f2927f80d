/**
 * Test and benchmark hooks, kept out of the package: src/index.ts never exports this module, and
 * nothing reaches them from a Database. The browser test pages and the benchmark import it directly.
 */
import type { OpenResult } from '../contract/worker-api.js';

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

/** Benchmarks only (not exported from the package): the worker to start for the next database opened. */
let workerForNextOpen: ((path: string) => Worker) | null = null;

/**
 * Benchmark hook: the next database this page opens (and leads) runs in the worker `start` returns
 * instead of the library's (the benchmarks' sqlite-wasm comparison worker, built on the same host).
 */
export function startNextWorkerWithForTesting(start: ((path: string) => Worker) | null): void {
  workerForNextOpen = start;
}

/** @internal The worker starter armed for the next open, if any; disarms it (it applies once). */
export function takeWorkerForNextOpen(): ((path: string) => Worker) | null {
  const start = workerForNextOpen;
  workerForNextOpen = null;
  return start;
}

/** The worker's start-up steps of the last database this page opened (see OpenResult.startup). */
let lastOpenStartup: OpenResult['startup'] | null = null;

/** @internal Notes the start-up steps the worker reported as it opened a database. */
export function noteOpenStartup(startup: OpenResult['startup']): void {
  lastOpenStartup = startup;
}

/** Benchmark hook: when the worker of the last database this page opened reached each start-up step (null before any open). */
export function lastOpenStartupForTesting(): OpenResult['startup'] | null {
  return lastOpenStartup;
}
