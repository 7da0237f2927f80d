/*
 * The demo's service worker: the app opens with no network.
 * - On install it caches PRECACHE (the production build fills it with every built file; in dev it is
 *   empty).
 * - Every same-origin GET goes network first; a good response is stored, and when the network (or
 *   the dev server) is gone the stored copy is served. Navigations fall back to the page without its
 *   query string. Requests to other origins (the sync server) are never touched.
 * - Pages can ask it to store URLs they loaded before it took control ({ type: 'cache-urls' }).
 */
const VERSION = 'dev';
const PRECACHE = [];
const CACHE = `walsync-demo-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('walsync-demo-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function store(request, response) {
  if (!response.ok || response.type !== 'basic' || response.status === 206) return;
  const cache = await caches.open(CACHE);
  await cache.put(request, response);
}

async function networkFirst(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    event.waitUntil(store(request, response.clone()).catch(() => undefined));
    return response;
  } catch (error) {
    const cache = await caches.open(CACHE);
    // ignoreVary: a stored script may say "Vary: Origin" while a module script request carries an Origin.
    const hit =
      (await cache.match(request, { ignoreVary: true })) ??
      (request.mode === 'navigate' ? await cache.match(request, { ignoreSearch: true, ignoreVary: true }) : undefined);
    if (hit) return hit;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Vite's dev-server live-reload channel and pings are not part of the app.
  if (url.pathname.startsWith('/__vite') || request.headers.get('accept') === 'text/x-vite-ping') return;
  event.respondWith(networkFirst(event));
});

self.addEventListener('message', (event) => {
  const data = event.data;
  if (!data || data.type !== 'cache-urls' || !Array.isArray(data.urls)) return;
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      for (const href of data.urls) {
        if (typeof href !== 'string' || new URL(href).origin !== self.location.origin) continue;
        if (await cache.match(href, { ignoreVary: true })) continue;
        try {
          await store(new Request(href), await fetch(href, { cache: 'no-cache' }));
        } catch {
          // offline: nothing to store now
        }
      }
      event.source?.postMessage({ type: 'cache-urls-done' });
    })(),
  );
});
