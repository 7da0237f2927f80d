/** How a load page tells the runner it got its first query result, and when (ms since navigation start). */
declare global {
  interface Window {
    benchLoaded?: { ok: boolean; moduleReady: number; firstResult: number };
  }
}

/** When the page's module ran (this module is the first the load pages import). */
const moduleReady = performance.now();

export function announceLoaded(ok: boolean): void {
  window.benchLoaded = { ok, moduleReady, firstResult: performance.now() };
}
