/**
 * `node --import tsx bench/trace-cold-start.ts [local|synced] [rows]`: records a Chromium trace of one
 * repeat-visit cold start (pages/cold-start.html, HTTP cache warm) and prints, in ms since the
 * navigation started, what the page's main thread and the worker's thread did: script compiles and
 * evaluations, wasm compiles, requests (with whether the cache served them), and long tasks. Unlike
 * profile-cold-start.ts it does not pause the worker, so the timeline is the real one.
 */
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import type { ColdStartSplit } from './pages/cold-start.js';

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

const variant = process.argv[2] === 'local' ? 'opfs' : 'opfs-synced';
const rows = Number(process.argv[3] ?? 10_000);
const minDurMs = Number(process.env.MIN_MS ?? 1);

const CATEGORIES = [
  'devtools.timeline', 'v8', 'v8.execute', 'v8.wasm', 'loading', 'blink.user_timing', 'toplevel',
  'disabled-by-default-devtools.timeline', 'disabled-by-default-v8.compile', 'navigation', 'netlog', 'worker',
].join(',');

const pages = await buildAndServePages({ minify: process.env.MINIFY !== '0' });
const browser = await launchBenchBrowser();
try {
  const setup = await browser.openPage(pages.url('bench'));
  const path = await setup.evaluate(([s, n]) => window.bench.prepareColdStart(s, n), [variant, rows] as const);
  const url = `${pages.url('coldStart')}?path=${encodeURIComponent(path)}${variant === 'opfs-synced' ? '&synced=1' : ''}`;
  // Warm the HTTP and code caches; LINGER_MS keeps each warm-up page open that long after its first
  // result (Chromium writes a wasm module's code cache a while after it tiered up).
  const lingerMs = Number(process.env.LINGER_MS ?? 0);
  for (let i = 0; i < 2; i++) {
    const warm = await browser.openPage(url, 'coldStart');
    await warm.waitForTimeout(lingerMs);
    await warm.close();
  }
  const cdp = await browser.context.browser()!.newBrowserCDPSession();
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => void events.push(...(e.value as unknown as TraceEvent[])));
  const done = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: CATEGORIES.split(',') }, transferMode: 'ReportEvents' });
  const tab = await browser.openPage(url, 'coldStart');
  const split = (await tab.evaluate(() => window.coldStart)) as ColdStartSplit;
  await cdp.send('Tracing.end');
  await done;
  await tab.close();
  console.log(`${variant} split (ms since navigation):`, JSON.stringify(split, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v)));

  const threadNames = new Map<string, string>();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, String((e.args as { name: string }).name));
  // Navigation start: the page's navigationStart mark (the newest, the traced load).
  const navStarts = events.filter((e) => e.name === 'navigationStart' && (e.args as { data?: { isLoadingMainFrame?: boolean } })?.data?.isLoadingMainFrame !== false);
  const nav = navStarts.sort((a, b) => b.ts - a.ts)[0];
  if (!nav) throw new Error('no navigationStart in the trace');
  // The page's clock: its moduleReady mark, at split.moduleReady ms since its navigation start.
  const mark = events.find((e) => e.name === 'walsync:moduleReady');
  const t0 = mark ? mark.ts - split.moduleReady * 1000 : nav.ts;
  const pagePid = nav.pid;
  const at = (ts: number) => ((ts - t0) / 1000).toFixed(1).padStart(7);
  const interesting = /^(v8\.compile|v8\.compileModule|v8\.evaluateModule|v8\.produceModuleCache|v8\.produceCache|v8\.run|EvaluateScript|FunctionCall|RunTask|ParseHTML|v8\.wasm\.|wasm\.|V8\.GC|MinorGC|MajorGC|ResourceSendRequest|ResourceReceiveResponse|ResourceFinish|v8\.parseOnBackground|v8\.deserializeOnBackground|v8\.compileCodeCache|v8\.consumeCodeCache|CodeCache|TimerFire|HandlePostMessage|WorkerThread|DedicatedWorker|ScriptStreamer|v8.compileLazy)/;
  const rowsOut: string[] = [];
  for (const e of events) {
    if (e.ts < t0) continue;
    const thread = threadNames.get(`${e.pid}:${e.tid}`) ?? `${e.pid}:${e.tid}`;
    if (e.pid !== pagePid && !/Worker|Network|IO/i.test(thread)) continue;
    const isResource = e.name.startsWith('Resource');
    if (!interesting.test(e.name)) continue;
    const dur = (e.dur ?? 0) / 1000;
    if (!isResource && e.ph === 'X' && dur < minDurMs) continue;
    const data = (e.args?.data ?? e.args ?? {}) as Record<string, unknown>;
    const detail = [data.url, data.fileName, data.mimeType, data.fromCache !== undefined ? `fromCache=${String(data.fromCache)}` : '', data.fromServiceWorker ? 'sw' : '', data.encodedDataLength !== undefined ? `bytes=${String(data.encodedDataLength)}` : '', data.cacheKind, data.cacheRejected ? 'rejected' : '', data.producedCacheSize ? `produced=${String(data.producedCacheSize)}` : '', data.consumedCacheSize ? `consumed=${String(data.consumedCacheSize)}` : '']
      .filter((x) => x !== undefined && x !== '')
      .map((x) => String(x).replace(/^.*\/assets\//, 'assets/').replace(/^http:\/\/localhost:\d+\//, ''))
      .join(' ');
    rowsOut.push(`${at(e.ts)} ${e.ph === 'X' ? (dur.toFixed(1) + ' ms').padStart(9) : '         '}  ${thread.padEnd(18).slice(0, 18)} ${e.name} ${detail}`.trimEnd());
  }
  // Totals by event name per thread (all durations, nested events counted in their own name).
  const totals = new Map<string, { n: number; ms: number }>();
  for (const e of events) {
    if (e.ts < t0 || e.ph !== 'X') continue;
    const thread = threadNames.get(`${e.pid}:${e.tid}`) ?? `${e.pid}:${e.tid}`;
    if (!/^(CrRendererMain|DedicatedWorker)/.test(thread) || (e.pid !== pagePid && thread === 'CrRendererMain')) continue;
    const key = `${thread.slice(0, 15)} ${e.name}`;
    const t = totals.get(key) ?? { n: 0, ms: 0 };
    t.n++;
    t.ms += (e.dur ?? 0) / 1000;
    totals.set(key, t);
  }
  if (process.env.RAW) {
    const rx = new RegExp(process.env.RAW);
    for (const e of events) if (e.ts >= t0 && rx.test(e.name)) console.log('RAW', at(e.ts), threadNames.get(`${e.pid}:${e.tid}`), e.name, ((e.dur ?? 0) / 1000).toFixed(1), JSON.stringify(e.args));
  }
  console.log('totals by thread and event (ms, count):');
  for (const [k, t] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) console.log(`  ${t.ms.toFixed(1).padStart(8)} ${String(t.n).padStart(5)}  ${k}`);
  rowsOut.sort((a, b) => Number(a.slice(0, 7)) - Number(b.slice(0, 7)));
  console.log(rowsOut.join('\n'));
  await setup.evaluate(() => window.bench.removeBenchFiles());
} finally {
  await browser.close();
  await pages.close();
}
