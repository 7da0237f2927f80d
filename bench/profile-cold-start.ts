/**
 * `node --import tsx bench/profile-cold-start.ts [local|synced] [rows]`: CPU-profiles the worker of a
 * repeat-visit cold start (pages/cold-start.html, unminified build so names are readable) and prints
 * the split and where the worker's time goes. The profiler slows everything; compare within a run.
 */
import { launchBenchBrowser } from './browser.js';
import { buildAndServePages } from './serve-pages.js';
import { HeapSampler } from './sync/heap-sampler.js';
import { summarizeProfile, type CpuProfile } from './sync/cpu-profile.js';
import type { ColdStartSplit } from './pages/cold-start.js';

const variant = process.argv[2] === 'local' ? 'opfs' : 'opfs-synced';
const rows = Number(process.argv[3] ?? 10_000);

const pages = await buildAndServePages({ minify: false });
const browser = await launchBenchBrowser();
try {
  const setup = await browser.openPage(pages.url('bench'));
  const path = await setup.evaluate(([s, n]) => window.bench.prepareColdStart(s, n), [variant, rows] as const);
  const url = `${pages.url('coldStart')}?path=${encodeURIComponent(path)}${variant === 'opfs-synced' ? '&synced=1' : ''}`;
  await (await browser.openPage(url, 'coldStart')).close(); // warms the HTTP cache
  const tab = await browser.context.newPage();
  const keptOpenUrl = `${url}&keepOpen=1`;
  const profiled: string[] = [];
  const sampler = await HeapSampler.attach(tab, async (sid) => {
    await sampler.sendToWorker(sid, 'Profiler.enable', {}, 5000);
    await sampler.sendToWorker(sid, 'Profiler.setSamplingInterval', { interval: 100 }, 5000);
    await sampler.sendToWorker(sid, 'Profiler.start', {}, 5000);
    profiled.push(sid);
  });
  await tab.goto(keptOpenUrl);
  await tab.waitForFunction(() => window.coldStart !== undefined, undefined, { timeout: 60_000 });
  const split = (await tab.evaluate(() => window.coldStart)) as ColdStartSplit;
  console.log(`${variant} split (ms since navigation, profiled):`, JSON.stringify(split, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v)));
  for (const sid of profiled) {
    const stopped = await sampler.sendToWorker<{ profile: CpuProfile }>(sid, 'Profiler.stop', {}, 30_000);
    if (!stopped) continue;
    const s = summarizeProfile(stopped.profile, 40);
    console.log(`worker: profiled ${s.totalMs.toFixed(0)} ms; by category: ` + s.byCategory.map(([c, ms]) => `${c} ${ms.toFixed(0)} ms`).join(', '));
    console.log('  top self time:');
    for (const [f, ms] of s.top) console.log(`    ${ms.toFixed(1).padStart(8)} ms  ${f}`);
    console.log('  top inclusive time:');
    for (const [f, ms] of s.inclusive) console.log(`    ${ms.toFixed(1).padStart(8)} ms  ${f}`);
  }
  await sampler.detach();
  await tab.close();
  await setup.evaluate(() => window.bench.removeBenchFiles());
} finally {
  await browser.close();
  await pages.close();
}
