/** The two-device page: two app iframes, each its own walsync database, and a reset for both. */
import { registerServiceWorker, serverUrlFrom } from './shared.js';

const DEVICES = ['A', 'B'] as const;
const params = new URLSearchParams(location.search);
const serverUrl = serverUrlFrom(params);

function appUrl(device: string): string {
  const q = new URLSearchParams({ device });
  if (params.get('server')) q.set('server', params.get('server')!);
  return `./app.html?${q}`;
}

function mountFrames(): void {
  for (const device of DEVICES) {
    const frame = document.createElement('iframe');
    frame.title = `Device ${device}`;
    frame.name = `device-${device}`;
    frame.src = appUrl(device);
    document.getElementById(`frame-${device}`)!.replaceChildren(frame);
  }
}

function frames(): HTMLIFrameElement[] {
  return [...document.querySelectorAll<HTMLIFrameElement>('.device-frame iframe')];
}

/** Empties the server's task table with one Hrana pipeline request (no auth header: CORS). */
async function clearServer(): Promise<string> {
  if (!serverUrl) return 'no server';
  const response = await fetch(`${serverUrl}/v2/pipeline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      baton: null,
      // One request and no "close": tursodb's pipeline accepts only "execute" and "batch".
      requests: [{ type: 'execute', stmt: { sql: 'DELETE FROM tasks', args: [], want_rows: false } }],
    }),
  });
  if (!response.ok) throw new Error(`server answered ${response.status}`);
  const body = (await response.json()) as { results?: { type: string; error?: { message?: string } }[] };
  const first = body.results?.[0];
  if (first?.type === 'error' && !/no such table/i.test(first.error?.message ?? '')) {
    throw new Error(first.error?.message ?? 'server error');
  }
  return 'server cleared';
}

function resetDevice(frame: HTMLIFrameElement): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${frame.title} did not answer`)), 10_000);
    const onMessage = (event: MessageEvent) => {
      const data = event.data as { type?: string; error?: string } | null;
      if (event.source !== frame.contentWindow || data?.type !== 'walsync-demo:reset-done') return;
      window.removeEventListener('message', onMessage);
      clearTimeout(timer);
      if (data.error) reject(new Error(data.error));
      else resolve();
    };
    window.addEventListener('message', onMessage);
    frame.contentWindow?.postMessage({ type: 'walsync-demo:reset' }, location.origin);
  });
}

async function reset(): Promise<void> {
  const button = document.getElementById('reset') as HTMLButtonElement;
  const status = document.getElementById('reset-status')!;
  button.disabled = true;
  status.textContent = 'Resetting…';
  try {
    // Devices first: once closed they cannot push anything back after the server is cleared.
    await Promise.all(frames().map(resetDevice));
    let server: string;
    try {
      server = await clearServer();
    } catch (e) {
      server = `server not cleared (${e instanceof Error ? e.message : String(e)})`;
    }
    status.textContent = `Reset: local databases deleted, ${server}.`;
  } catch (e) {
    status.textContent = `Reset failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  mountFrames();
  button.disabled = false;
}

document.getElementById('server-url')!.textContent = serverUrl ?? 'no server (local only)';
document.getElementById('reset')!.addEventListener('click', () => void reset());
// The service worker first, so that the devices' pages, worker and wasm are cached as they load.
await registerServiceWorker();
mountFrames();
