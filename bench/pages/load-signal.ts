/** How a load page tells the runner it got its first query result. */
declare global {
  interface Window {
    benchLoaded?: { ok: boolean };
  }
}

export function announceLoaded(ok: boolean): void {
  window.benchLoaded = { ok };
}
