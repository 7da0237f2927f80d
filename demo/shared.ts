/// <reference types="vite/client" />
/** What both demo pages share: the sync server's address, storage names, the service worker. */

/**
 * The sync server: `?server=` on the page, else the one `npm start` built in (VITE_WALSYNC_SERVER),
 * else none (the app then works local-only).
 */
export function serverUrlFrom(params: URLSearchParams): string | null {
  const fromQuery = params.get('server');
  if (fromQuery) return fromQuery.replace(/\/+$/, '');
  const fromBuild = import.meta.env.VITE_WALSYNC_SERVER as string | undefined;
  return fromBuild ? fromBuild.replace(/\/+$/, '') : null;
}

/**
 * Which server a local database belongs to: its url, plus the start id `npm start` builds in
 * (VITE_WALSYNC_SERVER_ID), which tells a restarted server on the same port from the old one.
 */
export function serverKey(serverUrl: string | null): string {
  if (!serverUrl) return 'local';
  const builtIn = import.meta.env.VITE_WALSYNC_SERVER as string | undefined;
  const id = import.meta.env.VITE_WALSYNC_SERVER_ID as string | undefined;
  return builtIn && id && builtIn.replace(/\/+$/, '') === serverUrl ? `${serverUrl}#${id}` : serverUrl;
}

/** Device names are short tags: "A", "B", "phone"... */
export function deviceFrom(params: URLSearchParams): string {
  const raw = (params.get('device') ?? 'A').replace(/[^\w-]/g, '').slice(0, 16);
  return raw || 'A';
}

export function databasePath(device: string): string {
  return `walsync-demo-${device}.db`;
}

export const storageKeys = (device: string) => ({
  /** The server (serverKey) this device's database synced with. */
  server: `walsync-demo:${device}:server`,
  offline: `walsync-demo:${device}:offline`,
  autoSync: `walsync-demo:${device}:auto-sync`,
  log: `walsync-demo:${device}:log`,
});

/**
 * Registers the service worker (sw.js next to the page) and waits, briefly, until it controls this
 * page, so that what the page loads from now on is cached for offline use. Then asks it to store
 * what the page loaded before it took control.
 */
export async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register(new URL('./sw.js', location.href).href, { scope: './' });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        navigator.serviceWorker.addEventListener('controllerchange', done, { once: true });
        setTimeout(done, 3000);
      });
    }
    const controller = navigator.serviceWorker.controller;
    if (controller) {
      const urls = [location.href, ...performance.getEntriesByType('resource').map((e) => e.name)].filter(
        (u) => new URL(u).origin === location.origin,
      );
      controller.postMessage({ type: 'cache-urls', urls });
    }
  } catch (e) {
    console.warn('walsync demo: no service worker, so no offline start', e);
  }
}

export function formatTime(unixSeconds: number | null): string {
  if (unixSeconds === null) return 'never';
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
